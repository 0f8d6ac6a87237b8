package hook

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// The management-role stack (seed 000) proves itself with the ExternalId the vendor issued for the
// account with its onboarding link: a constant-time match with the registry's, then assuming the
// management role with it (and not without it). Its Updates and Deletes must present it again; a
// deregistration retires it, so a replayed Create can never register the account again.

// putManagement handles a management Create or Update.
func (h *Hook) putManagement(ctx context.Context, c claim) (cfnresource.Result, error) {
	p := c.mgmt
	if want := h.Vendor.ManagementRoleARN(c.target); p.RoleArn != want {
		return cfnresource.Result{}, fmt.Errorf("RoleArn must be %s", want)
	}
	if p.BoundaryArn != "" && p.BoundaryArn != h.Vendor.BoundaryARN(c.target) {
		return cfnresource.Result{}, fmt.Errorf("BoundaryArn must be %s", h.Vendor.BoundaryARN(c.target))
	}
	st, err := h.Registry.Account(ctx, c.account)
	if err != nil {
		return cfnresource.Result{}, fmt.Errorf("the registry could not be read, try again: %w", err)
	}
	m := st.Management
	held := m != nil && m.Status == registry.Registered && m.Owner == c.owner
	if p.ExternalID == "" {
		if c.e.RequestType == cfnresource.Update && !held {
			// A stack made from seed 000's template (RoleArn and AccountId only) asks for nothing, and
			// the registry holds nothing for it: the rollback of a failed upgrade lands here.
			h.log().InfoContext(ctx, "update that asks for nothing: nothing changed", "account", c.account)
			return cfnresource.Result{}, nil
		}
		return cfnresource.Result{}, fmt.Errorf("the stack has no ExternalId: update it with the template and link %s's console gives you", h.Vendor.Name)
	}
	if err := h.checkManagementClaim(ctx, st, c); err != nil {
		if held {
			h.alert(ctx, alertUnprovenUpdate, "an Update of a registered management stack proved nothing: refused", "account", c.account)
		}
		return cfnresource.Result{}, err
	}
	if c.e.RequestType == cfnresource.Update && held && sameManagementRecord(*m, c, h.Vendor.BoundaryARN(c.target)) {
		// What the registry holds for this resource: a rollback, or an Update of something else in
		// the stack. Nothing to do, and nothing (no AWS dependency) that could fail it.
		h.log().InfoContext(ctx, "update to what the registry holds: nothing changed", "account", c.account)
		return cfnresource.Result{PhysicalResourceID: h.physicalID(registry.Management, c.account), Data: outputs(h.Vendor, c.target)}, nil
	}

	acct := ManagedAccount{AccountID: c.account, Partition: c.target.Partition, RoleARN: p.RoleArn,
		ExternalID: p.ExternalID, BoundaryARN: h.Vendor.BoundaryARN(c.target),
		Features: policy.Features{Runbooks: p.Runbooks, Diagnostic: p.DiagnosticTool}, TemplateVersion: p.TemplateVersion,
		Owned: append([]string{}, m.Owned...)}
	// A Create, or an Update of a resource made from seed 000's template (its physical ID is not
	// ours): either makes the registration, and a failure must leave nothing behind, because the
	// rollback has nothing to undo (a failed Create's marker, a seed stack that asks for nothing).
	creates := c.e.RequestType == cfnresource.Create || c.e.PhysicalResourceID != h.physicalID(registry.Management, c.account)
	applyCtx, cancel := ctx, context.CancelFunc(func() {})
	if creates {
		// Keep time to undo a failed Create before the watchdog answers: once the invocation has
		// answered, Lambda may freeze the process, and the rollback's Delete does nothing.
		applyCtx, cancel = withUndoReserve(ctx)
	}
	outputs, created, err := h.Provisioner.Apply(applyCtx, acct, func(ctx context.Context, arns []string) error {
		return h.own(ctx, c, p.ExternalID, arns)
	})
	if err == nil { // a throttled CreateKey waits: within the time that leaves the undo its reserve
		err = h.ensureKey(applyCtx, c.account)
	}
	cancel()
	if err == nil {
		err = h.registerManagement(ctx, c)
	}
	if err != nil {
		if creates && len(created) > 0 {
			acct.Owned = created // only what this request made: an unregistered leftover would be orphaned
			h.undo(ctx, acct)
		}
		var notOwned *gateway.NotOwnedError
		if errors.As(err, &notOwned) {
			return cfnresource.Result{}, h.notOwnedError(m.Leftovers, notOwned.ARNs)
		}
		return cfnresource.Result{}, err
	}
	h.log().InfoContext(ctx, "registered", "account", c.account, "kind", registry.Management, "template_version", p.TemplateVersion)
	return cfnresource.Result{PhysicalResourceID: h.physicalID(registry.Management, c.account), Data: outputs}, nil
}

