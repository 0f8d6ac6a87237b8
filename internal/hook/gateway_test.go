package hook

import (
	"fmt"
	"io"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/internal/registry/registrytest"
)

const (
	gwStack = "arn:aws:cloudformation:us-east-1:111122223333:stack/doit-support-gateway/cccc"
	gwID    = "doit-support-gateway:gateway:111122223333"
)

// gwEventFor is a gateway stack's event for account, as CloudFormation sends it (every scalar a
// string).
func gwEventFor(rt cfnresource.RequestType, account, stack string, props map[string]any) cfnresource.Event {
	e := mgmtEvent(rt, stack, nil)
	e.ResourceProperties = map[string]any{"ServiceToken": topic, "ServiceTimeout": "300",
		"RoleArn": "arn:aws:iam::" + account + ":role/DoiT-Support-Gateway", "AccountId": account,
		"TenantToken": "", "Runbooks": "false", "DiagnosticTool": "true", "TemplateVersion": policy.TemplateVersion,
		"ProviderArns": []any{
			"arn:aws:iam::" + account + ":oidc-provider/oidc.aws-ops.doit-intl.com/accounts/" + account,
			"arn:aws:iam::" + account + ":oidc-provider/oidc-standby.aws-ops.doit-intl.com/accounts/" + account,
		}}
	maps.Copy(e.ResourceProperties, props)
	if rt != cfnresource.Create {
		e.PhysicalResourceID = "doit-support-gateway:gateway:" + account
	}
	return e
}

func gwEvent(rt cfnresource.RequestType, props map[string]any) cfnresource.Event {
	return gwEventFor(rt, acct, gwStack, props)
}

// put runs a gateway Create or Update and, when it answers with follow-up work, runs it as the
// Runner would after the answer.
func (f *fixture) put(t *testing.T, e cfnresource.Event) (cfnresource.Result, error) {
	t.Helper()
	var res cfnresource.Result
	var err error
	if e.RequestType == cfnresource.Create {
		res, err = f.hook.Create(t.Context(), e)
	} else {
		res, err = f.hook.Update(t.Context(), e)
	}
	if err == nil && res.Then != nil {
		res.Then(t.Context())
	}
	return res, err
}

func (f *fixture) gateway(t *testing.T, account string) registry.Onboarding {
	t.Helper()
	o, found, err := f.reg.Get(t.Context(), account, registry.Gateway)
	require.NoError(t, err)
	require.True(t, found, "account %s has a gateway record", account)
	return o
}

// sweepAt runs the sweep at now+d (the hook's clock stays there).
func (f *fixture) sweepAt(t *testing.T, d time.Duration) string {
	t.Helper()
	at := time.Now().Add(d)
	f.hook.Clock = func() time.Time { return at }
	var out strings.Builder
	require.NoError(t, f.hook.Sweep(t.Context(), &out))
	return out.String()
}

// endedForGood checks that the registration its role's refusals ended keeps the account's keys for
// registry.RestoreWindow, and that the sweep after that window retires them.
func (f *fixture) endedForGood(t *testing.T, account string) {
	t.Helper()
	assert.Equal(t, registry.Deregistered, f.gateway(t, account).Status)
	assert.NotContains(t, f.keys.retired, account, "kept while the registration can be restored")
	f.prover.setRefuse(account, true)
	f.sweepAt(t, time.Until(f.gateway(t, account).Proof.EndedAt)+registry.RestoreWindow+time.Hour)
	o := f.gateway(t, account)
	assert.Equal(t, registry.Deregistered, o.Status)
	assert.Empty(t, o.TokenHash)
	assert.Empty(t, o.Tenant)
	assert.Contains(t, f.keys.retired, account, "retired once the registration can no longer be restored")
}

func (f *fixture) token(t *testing.T, tenant string) string {
	t.Helper()
	tok, err := f.reg.IssueTenantToken(t.Context(), tenant)
	require.NoError(t, err)
	return tok
}

