package hook

// The Delete re-check's short budget is the Delete's own proof's only: a proof a new stack's Create
// asks for while the re-check is open gets the propagation budget, since that role was made
// seconds ago (found in review: the short budget ended such a registration).

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/registry"
)

// propagatingProver refuses a role made again until a proof retries for at least propagation (IAM
// has not propagated the new role yet, as STS's refusal right after a stack creates it).
type propagatingProver struct {
	*fakeProver
	propagating bool
	propagation time.Duration
}

func (p *propagatingProver) ProveRole(ctx context.Context, account, role string, budget time.Duration) (RoleEvidence, error) {
	if p.propagating && budget < p.propagation {
		p.mu.Lock()
		p.budgets = append(p.budgets, budget)
		p.mu.Unlock()
		return RoleEvidence{}, fmt.Errorf("%w: AccessDenied (the new role has not propagated in %s)", ErrRoleRefused, budget)
	}
	return p.fakeProver.ProveRole(ctx, account, role, budget)
}

func TestARecreatedStacksProofGetsThePropagationBudget(t *testing.T) {
	f := newFixture(t)
	f.hook.ProofBudget = 90 * time.Second
	pp := &propagatingProver{fakeProver: f.prover, propagation: 30 * time.Second}
	f.hook.Prover = pp
	require.Equal(t, registry.Registered, f.genuineClaim(t, acct, "acme").Status)
	tok := f.token(t, "acme")

	// the customer deletes the stack: the Delete's re-check finds the role gone
	f.prover.setRefuse(acct, true)
	res, err := f.hook.Delete(t.Context(), gwEvent(cfnresource.Delete, nil))
	require.NoError(t, err)
	res.Then(t.Context())
	require.Equal(t, registry.Registered, f.gateway(t, acct).Status)

	// six minutes later they deploy the stack again, with the runbooks option this time: a new role
	// at the same ARN, which IAM is still propagating
	f.hook.Clock = func() time.Time { return time.Now().Add(6 * time.Minute) }
	f.prover.remake(acct, tok)
	f.prover.setOptions(acct, true, true)
	pp.propagating = true
	_, err = f.put(t, gwEvent(cfnresource.Create, map[string]any{"TenantToken": tok, "Runbooks": "true"}))
	require.NoError(t, err)

	t.Logf("proof budgets: %v", f.prover.budgets)
	assert.Equal(t, 90*time.Second, f.prover.budgets[len(f.prover.budgets)-1], "a role made seconds ago gets the propagation budget")
	o := f.gateway(t, acct)
	assert.Equal(t, registry.Registered, o.Status, "the new stack's registration must not end because its role is still propagating (reason %q)", o.Proof.Reason)
}