// checkManagementClaim refuses a management claim the registry cannot match: no onboarding (or one
// that ended, which retired its ExternalId), another ExternalId, the other template registered, or
// an account bound to another tenant.
func (h *Hook) checkManagementClaim(ctx context.Context, st registry.AccountState, c claim) error {
	m := st.Management
	switch {
	case m == nil || !(m.Status == registry.Pending || m.Status == registry.Registered):
		return fmt.Errorf("%w %s: start from the link in %s's console, which creates it", registry.ErrNoPendingOnboarding, c.account, h.Vendor.Name)
	case subtle.ConstantTimeCompare([]byte(m.ExternalID), []byte(c.mgmt.ExternalID)) != 1:
		return fmt.Errorf("%w: use the link from %s's console without changing its ExternalId", registry.ErrExternalIDMismatch, h.Vendor.Name)
	}
	if bound, agree := st.BoundTenant(); !agree || (bound != "" && bound != m.Tenant) {
		h.alert(ctx, alertTenantConflict, "a management claim for an account whose ownership is disputed: refused", "account", c.account)
		return h.conflictError()
	}
	if g := st.Gateway; g != nil && (g.Status == registry.Registered || g.Status == registry.Unclaimed) {
		return h.otherTemplateError(registry.Gateway)
	}
	return nil
}

// own records arns as the vendor's on the account's management record before they are created,
// while the record still holds this claim's ExternalId (and, for a Create, while CloudFormation has
// not rolled it back).
func (h *Hook) own(ctx context.Context, c claim, externalID string, arns []string) error {
	_, err := h.Registry.Update(ctx, c.account, func(st registry.AccountState) (registry.Writes, error) {
		m := st.Management
		if m == nil || subtle.ConstantTimeCompare([]byte(m.ExternalID), []byte(externalID)) != 1 ||
			!(m.Status == registry.Pending || m.Status == registry.Registered) {
			return registry.Writes{}, errors.New("the account's onboarding changed meanwhile: try again")
		}
		upd := *m
		upd.Owned = mergeARNs(m.Owned, arns)
		return registry.Writes{Management: &upd, NotRolledBack: c.createMarker()}, nil
	})
	if err != nil {
		return rolledBackOr(err, "the registry could not be updated, try again")
	}
	return nil
}

// createMarker is the FailedCreateID of a Create claim ("" for others): writes for it require that
// CloudFormation has not rolled it back.
func (c claim) createMarker() string {
	if c.e.RequestType != cfnresource.Create {
		return ""
	}
	return cfnresource.FailedCreateID(c.e)
}