// TestDecideGateway is the gateway claim's rule, case by case, without AWS. A claim never binds a
// tenant or sets an option by itself: the proof does, from the role.
func TestDecideGateway(t *testing.T) {
	h := &Hook{Vendor: policy.DefaultVendor()}
	owner := registry.Owner{StackID: gwStack, LogicalID: "Hook"}
	other := registry.Owner{StackID: "arn:aws:cloudformation:us-east-1:111122223333:stack/forged/x", LogicalID: "Hook"}
	role := "arn:aws:iam::111122223333:role/DoiT-Support-Gateway"
	hashes := map[string]string{"": "", "acme": "h-acme", "globex": "h-globex"}
	rec := func(s registry.Status, tenant string, o registry.Owner) *registry.Onboarding {
		return &registry.Onboarding{Status: s, Tenant: tenant, Owner: o, RoleARN: role, TokenHash: hashes[tenant]}
	}
	create := func(o registry.Owner, tenant string) gatewayClaim {
		return gatewayClaim{Owner: o, Tenant: tenant, TokenHash: hashes[tenant], RoleARN: role, Create: true}
	}
	update := func(o registry.Owner, tenant string) gatewayClaim {
		c := create(o, tenant)
		c.Create = false
		return c
	}
	type want struct {
		status    registry.Status // of the written gateway record; "" for no write
		owner     registry.Owner
		tenant    string // the binding written (never the claim's)
		claimed   string // the tenant the claim named
		refusal   string
		prove     bool
		conflict  bool // an unproven conflict on record, for operators
		alert     string
		unchanged bool
	}
	tests := map[string]struct {
		st    registry.AccountState
		claim gatewayClaim
		want  want
	}{
		"a new claim with a token binds nothing yet": {registry.AccountState{}, create(owner, "acme"),
			want{status: registry.PendingProof, owner: owner, claimed: "acme", prove: true}},
		"a new claim without a token": {registry.AccountState{}, create(owner, ""),
			want{status: registry.PendingProof, owner: owner, prove: true}},
		"a pending claim never blocks another stack": {registry.AccountState{Gateway: rec(registry.PendingProof, "", other)}, create(owner, ""),
			want{status: registry.PendingProof, owner: owner, prove: true}},
		"a pending claim naming another tenant binds nothing": {registry.AccountState{Gateway: &registry.Onboarding{Status: registry.PendingProof,
			ClaimTenant: "globex", Owner: other, RoleARN: role}}, create(owner, "acme"),
			want{status: registry.PendingProof, owner: owner, claimed: "acme", prove: true}},
		"a tenant's claim on an unclaimed account asks for a proof, moves no owner": {registry.AccountState{Gateway: rec(registry.Unclaimed, "", other)},
			create(owner, "acme"), want{status: registry.Unclaimed, owner: other, claimed: "acme", prove: true}},
		"the owner adding a token asks for a proof": {registry.AccountState{Gateway: rec(registry.Unclaimed, "", owner)},
			update(owner, "acme"), want{status: registry.Unclaimed, owner: owner, claimed: "acme", prove: true}},
		"the same token again changes nothing": {registry.AccountState{Gateway: rec(registry.Registered, "acme", other)},
			create(owner, "acme"), want{unchanged: true}},
		"other options ask for the role to be read again, change nothing yet": {registry.AccountState{Gateway: rec(registry.Registered, "acme", owner)},
			func() gatewayClaim { c := update(other, "acme"); c.Runbooks = true; return c }(),
			want{status: registry.Registered, owner: owner, tenant: "acme", claimed: "acme", prove: true}},
		"another tenant: refused, on record, suspends nothing": {registry.AccountState{Gateway: rec(registry.Registered, "acme", other)},
			create(owner, "globex"), want{refusal: "already linked to another DoiT organization", conflict: true, alert: alertTenantConflict}},
		"another tenant against a pending onboarding": {registry.AccountState{Management: rec(registry.Pending, "acme", registry.Owner{})},
			update(owner, "globex"), want{refusal: "already linked to another DoiT organization", conflict: true, alert: alertTenantConflict}},
		"a Create without a token on a bound account": {registry.AccountState{Gateway: rec(registry.Registered, "acme", owner)}, create(other, ""),
			want{refusal: "deploy the stack with your organization's TenantToken"}},
		"an Update without a token never fails (it may be a rollback), changes nothing": {registry.AccountState{Gateway: rec(registry.Registered, "acme", owner)},
			update(owner, ""), want{unchanged: true, alert: alertUnprovenUpdate}},
		"a registered management stack": {registry.AccountState{Management: rec(registry.Registered, "acme", other)}, create(owner, "acme"),
			want{refusal: "already has DoiT's management-role stack"}},
		"the same request delivered again while its proof is pending: nothing more": {registry.AccountState{Gateway: &registry.Onboarding{
			Status: registry.PendingProof, ClaimTenant: "acme", Owner: owner, RoleARN: role, LastRequestID: "r-1", ProofDue: true}},
			func() gatewayClaim { c := create(owner, "acme"); c.RequestID = "r-1"; return c }(), want{unchanged: true}},
		"another request for a pending claim asks for its own proof": {registry.AccountState{Gateway: &registry.Onboarding{
			Status: registry.PendingProof, ClaimTenant: "acme", Owner: owner, RoleARN: role, LastRequestID: "r-1", ProofDue: true}},
			func() gatewayClaim { c := create(owner, "acme"); c.RequestID = "r-2"; return c }(),
			want{status: registry.PendingProof, owner: owner, claimed: "acme", prove: true}},
		"the same request ID naming another tenant is a claim of its own": {registry.AccountState{Gateway: &registry.Onboarding{
			Status: registry.PendingProof, ClaimTenant: "acme", Owner: owner, RoleARN: role, LastRequestID: "r-1", ProofDue: true}},
			func() gatewayClaim { c := create(owner, "globex"); c.RequestID = "r-1"; return c }(),
			want{status: registry.PendingProof, owner: owner, claimed: "globex", prove: true}},
		"a rejected claim does not bind": {registry.AccountState{Gateway: rec(registry.Rejected, "acme", other)}, create(owner, "globex"),
			want{status: registry.PendingProof, owner: owner, claimed: "globex", prove: true}},
		"a deregistered account is free": {registry.AccountState{Gateway: rec(registry.Deregistered, "acme", owner)}, create(owner, "globex"),
			want{status: registry.PendingProof, owner: owner, claimed: "globex", prove: true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := h.decideGateway(tc.st, tc.claim)
			assert.Equal(t, tc.want.alert, d.Alert)
			assert.Equal(t, tc.want.conflict, d.Writes.Conflict != nil)
			if d.Writes.Conflict != nil {
				assert.False(t, d.Writes.Conflict.Proven, "a claim proves no conflict")
			}
			if tc.want.refusal == "" {
				assert.NoError(t, d.Refusal)
			} else {
				require.Error(t, d.Refusal)
				assert.Contains(t, d.Refusal.Error(), tc.want.refusal)
				for _, s := range []string{"acme", "globex", other.StackID, owner.StackID} {
					assert.NotContains(t, d.Refusal.Error(), s, "a reason names neither the other stack nor a tenant")
				}
				assert.Nil(t, d.Writes.Gateway)
			}
			assert.Equal(t, tc.want.prove, d.Prove)
			if tc.want.status == "" {
				assert.Nil(t, d.Writes.Gateway)
				return
			}
			require.NotNil(t, d.Writes.Gateway)
			w := d.Writes.Gateway
			assert.Equal(t, tc.want.status, w.Status)
			assert.Equal(t, tc.want.owner, w.Owner)
			assert.Equal(t, tc.want.tenant, w.Tenant)
			assert.Equal(t, tc.want.claimed, w.ClaimTenant)
			assert.True(t, w.ProofDue)
			assert.False(t, w.Runbooks || w.DiagnosticTool, "options are the role's, never the claim's")
		})
	}
}

