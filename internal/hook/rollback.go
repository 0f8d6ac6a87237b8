package hook

import (
	"context"
	"crypto/subtle"

	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/registry"
)

// DeleteFailedCreate hears that CloudFormation deleted the marker of a Create that failed: it gave
// that Create up for good. It records the rollback, so a late or repeated delivery of the Create does
// nothing (Create checks), and undoes what such a delivery may already have done: a registration
// made by that very request (its ClaimMarker), owned by this resource, whose secret the rollback's
// properties (the Create's) present.
func (h *Hook) DeleteFailedCreate(ctx context.Context, e cfnresource.Event) {
	marker := e.PhysicalResourceID
	if err := h.Registry.MarkRolledBack(ctx, marker); err != nil {
		h.log().ErrorContext(ctx, "rollback: not recorded; a late copy of the Create could still register", "error", err)
	}
	stack, err := h.stack(e.StackID)
	if err != nil {
		return
	}
	st, err := h.Registry.Account(ctx, stack.Account)
	if err != nil {
		h.log().ErrorContext(ctx, "rollback: the registry could not be read", "account", stack.Account, "error", err)
		return
	}
	owner := registry.Owner{StackID: e.StackID, LogicalID: e.LogicalResourceID}
	made := func(o *registry.Onboarding) bool {
		return o != nil && o.Status.Live() && o.Status != registry.Pending && o.ClaimMarker == marker && o.Owner == owner
	}
	if m := st.Management; made(m) {
		ext, _ := e.ResourceProperties["ExternalId"].(string)
		if subtle.ConstantTimeCompare([]byte(m.ExternalID), []byte(ext)) != 1 {
			h.alert(ctx, alertUnprovenDelete, "rollback of a Create that registered: not its ExternalId, nothing changed", "account", stack.Account)
			return
		}
		if acct, err := managedAccount(*m); err == nil {
			h.log().WarnContext(ctx, "rollback: a late copy of the rolled-back Create had registered the account; undoing it", "account", stack.Account)
			h.endManagement(ctx, st, acct, e.RequestID)
		}
		return
	}
	if g := st.Gateway; made(g) {
		// The marker names a CloudFormation RequestId nobody else sees: matching it (and the resource)
		// is the proof here; a token would prove nothing, it is on the role's tag.
		h.log().WarnContext(ctx, "rollback: a late copy of the rolled-back Create had claimed the account; undoing it", "account", stack.Account)
		st, err := h.Registry.Update(ctx, stack.Account, func(st registry.AccountState) (registry.Writes, error) {
			if !made(st.Gateway) {
				return registry.Writes{}, nil
			}
			return registry.Writes{Gateway: deregistered(*st.Gateway, e.RequestID)}, nil
		})
		if err != nil {
			h.log().ErrorContext(ctx, "rollback: the claim was not undone", "account", stack.Account, "error", err)
			return
		}
		h.retireKeysIfLast(ctx, st)
	}
}