// registerManagement records the proven registration, owned by this resource of this stack.
func (h *Hook) registerManagement(ctx context.Context, c claim) error {
	p := c.mgmt
	_, err := h.Registry.Update(ctx, c.account, func(st registry.AccountState) (registry.Writes, error) {
		if err := h.checkManagementClaim(ctx, st, c); err != nil {
			return registry.Writes{}, err
		}
		upd := *st.Management
		if upd.Owner != c.owner || upd.Status != registry.Registered {
			upd.ClaimMarker = ""
			if c.e.RequestType == cfnresource.Create {
				upd.ClaimMarker = cfnresource.FailedCreateID(c.e)
			}
		}
		upd.Status, upd.Owner, upd.RoleARN = registry.Registered, c.owner, p.RoleArn
		upd.BoundaryARN = h.Vendor.BoundaryARN(c.target)
		upd.Runbooks, upd.DiagnosticTool, upd.TemplateVersion = p.Runbooks, p.DiagnosticTool, p.TemplateVersion
		upd.LastRequestID, upd.Leftovers = c.e.RequestID, nil
		return registry.Writes{Management: &upd, NotRolledBack: c.createMarker()}, nil
	})
	if err != nil && !errors.Is(err, registry.ErrNoPendingOnboarding) && !errors.Is(err, registry.ErrExternalIDMismatch) && !isCustomerReason(err) {
		return rolledBackOr(err, "the registration could not be recorded, try again")
	}
	return err
}

// deleteManagement ends the registration if the Delete comes from the resource that owns it and
// presents its ExternalId: it deregisters first (no access from then on), then retires the
// account's keys, then removes what the vendor created, recording what it could not.
func (h *Hook) deleteManagement(ctx context.Context, account string, owner registry.Owner, e cfnresource.Event) error {
	rctx, cancel := bounded(ctx)
	st, err := h.Registry.Account(rctx, account)
	cancel()
	if err != nil {
		h.alert(ctx, alertDeleteFailed, "delete: the registry could not be read; nothing removed (repair finds it later)", "account", account, "error", err)
		return nil
	}
	m := st.Management
	if m == nil || m.Status != registry.Registered {
		h.log().InfoContext(ctx, "delete: no registration to end", "account", account)
		return nil
	}
	externalID, _ := e.ResourceProperties["ExternalId"].(string)
	if m.Owner != owner || subtle.ConstantTimeCompare([]byte(m.ExternalID), []byte(externalID)) != 1 {
		h.alert(ctx, alertUnprovenDelete, "a Delete proved nothing (not the owning resource, or not its ExternalId): nothing changed",
			"account", account, "kind", registry.Management)
		return nil
	}
	acct, err := managedAccount(*m)
	if err != nil {
		h.alert(ctx, alertDeleteFailed, "delete: the registration is unreadable; nothing removed", "account", account, "error", err)
		return nil
	}
	h.endManagement(ctx, st, acct, e.RequestID)
	return nil
}

// endManagement deregisters the management registration of st (retiring its ExternalId), retires
// the account's keys, then removes what the vendor created there and records what stayed.
func (h *Hook) endManagement(ctx context.Context, st registry.AccountState, acct ManagedAccount, requestID string) {
	rctx, cancel := bounded(ctx)
	st, err := h.Registry.Save(rctx, st, registry.Writes{Management: deregistered(*st.Management, requestID)})
	cancel()
	if err != nil {
		h.alert(ctx, alertDeleteFailed, "delete: the deregistration was not recorded; nothing removed (repair finds it later)",
			"account", acct.AccountID, "error", err)
		return
	}
	kctx, cancel := bounded(ctx)
	h.retireKeysIfLast(kctx, st)
	cancel()
	var leftovers []string
	if err := h.Provisioner.Remove(ctx, acct); err != nil {
		var left *LeftoversError
		if errors.As(err, &left) {
			leftovers = left.Leftovers
		}
		h.alert(ctx, alertDeleteFailed, "delete: removing the vendor's resources failed; the stack is deleted anyway",
			"account", acct.AccountID, "role_gone", errors.Is(err, ErrRoleGone), "leftovers", leftovers, "error", err)
		if leftovers == nil {
			leftovers = acct.Owned
		}
	}
	rctx, cancel = bounded(ctx)
	defer cancel()
	_, err = h.Registry.Update(rctx, acct.AccountID, func(st registry.AccountState) (registry.Writes, error) {
		m := st.Management
		if m == nil || m.Status != registry.Deregistered {
			return registry.Writes{}, nil // onboarded again meanwhile: its own record says what it owns
		}
		upd := *m
		upd.Leftovers, upd.Owned = leftovers, leftovers
		return registry.Writes{Management: &upd}, nil
	})
	if err != nil {
		h.log().ErrorContext(ctx, "delete: what was left behind was not recorded", "account", acct.AccountID, "leftovers", leftovers, "error", err)
	}
}