// Issue 9 A.1, squatting: a forged gateway Create for an account nobody onboarded answers SUCCESS
// but records only a pending claim; its proof fails (the made-up stack has no role), the claim is
// rejected and its key retired; the customer's genuine stack is never in its way.
func TestSquattingNeverBlocksTheGenuineStack(t *testing.T) {
	f := newFixture(t)
	const victim = "220000000001"
	forged := gwEventFor(cfnresource.Create, victim, "arn:aws:cloudformation:us-east-1:220000000001:stack/anything/x", nil)
	f.prover.setRefuse(victim, true) // no gateway role in the account yet

	res, err := f.hook.Create(t.Context(), forged)
	require.NoError(t, err, "the stack's answer does not wait for the proof")
	assert.Equal(t, registry.PendingProof, f.gateway(t, victim).Status, "pending: never used for access")
	require.NotNil(t, res.Then)
	res.Then(t.Context())
	o := f.gateway(t, victim)
	assert.Equal(t, registry.Rejected, o.Status)
	assert.Contains(t, o.Proof.Reason, "does not exist, or does not trust DoiT's identity providers")
	assert.Equal(t, []string{victim}, f.keys.retired, "the key the proof needed is retired at once")
	assert.Contains(t, f.logs.alerts(), alertProofRejected)

	// the customer deploys the genuine stack: its role exists
	f.prover.setRefuse(victim, false)
	genuine := gwEventFor(cfnresource.Create, victim, "arn:aws:cloudformation:us-east-1:220000000001:stack/doit-support-gateway/real", nil)
	_, err = f.put(t, genuine)
	require.NoError(t, err)
	o = f.gateway(t, victim)
	assert.Equal(t, registry.Unclaimed, o.Status, "proven")
	assert.Equal(t, genuine.StackID, o.StackID)

	// a forged claim arriving while the genuine one waits for its proof does not block it either
	f2 := newFixture(t)
	f2.prover.setRefuse(victim, true)
	_, err = f2.hook.Create(t.Context(), forged) // pending, not yet proven
	require.NoError(t, err)
	f2.prover.setRefuse(victim, false)
	_, err = f2.put(t, genuine)
	require.NoError(t, err)
	assert.Equal(t, registry.Unclaimed, f2.gateway(t, victim).Status)
	assert.Equal(t, genuine.StackID, f2.gateway(t, victim).StackID)
}

