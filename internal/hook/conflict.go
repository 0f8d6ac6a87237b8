package hook

import (
	"context"
	"fmt"
	"time"

	"github.com/supportaccess/gateway/internal/registry"
)

// Updater is the part of the registry an operator's decision writes through.
type Updater interface {
	Update(ctx context.Context, account string, decide func(registry.AccountState) (registry.Writes, error)) (registry.AccountState, error)
}

// ResolveConflict records an operator's decision on an account two tenants claimed: tenant owns the
// account.
//
// A proven conflict (the account's own role named another tenant than the one it was bound to):
// tenant is one of the two. Every live registration of the account is bound to it (a gateway record
// forgets its token hash and is asked to be proven again: if its role still names the other
// tenant, that is a conflict again, since the decision binds and the role's word is still checked);
// a pending onboarding link of the other tenant is withdrawn; the conflict is cleared, which makes
// the account usable again.
//
// A claimed conflict (a refused claim named another tenant; it proves nothing and suspends
// nothing): only the tenant the account is bound to may be chosen, which dismisses the record. To
// move an account, offboard it and onboard it again.
//
// Tell the other tenant yourself: no reason a stack gets ever names the other one.
func ResolveConflict(ctx context.Context, reg Updater, account, tenant string) error {
	_, err := reg.Update(ctx, account, func(st registry.AccountState) (registry.Writes, error) {
		c := st.Conflict
		if c == nil {
			return registry.Writes{}, fmt.Errorf("account %s has no conflict to resolve", account)
		}
		if !c.Proven {
			if tenant != c.Tenant {
				return registry.Writes{}, fmt.Errorf("account %s: the conflict was only claimed (a refused request proves nothing): "+
					"choose %q to dismiss it; to move the account, offboard it and onboard it again", account, c.Tenant)
			}
			return registry.Writes{ClearConflict: true}, nil
		}
		if tenant == "" || (tenant != c.Tenant && tenant != c.Claimant) {
			return registry.Writes{}, fmt.Errorf("account %s: choose %q or %q", account, c.Tenant, c.Claimant)
		}
		w := registry.Writes{ClearConflict: true}
		for _, o := range []*registry.Onboarding{st.Management, st.Gateway} {
			if !o.Provable(time.Now()) || (o.Tenant == tenant && o.Kind == registry.Management) {
				continue
			}
			upd := *o
			switch {
			case upd.Kind == registry.Management && upd.Status == registry.Pending: // the other tenant's link: withdrawn
				upd.Status, upd.ExternalID = registry.Deregistered, ""
			case upd.Kind == registry.Management:
				upd.Tenant = tenant
			default: // bound to tenant, and its role read again at once, whatever tenant it was bound to
				if upd.Tenant != tenant {
					upd.Tenant, upd.TokenHash = tenant, ""
				}
				upd.ProofDue, upd.ProofAsked, upd.ProofPeriodic, upd.TenantAsked = true, time.Now().UTC(), false, false
				if upd.Status == registry.Unclaimed {
					upd.Status = registry.Registered
				}
				if upd.Proof != nil {
					p := *upd.Proof
					p.ConflictSeenAt, p.NextAt = time.Time{}, time.Time{}
					upd.Proof = &p
				}
			}
			if upd.Kind == registry.Management {
				w.Management = &upd
			} else {
				w.Gateway = &upd
			}
		}
		return w, nil
	})
	if err != nil {
		return fmt.Errorf("resolving the conflict on %s: %w", account, err)
	}
	return nil
}
