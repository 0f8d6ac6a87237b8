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

// ResolveConflict records an operator's decision on an account two tenants claimed (a refused claim
// naming another tenant than the one the account was bound to, or, proven, the account's own role
// naming another): tenant, one of the two, owns the account.
// Every live record of the account is bound to it (a gateway record that changes hands forgets its
// token hash, so its stack must present a token of the tenant from now on) and the conflict is
// cleared, which makes the account usable again. A gateway record is proven again at once: if its role
// still names the other tenant, that is a conflict again (the decision binds, the role's word is
// still checked). Tell the other tenant yourself: no reason a stack gets ever names the other one.
func ResolveConflict(ctx context.Context, reg Updater, account, tenant string) error {
	_, err := reg.Update(ctx, account, func(st registry.AccountState) (registry.Writes, error) {
		c := st.Conflict
		if c == nil {
			return registry.Writes{}, fmt.Errorf("account %s has no conflict to resolve", account)
		}
		if tenant == "" || (tenant != c.Tenant && tenant != c.Claimant) {
			return registry.Writes{}, fmt.Errorf("account %s: choose %q or %q", account, c.Tenant, c.Claimant)
		}
		w := registry.Writes{ClearConflict: true}
		for _, o := range []*registry.Onboarding{st.Management, st.Gateway} {
			if o == nil || !o.Status.Live() || o.Tenant == tenant {
				continue
			}
			upd := *o
			upd.Tenant = tenant
			if upd.Kind == registry.Gateway {
				upd.TokenHash, upd.ProofDue, upd.ProofAsked = "", true, time.Now().UTC()
				if upd.Status == registry.Unclaimed {
					upd.Status = registry.Registered
				}
				if upd.Proof != nil {
					p := *upd.Proof
					p.ConflictSeenAt = time.Time{}
					upd.Proof = &p
				}
				w.Gateway = &upd
			} else {
				w.Management = &upd
			}
		}
		return w, nil
	})
	if err != nil {
		return fmt.Errorf("resolving the conflict on %s: %w", account, err)
	}
	return nil
}