// Issue 9 A.2, tenant takeover: acme onboarded the account through the management stack; globex,
// with its own valid token, claims it with a gateway Create. Nothing moves: the claim is FAILED with
// a reason naming the conflict (not acme, not the other stack), and since a claim alone proves
// nothing, it suspends nothing either (review finding: one message must not cut a customer off).
func TestTenantTakeoverIsRefusedAndMovesNothing(t *testing.T) {
	f := newFixture(t)
	const account = "230000000001"
	_, err := f.reg.StartOnboarding(t.Context(), "acme", account, ext)
	require.NoError(t, err)
	e := mgmtEvent(cfnresource.Create, "arn:aws:cloudformation:us-east-1:230000000001:stack/doit-management-role/a", map[string]any{
		"RoleArn": "arn:aws:iam::230000000001:role/DoiT_Management_Role_DO-NOT-DELETE", "AccountId": account,
		"BoundaryArn": "arn:aws:iam::230000000001:policy/DoiT_Support_Boundary_DO-NOT-DELETE"})
	_, err = f.hook.Create(t.Context(), e)
	require.NoError(t, err)

	globex := f.token(t, "globex")
	_, err = f.put(t, gwEventFor(cfnresource.Create, account, "arn:aws:cloudformation:us-east-1:230000000001:stack/globex/x",
		map[string]any{"TenantToken": globex}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already linked to another DoiT organization")
	for _, s := range []string{"acme", "globex", e.StackID} {
		assert.NotContains(t, err.Error(), s)
	}
	assert.Contains(t, f.logs.alerts(), alertTenantConflict)
	st, err := f.reg.Account(t.Context(), account)
	require.NoError(t, err)
	require.NotNil(t, st.Conflict, "on record for operators")
	assert.False(t, st.Conflict.Proven, "a claim alone suspends nothing")
	assert.Equal(t, "acme", st.Management.Tenant, "the account stays acme's")
	assert.Nil(t, st.Gateway, "globex's claim recorded nothing")
	o, _, ok := st.Usable()
	require.True(t, ok)
	assert.Equal(t, "acme", o.Tenant)
	assert.NotContains(t, f.logs.String(), globex)
}

// A conflict is proven when the account's own role names another tenant than the one it is bound
// to (the account changed organizations while its old registration lived on): then the account is
// unusable for access until an operator decides, who resolves it for one of the two.
func TestProvenConflictSuspendsTheAccountUntilAnOperatorDecides(t *testing.T) {
	f := newFixture(t)
	const account = "230000000002"
	_, err := f.reg.StartOnboarding(t.Context(), "acme", account, ext) // a link issued to acme
	require.NoError(t, err)
	globex := f.token(t, "globex")
	f.prover.tag(account, globex) // the account's own stack carries globex's token
	// a token-less event (globex's StackSet would carry the token; this one was forged or stale)
	_, err = f.put(t, gwEventFor(cfnresource.Create, account, "arn:aws:cloudformation:us-east-1:230000000002:stack/g/x", nil))
	require.Error(t, err, "the account is bound to acme by its link: a token-less claim is refused")
	registrytest.Put(t, f.reg, account, registry.Writes{Gateway: &registry.Onboarding{Status: registry.PendingProof, ProofDue: true,
		RoleARN: "arn:aws:iam::230000000002:role/DoiT-Support-Gateway"}}) // a claim recorded before the link (a race)
	f.hook.Prove(t.Context(), account)
	st, err := f.reg.Account(t.Context(), account)
	require.NoError(t, err)
	assert.Nil(t, st.Conflict, "one sighting is not yet a conflict: a refused stack update rolls the tag back in minutes")
	f.hook.Clock = func() time.Time { return time.Now().Add(10 * time.Minute) }
	f.hook.Prove(t.Context(), account)
	st, err = f.reg.Account(t.Context(), account)
	require.NoError(t, err)
	require.NotNil(t, st.Conflict, "proven: the role names globex, the link acme")
	assert.True(t, st.Conflict.Proven)
	assert.Equal(t, "acme", st.Conflict.Tenant)
	assert.Equal(t, "globex", st.Conflict.Claimant)
	assert.Equal(t, registry.Unclaimed, st.Gateway.Status, "bound to neither")
	_, why, ok := st.Usable()
	assert.False(t, ok)
	assert.Contains(t, why, "operator")
	assert.Contains(t, f.logs.alerts(), alertTenantConflict)

	require.NoError(t, ResolveConflict(t.Context(), f.reg, account, "acme"))
	st, err = f.reg.Account(t.Context(), account)
	require.NoError(t, err)
	assert.Nil(t, st.Conflict)
}

// Issue 9 A.3: the StackId is readable by anyone who can describe the stack, so it is no credential;
// and the tenant token is readable on the role's tag, so it is none either. Updates change nothing the
// role did not say (another tenant's or an unknown token: FAILED; none: nothing, it may be a
// rollback); Deletes, whatever they carry, end nothing by themselves: they ask for a re-check, which
// ends the registration only once the role is gone; and reasons never name another stack.
// A stack update that turns an option on changes the role's inline policies before CloudFormation
// notifies the hook: the Update asks for the role to be read again, and the registration gets the
// options the role has. The same Update, forged while the role has no such policy, gets nothing.
func TestAnOptionChangeIsReadFromTheRole(t *testing.T) {
	f := newFixture(t)
	acme := f.token(t, "acme")
	f.prover.tag(acct, acme)
	_, err := f.put(t, gwEvent(cfnresource.Create, map[string]any{"TenantToken": acme, "DiagnosticTool": "false"}))
	require.NoError(t, err)
	o := f.gateway(t, acct)
	require.Equal(t, registry.Registered, o.Status)
	require.False(t, o.Runbooks || o.DiagnosticTool)

	flip := gwEvent(cfnresource.Update, map[string]any{"TenantToken": acme, "DiagnosticTool": "false", "Runbooks": "true"})
	flip.RequestID = "req-forged-flip"
	_, err = f.put(t, flip)
	require.NoError(t, err)
	assert.False(t, f.gateway(t, acct).Runbooks, "the role has no runbooks policy: the claim changes nothing")

	f.prover.setOptions(acct, true, false) // the customer's stack update puts the policy on the role
	flip.RequestID = "req-genuine-flip"
	_, err = f.put(t, flip)
	require.NoError(t, err)
	o = f.gateway(t, acct)
	assert.True(t, o.Runbooks, "read from the role")
	assert.False(t, o.DiagnosticTool)
	assert.Equal(t, "acme", o.Tenant)
}

func TestStackIDIsNotACredential(t *testing.T) {
	f := newFixture(t)
	acme, globex := f.token(t, "acme"), f.token(t, "globex")
	f.prover.tag(acct, acme)
	_, err := f.put(t, gwEvent(cfnresource.Create, map[string]any{"TenantToken": acme}))
	require.NoError(t, err)
	require.Equal(t, registry.Registered, f.gateway(t, acct).Status)
	keysBefore, _ := f.keys.counts()

	var reasons []string
	for name, tc := range map[string]struct {
		props  map[string]any
		failed bool
	}{
		"another tenant's token moves nothing": {map[string]any{"TenantToken": globex}, true},
		"a junk token un-claims nothing":       {map[string]any{"TenantToken": "tt-junk"}, true},
		"no token un-claims nothing":           {map[string]any{"TenantToken": ""}, false},
		"options flipped without the token":    {map[string]any{"TenantToken": "", "Runbooks": "true"}, false},
		"options flipped with the token":       {map[string]any{"TenantToken": acme, "Runbooks": "true"}, false},
	} {
		_, err := f.put(t, gwEvent(cfnresource.Update, tc.props))
		if tc.failed {
			require.Error(t, err, name)
			reasons = append(reasons, err.Error())
		} else {
			require.NoError(t, err, name)
		}
		o := f.gateway(t, acct)
		assert.Equal(t, registry.Registered, o.Status, name)
		assert.Equal(t, "acme", o.Tenant, name)
		assert.False(t, o.Runbooks, "%s: the role has no runbooks policy, whatever the event says", name)
	}

	// Deletes, forged or not, with or without the token (it is on the role's tag for anyone who can
	// read the account): the role is checked again, and it is still there
	for name, e := range map[string]cfnresource.Event{
		"no token":             gwEvent(cfnresource.Delete, nil),
		"another tenant's":     gwEvent(cfnresource.Delete, map[string]any{"TenantToken": globex}),
		"the token, read off":  gwEvent(cfnresource.Delete, map[string]any{"TenantToken": acme}),
		"another stack, token": gwEventFor(cfnresource.Delete, acct, stackB, map[string]any{"TenantToken": acme}),
	} {
		res, err := f.hook.Delete(t.Context(), e)
		require.NoError(t, err, name)
		require.NotNil(t, res.Then, name)
		res.Then(t.Context())
		assert.Equal(t, registry.Registered, f.status(t, registry.Gateway), "%s: nothing changed", name)
		assert.Equal(t, "acme", f.gateway(t, acct).Tenant, name)
	}
	assert.Empty(t, f.keys.retired)

	// the genuine Delete: CloudFormation then deletes the role, and the re-checks end the registration
	_, err = f.hook.Delete(t.Context(), gwEvent(cfnresource.Delete, map[string]any{"TenantToken": acme}))
	require.NoError(t, err)
	f.prover.setRefuse(acct, true)
	for _, at := range []time.Duration{10 * time.Minute, 20 * time.Minute} {
		f.hook.Clock = func() time.Time { return time.Now().Add(at) }
		require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	}
	f.endedForGood(t, acct)
	created, _ := f.keys.counts()
	assert.Equal(t, keysBefore, created)
	f.hook.Clock = nil

	// management: a forged Delete with the owner's StackId and no (or a wrong) ExternalId removes nothing
	m := newFixture(t)
	m.created(t)
	for _, props := range []map[string]any{{"ExternalId": nil}, {"ExternalId": "ext-guessed-guessed-guessed"}} {
		_, err := m.hook.Delete(t.Context(), mgmtDelete(stackA, props))
		require.NoError(t, err)
		assert.Equal(t, registry.Registered, m.status(t, registry.Management))
	}
	assert.Empty(t, m.prov.removed, "the vendor's support role stays in the customer's account")
	assert.Contains(t, m.logs.alerts(), alertUnprovenDelete)

	// reasons never name another stack
	_, err = m.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackB, map[string]any{"ExternalId": "ext-wrong-wrong-wrong"}))
	require.Error(t, err)
	reasons = append(reasons, err.Error())
	for _, r := range reasons {
		assert.NotContains(t, r, "stack/", r)
	}
}

