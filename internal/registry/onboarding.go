package registry

import (
	"context"
	"fmt"
)

// OwnedError says a stack owns the account's registration (operators' messages only: reasons a
// customer sees never name another stack).
type OwnedError struct {
	Kind    Kind
	StackID string
}

func (e *OwnedError) Error() string {
	return fmt.Sprintf("the account's %s registration belongs to stack %s", e.Kind, e.StackID)
}

// Is lets errors.Is(err, ErrAlreadyRegistered) match an OwnedError.
func (e *OwnedError) Is(target error) bool { return target == ErrAlreadyRegistered }

// StartOnboarding records a pending management onboarding for tenant and account with externalID.
// It replaces a pending or ended one (the older link stops working). It refuses an account a stack
// has registered (until that stack is deleted), one a support-gateway stack has registered (the two
// templates cannot share an account), and one bound to another tenant or in conflict
// (ErrOtherTenant): a link never moves an account between tenants.
func (r *Registry) StartOnboarding(ctx context.Context, tenant, account, externalID string) (Onboarding, error) {
	if tenant == "" || externalID == "" {
		return Onboarding{}, fmt.Errorf("onboarding %s: the tenant and the ExternalId must be set", account)
	}
	st, err := r.Update(ctx, account, func(st AccountState) (Writes, error) {
		if st.Conflict != nil && st.Conflict.Proven { // a claimed (unproven) conflict blocks nothing
			return Writes{}, fmt.Errorf("%w: two organizations claimed account %s; resolve it first (supportctl conflicts)", ErrOtherTenant, account)
		}
		if bound, _ := st.BoundTenant(); bound != "" && bound != tenant {
			return Writes{}, fmt.Errorf("%w: account %s is bound to another tenant", ErrOtherTenant, account)
		}
		if g := st.Gateway; g != nil && (g.Status == Registered || g.Status == Unclaimed) {
			return Writes{}, &OwnedError{Kind: Gateway, StackID: g.StackID}
		}
		if m := st.Management; m != nil && m.Status == Registered {
			return Writes{}, &OwnedError{Kind: Management, StackID: m.StackID}
		}
		o := Onboarding{Tenant: tenant, ExternalID: externalID, Status: Pending}
		if m := st.Management; m != nil {
			// What an earlier registration could not remove is listed for operators, but no longer
			// counts as the vendor's: the customer may have deleted it and something else may stand at
			// the same ARN now (the support-gateway stack's providers).
			o.Leftovers = m.Leftovers
		}
		return Writes{Management: &o}, nil
	})
	if err != nil {
		return Onboarding{}, fmt.Errorf("onboarding %s: %w", account, err)
	}
	return *st.Management, nil
}