// sameManagementRecord reports whether the claim asks for what the registration m holds.
func sameManagementRecord(m registry.Onboarding, c claim, boundary string) bool {
	p := c.mgmt
	return m.RoleARN == p.RoleArn && m.BoundaryARN == boundary && m.Runbooks == p.Runbooks &&
		m.DiagnosticTool == p.DiagnosticTool && m.TemplateVersion == p.TemplateVersion
}

// deregistered is o ended: no ExternalId or token hash any more, so nothing replayed can bring it
// back; a new registration needs a new onboarding (or a new claim).
func deregistered(o registry.Onboarding, requestID string) *registry.Onboarding {
	o.Status, o.ExternalID, o.TokenHash, o.LastRequestID = registry.Deregistered, "", "", requestID
	o.RecheckAfter, o.ClaimMarker, o.ProofDue = time.Time{}, "", false
	return &o
}

// undoBudget bounds the clean-up after a failed Create; the Lambda's own deadline bounds it too.
const undoBudget = 2 * time.Minute

// undoReserve is the share of the time left that a Create keeps for undoing itself, at most undoBudget.
const undoReserve = 3 // a third

// withUndoReserve ends the context a third of the time left (at most undoBudget) before ctx ends.
func withUndoReserve(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	reserve := min(time.Until(deadline)/undoReserve, undoBudget)
	return context.WithDeadline(ctx, deadline.Add(-reserve))
}

// undo removes what a failed Create made (acct.Owned), so the rollback that follows (whose Delete
// of the failed-Create marker does nothing) leaves nothing of the vendor's behind. It takes the time
// left before the watchdog; what it cannot remove is logged for operators.
func (h *Hook) undo(ctx context.Context, acct ManagedAccount) {
	if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) <= 0 {
		// No time left before the watchdog: try anyway, bounded, rather than orphan.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), undoBudget)
		defer cancel()
	}
	if err := h.Provisioner.Remove(ctx, acct); err != nil {
		h.log().ErrorContext(ctx, "a failed Create could not remove what it made", "account", acct.AccountID, "error", err)
	}
}

// notOwnedError is the reason a management stack gets when resources it would manage exist without
// the vendor having created them: left behind by an earlier registration (the registry says so), or
// made by the support-gateway stack.
func (h *Hook) notOwnedError(leftovers, unowned []string) error {
	for _, arn := range unowned {
		if slices.Contains(leftovers, arn) {
			return customerReason(fmt.Sprintf("%s's support role, policy or identity providers from an earlier registration are still in "+
				"this account (%s could not remove them when that stack was deleted): delete them, or ask %s support to, then retry",
				h.Vendor.Name, h.Vendor.Name, h.Vendor.Name))
		}
	}
	return h.otherTemplateError(registry.Gateway)
}

// otherTemplateError refuses a stack of one template in an account the other template's stack is
// registered in: both create the same identity providers, so only one can serve an account.
func (h *Hook) otherTemplateError(other registry.Kind) error {
	name := "management-role"
	if other == registry.Gateway {
		name = "support-gateway"
	}
	return customerReason(fmt.Sprintf("this account already has %s's %s stack, which sets up the same identity providers: "+
		"an account can have only one of the two. Keep one: delete the %s stack first, or delete this one", h.Vendor.Name, name, name))
}

// conflictError is the reason a claim that would move an account to another tenant gets. It names
// neither the other stack nor the other tenant.
func (h *Hook) conflictError() error {
	return customerReason(fmt.Sprintf("this account is already linked to another %s organization, so it cannot be linked to yours: "+
		"%s support can move it (the refused request is on record for them)", h.Vendor.Name, h.Vendor.Name))
}

// customerReason is a refusal meant for the customer, as it is.
type customerReason string

func (r customerReason) Error() string { return string(r) }

func isCustomerReason(err error) bool {
	var r customerReason
	return errors.As(err, &r)
}

func mergeARNs(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}