// Issue 9 A.4: a forged management Update with the owner's StackId cannot turn on runbooks or
// diagnostics the customer left off: it must present the ExternalId, which the template now
// keeps NoEcho (cdk: TestExternalIdIsNoEcho).
func TestFeatureFlipsNeedTheExternalId(t *testing.T) {
	f := newFixture(t)
	f.created(t)
	for _, props := range []map[string]any{
		{"Runbooks": "true", "DiagnosticTool": "true", "ExternalId": "ext-guessed-guessed-guessed"},
		{"Runbooks": "true", "ExternalId": nil},
	} {
		up := mgmtEvent(cfnresource.Update, stackA, props)
		up.PhysicalResourceID = mgmtID
		_, err := f.hook.Update(t.Context(), up)
		require.Error(t, err)
		o := f.record(t, registry.Management)
		assert.False(t, o.Runbooks)
		assert.False(t, o.DiagnosticTool)
	}
	assert.Contains(t, f.logs.alerts(), alertUnprovenUpdate)
	up := mgmtEvent(cfnresource.Update, stackA, map[string]any{"Runbooks": "true"})
	up.PhysicalResourceID = mgmtID
	_, err := f.hook.Update(t.Context(), up)
	require.NoError(t, err, "with the ExternalId, it is the customer")
	assert.True(t, f.record(t, registry.Management).Runbooks)
}

// Issue 9 A.5: 20 forged token-less Creates for made-up accounts cost at most the hourly pace in
// keys and proofs; the rest wait in the queue (answered SUCCESS, never failed for it); each key is
// retired as soon as its proof fails; a claim with a valid tenant token is not paced behind them.
func TestKeyFloodIsPaced(t *testing.T) {
	f := newFixture(t)
	f.hook.UnprovenPerHour = 5
	var accounts []string
	for i := range 20 {
		a := fmt.Sprintf("2200000001%02d", i)
		accounts = append(accounts, a)
		f.prover.setRefuse(a, true)
		_, err := f.put(t, gwEventFor(cfnresource.Create, a, "arn:aws:cloudformation:us-east-1:"+a+":stack/x/y", nil))
		require.NoError(t, err, "never failed for the pace")
	}
	created, retired := f.keys.counts()
	assert.Equal(t, 5, created, "keys made: the hour's pace")
	assert.Equal(t, 5, retired, "every failed proof retires its key")
	queued := 0
	for _, a := range accounts {
		o := f.gateway(t, a)
		if o.Status == registry.PendingProof {
			queued++
			assert.Contains(t, o.Proof.Reason, "queued")
			assert.False(t, o.Proof.NextAt.IsZero())
		} else {
			assert.Equal(t, registry.Rejected, o.Status)
		}
	}
	assert.Equal(t, 15, queued)

	// Deletes of the queued claims are no way around the pace (review finding): their re-checks
	// take from it too
	for _, a := range accounts {
		res, err := f.hook.Delete(t.Context(), gwEventFor(cfnresource.Delete, a, "arn:aws:cloudformation:us-east-1:"+a+":stack/x/y", nil))
		require.NoError(t, err)
		if res.Then != nil {
			res.Then(t.Context())
		}
	}
	created, _ = f.keys.counts()
	assert.Equal(t, 5, created, "still the hour's pace")

	assert.Equal(t, registry.Registered, f.genuineClaim(t, "240000000001", "acme").Status, "a tenant's claim is not paced behind token-less ones")
}

// genuineClaim deploys a gateway stack with tenant's token in account (its role carries the token)
// and runs its Create and proof; it returns the account's gateway record.
func (f *fixture) genuineClaim(t *testing.T, account, tenant string) registry.Onboarding {
	t.Helper()
	tok := f.token(t, tenant)
	f.prover.tag(account, tok)
	_, err := f.put(t, gwEventFor(cfnresource.Create, account, "arn:aws:cloudformation:us-east-1:"+account+":stack/x/y",
		map[string]any{"TenantToken": tok}))
	require.NoError(t, err)
	return f.gateway(t, account)
}

// A tenant's claims are paced per tenant (review finding: any tenant could make the vendor create
// keys for made-up accounts without limit); another tenant's are not held up by them.
func TestTenantClaimsArePacedPerTenant(t *testing.T) {
	f := newFixture(t)
	f.hook.TenantClaimsPerHour = 3
	globex := f.token(t, "globex")
	for i := range 10 {
		a := fmt.Sprintf("2200000002%02d", i)
		f.prover.setRefuse(a, true)
		_, err := f.put(t, gwEventFor(cfnresource.Create, a, "arn:aws:cloudformation:us-east-1:"+a+":stack/x/y", map[string]any{"TenantToken": globex}))
		require.NoError(t, err)
	}
	created, _ := f.keys.counts()
	assert.Equal(t, 3, created)
	assert.Equal(t, registry.Registered, f.genuineClaim(t, "240000000002", "acme").Status, "acme's claim does not wait for globex's")
}

// A token-less registration proved no secret: its Delete (from whichever stack) does not end it,
// but starts a re-check, which ends it once its role is gone.
func TestTokenlessDeleteEndsTheRegistrationOnlyOnceTheRoleIsGone(t *testing.T) {
	f := newFixture(t)
	_, err := f.put(t, gwEvent(cfnresource.Create, nil))
	require.NoError(t, err)
	require.Equal(t, registry.Unclaimed, f.status(t, registry.Gateway))

	res, err := f.hook.Delete(t.Context(), gwEvent(cfnresource.Delete, nil))
	require.NoError(t, err)
	require.NotNil(t, res.Then)
	assert.Equal(t, registry.Unclaimed, f.status(t, registry.Gateway), "the event alone ends nothing")
	assert.False(t, f.gateway(t, acct).RecheckAfter.IsZero(), "a re-check is asked for")

	// the role is still there (CloudFormation has not deleted it yet): one check, nothing ends, the
	// next check is due in a few minutes (review finding: one Delete costs one check, not a loop)
	proofs := f.prover.proofs()
	res.Then(t.Context())
	assert.Equal(t, proofs+1, f.prover.proofs(), "exactly one check")
	assert.Equal(t, registry.Unclaimed, f.status(t, registry.Gateway))
	assert.True(t, f.gateway(t, acct).ProofDue)

	// CloudFormation deletes the role: the sweep's re-checks end the registration once STS has refused
	// the role at two checks some minutes apart (one refusal could be the vendor's own outage)
	f.prover.setRefuse(acct, true)
	f.hook.Clock = func() time.Time { return time.Now().Add(10 * time.Minute) }
	var out strings.Builder
	require.NoError(t, f.hook.Sweep(t.Context(), &out))
	assert.Equal(t, registry.Unclaimed, f.status(t, registry.Gateway), "one refusal is not enough")
	f.hook.Clock = func() time.Time { return time.Now().Add(20 * time.Minute) }
	out.Reset()
	require.NoError(t, f.hook.Sweep(t.Context(), &out))
	assert.Equal(t, registry.Deregistered, f.status(t, registry.Gateway))
	assert.Contains(t, out.String(), acct+"\tDEREGISTERED")
	f.endedForGood(t, acct)
}

// A re-check that still finds the role an hour after the Delete ends: that Delete was not the
// stack's (CloudFormation deletes the role within minutes), and the registration stands.
func TestRecheckEndsWhenTheRoleOutlivesTheDelete(t *testing.T) {
	f := newFixture(t)
	_, err := f.put(t, gwEvent(cfnresource.Create, nil))
	require.NoError(t, err)
	_, err = f.hook.Delete(t.Context(), gwEventFor(cfnresource.Delete, acct, stackB, nil)) // forged, from another stack
	require.NoError(t, err)
	require.False(t, f.gateway(t, acct).RecheckAfter.IsZero())
	f.hook.Clock = func() time.Time { return time.Now().Add(2 * time.Hour) }
	var out strings.Builder
	require.NoError(t, f.hook.Sweep(t.Context(), &out))
	o := f.gateway(t, acct)
	assert.Equal(t, registry.Unclaimed, o.Status, "the registration stands")
	assert.True(t, o.RecheckAfter.IsZero(), "the re-check is over")
	assert.Contains(t, f.logs.alerts(), alertUnprovenDelete)
}

func TestUnknownTenantTokenIsRefused(t *testing.T) {
	f := newFixture(t)
	_, err := f.put(t, gwEvent(cfnresource.Create, map[string]any{"TenantToken": "tt-forged"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the TenantToken is not one DoiT issued")
	_, found, err := f.reg.Get(t.Context(), acct, registry.Gateway)
	require.NoError(t, err)
	assert.False(t, found, "nothing recorded")
	assert.NotContains(t, f.logs.String(), "tt-forged", "tokens are never logged")
}

// A proof that cannot be made (throttling, the vendor's own KMS) leaves the claim pending and due
// again, and the sweep proves it later.
func TestTransientProofFailureStaysPending(t *testing.T) {
	f := newFixture(t)
	f.prover.transient = true
	_, err := f.put(t, gwEvent(cfnresource.Create, nil))
	require.NoError(t, err)
	o := f.gateway(t, acct)
	assert.Equal(t, registry.PendingProof, o.Status)
	assert.Equal(t, 1, o.Proof.Attempts)
	f.prover.transient = false
	f.hook.Clock = func() time.Time { return time.Now().Add(time.Hour) } // the retry is due
	var out strings.Builder
	require.NoError(t, f.hook.Sweep(t.Context(), &out))
	assert.Equal(t, registry.Unclaimed, f.status(t, registry.Gateway))
}

// SNS delivers a notification twice now and then: the second delivery of a gateway Create whose
// claim still waits for the proof the first asked for answers the same and asks no proof of its
// own, so the account is proven once and gets one signing key (two proofs at once would each make
// one). The first delivery's proof then registers it.
func TestARedeliveredCreateAsksNoSecondProof(t *testing.T) {
	f := newFixture(t)
	tok := f.token(t, "acme")
	f.prover.tag(acct, tok)
	e := gwEvent(cfnresource.Create, map[string]any{"TenantToken": tok, "DiagnosticTool": "false"}) // as the role has it
	first, err := f.hook.Create(t.Context(), e)
	require.NoError(t, err)
	require.NotNil(t, first.Then, "the first delivery asks for the proof")
	again, err := f.hook.Create(t.Context(), e) // while the first's proof has not run
	require.NoError(t, err)
	assert.Equal(t, first.PhysicalResourceID, again.PhysicalResourceID, "the same answer")
	assert.Nil(t, again.Then, "no second proof")
	assert.Equal(t, registry.PendingProof, f.gateway(t, acct).Status)
	first.Then(t.Context())
	assert.Equal(t, []string{acct}, f.prover.calls, "proven once")
	o := f.gateway(t, acct)
	assert.Equal(t, registry.Registered, o.Status)
	assert.Equal(t, "acme", o.Tenant)

	again, err = f.hook.Create(t.Context(), e) // after the proof: the registration stands as it is
	require.NoError(t, err)
	assert.Nil(t, again.Then)
	assert.Equal(t, []string{acct}, f.prover.calls)
}

// A Delete's re-check of a registration expects STS to refuse the role (the stack deletes it): it
// retries the refusal for the re-proofs' short budget, not for the propagation budget a new claim's
// role gets, so a deleted stack holds the Lambda's execution environment seconds, not minutes.
func TestADeletesRecheckRetriesRefusalsBriefly(t *testing.T) {
	f := newFixture(t)
	f.hook.ProofBudget = 90 * time.Second
	require.Equal(t, registry.Registered, f.genuineClaim(t, acct, "acme").Status)
	f.prover.mu.Lock()
	f.prover.refuse = map[string]bool{acct: true} // CloudFormation deleted the role after the answer
	f.prover.mu.Unlock()
	res, err := f.hook.Delete(t.Context(), gwEvent(cfnresource.Delete, nil))
	require.NoError(t, err)
	require.NotNil(t, res.Then)
	res.Then(t.Context())
	assert.Equal(t, []time.Duration{90 * time.Second, reproofBudget}, f.prover.budgets,
		"the claim's proof: the propagation budget; the Delete's re-check: the re-proofs'")
	o := f.gateway(t, acct)
	assert.Equal(t, registry.Registered, o.Status, "ended only once STS has refused the role for a while")
	assert.False(t, o.Proof.RefusedSince.IsZero())
}
