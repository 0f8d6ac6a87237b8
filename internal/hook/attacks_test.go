package hook

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// Attacks on the gateway rules and user mistakes, found by adversarial review (decideGateway,
// Prove/bind/recordProof, Sweep, the paces, the region settings). Each test is one attack or one
// mistake; its comment gives the rule it holds.

// REGIONS (lambdas/hook/config.go) reaches the hook: a stack in a configured region is served, not
// FAILED with "deploy it in us-east-1".
func TestRegionsSettingReachesTheHook(t *testing.T) {
	h, _, err := New(aws.Config{Region: "us-east-1"}, Settings{Vendor: policy.DefaultVendor(), VendorAccountID: vendor,
		Table: "t", Regions: []string{"us-east-1", "eu-west-1"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"us-east-1", "eu-west-1"}, h.Regions, "the configured regions reach the hook")
	_, err = h.stack("arn:aws:cloudformation:eu-west-1:111122223333:stack/doit-support-gateway/cccc")
	assert.NoError(t, err, "a stack in a configured region is served")
}

// A gateway-only account bound to acme whose role's tag later names globex (the account changed
// organizations and its admin re-tagged the role) is never re-bound by a proof, even one anyone can
// ask for with a forged token-less Delete: two sightings minutes apart make it a proven conflict,
// and the account is unusable until an operator decides (README, "Binding an account to a tenant").
func TestARecheckNeverMovesABoundAccountToAnotherTenant(t *testing.T) {
	f := newFixture(t)
	acme, globex := f.token(t, "acme"), f.token(t, "globex")
	f.prover.tag(acct, acme)
	_, err := f.put(t, gwEvent(cfnresource.Create, map[string]any{"TenantToken": acme}))
	require.NoError(t, err)
	o, ok := f.usable(t, acct)
	require.True(t, ok)
	require.Equal(t, "acme", o.Tenant)

	f.prover.tag(acct, globex)                                                                     // the account's role now names globex
	res, err := f.hook.Delete(t.Context(), gwEventFor(cfnresource.Delete, acct, forgedStack, nil)) // anyone, no token
	require.NoError(t, err)
	require.NotNil(t, res.Then)
	res.Then(t.Context()) // the re-check's proof: a first sighting
	f.hook.Clock = func() time.Time { return time.Now().Add(10 * time.Minute) }
	require.NoError(t, f.hook.Sweep(t.Context(), io.Discard)) // still globex, minutes later

	st, err := f.reg.Account(t.Context(), acct)
	require.NoError(t, err)
	u, _, usable := st.Usable()
	assert.False(t, usable && u.Tenant == "globex", "the account moved from acme to globex without an operator: %+v", u)
	assert.NotNil(t, st.Conflict, "a proven conflict is recorded for an operator")
	assert.Contains(t, f.logs.alerts(), alertTenantConflict)
}

// The tenant token is readable on the role's DoiTTenantToken tag by anyone with IAM read in the
// customer's account, and the StackId by anyone with cloudformation:DescribeStacks. A Delete that
// carries both still proves nothing: it asks for a re-check, which leaves the registration standing
// while the role is there.
func TestATokenReadOffTheRoleTagCannotDeregister(t *testing.T) {
	f := newFixture(t)
	acme := f.token(t, "acme")
	f.prover.tag(acct, acme)
	_, err := f.put(t, gwEvent(cfnresource.Create, map[string]any{"TenantToken": acme}))
	require.NoError(t, err)
	require.Equal(t, registry.Registered, f.status(t, registry.Gateway))

	// the reader publishes: the owner's StackId and LogicalResourceId, the token from the tag
	forged := gwEvent(cfnresource.Delete, map[string]any{"TenantToken": acme})
	forged.RequestID = "req-forged-by-a-reader"
	res, err := f.hook.Delete(t.Context(), forged)
	require.NoError(t, err)
	if res.Then != nil {
		res.Then(t.Context()) // the role is still there
	}
	assert.Equal(t, registry.Registered, f.status(t, registry.Gateway), "the stack and its role still exist: the registration stands")
	_, ok := f.usable(t, acct)
	assert.True(t, ok, "support access is not cut off by a reader")
	assert.Empty(t, f.keys.retired, "the account's key is not retired")
}

// The owner adds its TenantToken in an Update while its claim is queued by the pace (which forged
// token-less Creates can spend); the proof binds the account; the stack update is then cancelled and
// CloudFormation's rollback Update carries the old token-less properties. It must succeed, or the
// stack is wedged in UPDATE_ROLLBACK_FAILED: a token-less Update on a bound account is SUCCESS with
// nothing changed.
func TestRollbackOfATokenAddedWhileQueuedNeverFails(t *testing.T) {
	f := newFixture(t)
	f.hook.UnprovenPerHour = 1
	ok, _, err := f.hook.Registry.Take(t.Context(), unprovenBudget, 1, time.Hour) // forged token-less Creates spent the hour's pace
	require.NoError(t, err)
	require.True(t, ok)

	create := gwEvent(cfnresource.Create, nil)
	_, err = f.put(t, create)
	require.NoError(t, err)
	require.Equal(t, registry.PendingProof, f.status(t, registry.Gateway), "queued")

	assert.NoError(t, f.addTokenThenRollBack(t, create), "a rollback to what the resource held never fails (else UPDATE_ROLLBACK_FAILED)")
}

// A forged token-less claim on an unclaimed registration (anyone who knows the account ID) changes
// nothing the owner's later rollback depends on: the rollback still succeeds.
func TestAForgedClaimCannotPoisonTheOwnersRollback(t *testing.T) {
	f := newFixture(t)
	create := gwEvent(cfnresource.Create, nil)
	_, err := f.put(t, create)
	require.NoError(t, err)
	require.Equal(t, registry.Unclaimed, f.status(t, registry.Gateway))

	// the attacker: any StackId in the account, no token, an option flipped
	_, err = f.put(t, gwEventFor(cfnresource.Update, acct, forgedStack, map[string]any{"Runbooks": "true"}))
	require.NoError(t, err, "accepted: the account is not bound")

	assert.NoError(t, f.addTokenThenRollBack(t, create), "the owner's rollback never fails (else UPDATE_ROLLBACK_FAILED)")
}

// addTokenThenRollBack plays the owner of the stack create made: a stack Update adds acme's token
// (the role's tag first, then the hook), the proof binds the account to acme, then the update is
// cancelled (the tag goes back, and the hook gets the old properties). It returns the rollback's
// answer.
func (f *fixture) addTokenThenRollBack(t *testing.T, create cfnresource.Event) error {
	t.Helper()
	up := f.ownerAddsToken(t, create)
	require.Equal(t, registry.Registered, f.status(t, registry.Gateway))

	f.prover.tag(acct, "")
	back := gwEvent(cfnresource.Update, nil)
	back.RequestID = "req-rollback"
	back.ResourceProperties, back.OldResourceProperties = create.ResourceProperties, up.ResourceProperties
	_, err := f.put(t, back)
	return err
}

// ownerAddsToken plays the owner of the stack create made adding acme's token with a stack Update
// (CloudFormation tags the role, then notifies the hook), and returns that Update.
func (f *fixture) ownerAddsToken(t *testing.T, create cfnresource.Event) cfnresource.Event {
	t.Helper()
	acme := f.token(t, "acme")
	f.prover.tag(acct, acme)
	up := gwEvent(cfnresource.Update, map[string]any{"TenantToken": acme})
	up.RequestID, up.OldResourceProperties = "req-add-token", create.ResourceProperties
	_, err := f.put(t, up)
	require.NoError(t, err)
	return up
}

// Every Delete asks for a re-check, but re-checks are paced in the shared unproven lane, never in the
// tenant's: forged Deletes for one of acme's accounts cannot queue acme's genuine new stacks.
func TestForgedDeletesCannotSpendATenantsPace(t *testing.T) {
	f := newFixture(t)
	f.hook.TenantClaimsPerHour = 3
	const bound, next = "240000000010", "240000000011"
	require.Equal(t, registry.Registered, f.genuineClaim(t, bound, "acme").Status)

	for i := range 3 {
		e := gwEventFor(cfnresource.Delete, bound, "arn:aws:cloudformation:us-east-1:"+bound+":stack/forged/x", nil)
		e.RequestID = fmt.Sprintf("req-forged-delete-%d", i)
		res, err := f.hook.Delete(t.Context(), e)
		require.NoError(t, err)
		if res.Then != nil {
			res.Then(t.Context())
		}
	}
	o := f.genuineClaim(t, next, "acme")
	assert.Equal(t, registry.Registered, o.Status, "acme's genuine claim is not queued behind forged Deletes: %s", o.Proof.Reason)
}

// A gateway Delete while the registry errors is answered SUCCESS (never block a deletion) with
// alert=delete_incomplete; the daily re-proof in the sweep then finds the role gone (two refusals,
// minutes apart) and ends the registration.
func TestGatewayDeleteLostToARegistryOutageIsRecovered(t *testing.T) {
	f := newFixture(t)
	acme := f.token(t, "acme")
	f.prover.tag(acct, acme)
	_, err := f.put(t, gwEvent(cfnresource.Create, map[string]any{"TenantToken": acme}))
	require.NoError(t, err)

	healthy := f.hook.Registry
	f.hook.Registry = &failingRegistry{Registry: healthy, failing: true}
	res, err := f.hook.Delete(t.Context(), gwEvent(cfnresource.Delete, map[string]any{"TenantToken": acme}))
	require.NoError(t, err, "answered SUCCESS")
	assert.Nil(t, res.Then)
	assert.Contains(t, f.logs.alerts(), alertDeleteFailed)
	f.hook.Registry = healthy
	f.prover.setRefuse(acct, true) // CloudFormation deleted the role

	// the sweep proves every registration again once a day; with no Delete heard, STS must refuse
	// the role for a day before the registration ends (a vendor-side fault must not end it)
	var out strings.Builder
	for _, at := range []time.Duration{25 * time.Hour, 26 * time.Hour, 48 * time.Hour} {
		f.hook.Clock = func() time.Time { return time.Now().Add(at) }
		require.NoError(t, f.hook.Sweep(t.Context(), &out))
		require.Equal(t, registry.Registered, f.status(t, registry.Gateway), "refused for less than a day, at %s", at)
	}
	f.hook.Clock = func() time.Time { return time.Now().Add(49*time.Hour + time.Minute) }
	require.NoError(t, f.hook.Sweep(t.Context(), &out))
	assert.Equal(t, registry.Deregistered, f.status(t, registry.Gateway), "the registration of the deleted stack ends")
	f.endedForGood(t, acct)
}

// A proof that can never be made (the claimed role admits the token but its session cannot read the
// role: trivial to set up in an attacker's own account) is retried a bounded number of times, then
// settled: the sweep stops spending the shared unproven budget on it.
func TestAProofThatCanNeverBeMadeIsNotRetriedForever(t *testing.T) {
	f := newFixture(t)
	f.hook.UnprovenPerHour = 100000
	f.prover.transient = true
	_, err := f.put(t, gwEventFor(cfnresource.Create, "260000000001", "arn:aws:cloudformation:us-east-1:260000000001:stack/x/y", nil))
	require.NoError(t, err)

	start := time.Now()
	var out strings.Builder
	for i := range 6 * 26 { // 26 hours of a sweep every 10 minutes
		now := start.Add(time.Duration(i+1) * 10 * time.Minute)
		f.hook.Clock = func() time.Time { return now }
		require.NoError(t, f.hook.Sweep(t.Context(), &out))
	}
	o := f.gateway(t, "260000000001")
	t.Logf("after 26 h: status %s, due %v, attempts %d, proofs %d", o.Status, o.ProofDue, o.Proof.Attempts, f.prover.proofs())
	assert.False(t, o.ProofDue, "settled after a bounded number of attempts")
	assert.Less(t, f.prover.proofs(), 100, "the sweep does not spend a proof on it every run for ever")
}

// The reason a refused conflicting claim gets (a link for an account another tenant's role names)
// tells the customer what to do and claims only what is true: the refused request is on record
// for operators (an unproven conflict in supportctl conflicts), and nothing is suspended.
func TestAConflictReasonOnlyClaimsWhatWasRecorded(t *testing.T) {
	f := newFixture(t)
	const account = "230000000003"
	_, err := f.reg.StartOnboarding(t.Context(), "acme", account, ext) // acme's operator mistyped the account
	require.NoError(t, err)
	globex := f.token(t, "globex")
	f.prover.tag(account, globex) // the account's real owner deploys its gateway stack
	_, err = f.put(t, gwEventFor(cfnresource.Create, account, "arn:aws:cloudformation:us-east-1:230000000003:stack/doit-support-gateway/g",
		map[string]any{"TenantToken": globex}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already linked to another DoiT organization")
	assert.Contains(t, err.Error(), "the refused request is on record")
	assert.NotContains(t, err.Error(), "suspended")
	conflicts, lerr := f.reg.Conflicts(t.Context())
	require.NoError(t, lerr)
	require.Len(t, conflicts, 1, "the refused request is on record for operators")
	assert.False(t, conflicts[0].Proven, "a claim proves nothing")
	assert.Equal(t, account, conflicts[0].AccountID)
	st, aerr := f.reg.Account(t.Context(), account)
	require.NoError(t, aerr)
	require.NotNil(t, st.Management)
	assert.Equal(t, registry.Pending, st.Management.Status, "acme's pending onboarding is untouched")
}

// Every rejected claim costs a KMS key (retired: pending deletion for 7 days, counted against the
// account's key quota). A tenant's claims use its own lane only until its rejections of the day
// (TENANT_REJECTIONS_PER_DAY) are spent, then the shared token-less lane: a token read off a role
// tag cannot mint keys at the tenant's pace.
func TestRejectedClaimsMoveATenantToTheSlowLane(t *testing.T) {
	f := newFixture(t)
	f.hook.TenantRejectionsPerDay, f.hook.UnprovenPerHour = 2, 1
	globex := f.token(t, "globex")
	const madeUp = "270000000001"
	f.prover.setRefuse(madeUp, true)
	for i := range 5 {
		e := gwEventFor(cfnresource.Create, madeUp, "arn:aws:cloudformation:us-east-1:270000000001:stack/x/y", map[string]any{"TenantToken": globex})
		e.RequestID = fmt.Sprintf("req-claim-%d", i)
		_, err := f.put(t, e)
		require.NoError(t, err)
	}
	created, retired := f.keys.counts()
	t.Logf("keys created %d, retired %d", created, retired)
	// the tenant's lane until its 2 rejections of the day, then the shared token-less lane (1 an hour)
	assert.Equal(t, 3, created, "rejections move a tenant's claims to the slow lane: keys stay bounded")
	assert.Equal(t, registry.PendingProof, f.gateway(t, madeUp).Status, "queued")
}

// Livelock: claims from made-up StackIds landing during every proof (faster than a refused proof
// takes) never void the proof of the role, so the registration of a deleted stack still ends.
func TestUnprovenClaimsCannotKeepADeletedStacksRegistrationAlive(t *testing.T) {
	f := newFixture(t)
	_, err := f.put(t, gwEvent(cfnresource.Create, nil))
	require.NoError(t, err)
	res, err := f.hook.Delete(t.Context(), gwEvent(cfnresource.Delete, nil)) // the genuine stack is deleted
	require.NoError(t, err)
	require.NotNil(t, res.Then)
	res.Then(t.Context()) // the role is still there for a moment
	require.True(t, f.gateway(t, acct).ProofDue)
	f.prover.setRefuse(acct, true) // CloudFormation deleted the role

	n := 0
	f.hook.Prover = &flippingProver{RoleProver: f.prover, during: func() {
		n++ // a new made-up StackId each time: the owner changes, so the record's version does
		e := gwEventFor(cfnresource.Update, acct, fmt.Sprintf("arn:aws:cloudformation:us-east-1:111122223333:stack/forged-%d/x", n), nil)
		_, err := f.hook.Update(t.Context(), e) // its own follow-up runs in another invocation, and is dropped the same way
		require.NoError(t, err)
	}}
	start := time.Now()
	var out strings.Builder
	for i := range 12 { // two hours of a sweep every 10 minutes
		now := start.Add(time.Duration(i+1) * 10 * time.Minute)
		f.hook.Clock = func() time.Time { return now }
		require.NoError(t, f.hook.Sweep(t.Context(), &out))
	}
	o := f.gateway(t, acct)
	t.Logf("after 2 h: status %s, due %v, proofs %d", o.Status, o.ProofDue, f.prover.proofs())
	assert.Equal(t, registry.Deregistered, o.Status, "the role is gone: the registration ends whatever unproven claims arrive")
}

// flippingProver runs during before every proof, as a claim landing while STS is being asked.
type flippingProver struct {
	RoleProver
	during func()
}

func (p *flippingProver) ProveRole(ctx context.Context, account, role string, budget time.Duration) (RoleEvidence, error) {
	p.during()
	return p.RoleProver.ProveRole(ctx, account, role, budget)
}

// After a proven conflict, resolve-conflict for acme makes the account acme's and usable again; a
// later proof that finds the role still naming globex is a conflict again, never a move.
func TestAProofNeverUndoesTheOperatorsDecision(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, registry.Registered, f.genuineClaim(t, acct, "acme").Status)
	f.prover.tag(acct, f.token(t, "globex")) // re-tagged
	res, err := f.hook.Delete(t.Context(), gwEventFor(cfnresource.Delete, acct, forgedStack, nil))
	require.NoError(t, err)
	res.Then(t.Context())
	f.hook.Clock = func() time.Time { return time.Now().Add(10 * time.Minute) }
	require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	st, err := f.reg.Account(t.Context(), acct)
	require.NoError(t, err)
	require.NotNil(t, st.Conflict, "the proven conflict")
	require.True(t, st.Conflict.Proven)

	require.NoError(t, ResolveConflict(t.Context(), f.reg, acct, "acme")) // the operator: the account is acme's
	o, ok := f.usable(t, acct)
	assert.True(t, ok && o.Tenant == "acme", "resolved for acme: usable for acme again (ResolveConflict's promise): %+v", o)

	res, err = f.hook.Delete(t.Context(), gwEventFor(cfnresource.Delete, acct, "arn:aws:cloudformation:us-east-1:111122223333:stack/forged-2/y", nil))
	require.NoError(t, err)
	if res.Then != nil {
		res.Then(t.Context())
	}
	for _, at := range []time.Duration{25 * time.Minute, 45 * time.Minute} { // the re-check's checks, minutes apart
		f.hook.Clock = func() time.Time { return time.Now().Add(at) }
		require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	}
	st, err = f.reg.Account(t.Context(), acct)
	require.NoError(t, err)
	u, _, usable := st.Usable()
	assert.False(t, usable && u.Tenant == "globex", "the account the operator gave acme is now usable for globex: %+v", u)
	require.NotNil(t, st.Conflict, "the role still names globex: a conflict again, never a move")
}

// An onboarding link nobody used (another tenant's, or an operator's typo) is issued while the
// account's own token-less gateway stack waits for its proof. The proof reads a role naming no
// tenant: the account stays UNCLAIMED, never bound to the link's tenant.
func TestAnUnusedLinkNeverBindsATokenlessAccount(t *testing.T) {
	f := newFixture(t)
	// the account's owner deploys the gateway stack without a token; its proof is not made yet
	_, err := f.hook.Create(t.Context(), gwEvent(cfnresource.Create, nil))
	require.NoError(t, err)
	require.Equal(t, registry.PendingProof, f.status(t, registry.Gateway))

	// acme (another organization) gets a link for this account ID
	_, err = f.reg.StartOnboarding(t.Context(), "acme", acct, ext)
	require.NoError(t, err, "a pending proof binds nothing, so the link is issued")

	f.hook.Prove(t.Context(), acct) // the queued proof, made by the sweep later
	o := f.gateway(t, acct)
	u, ok := f.usable(t, acct)
	assert.False(t, ok && u.Tenant == "acme", "a token-less role made the account usable for acme (tenant %q)", u.Tenant)
	assert.NotEqual(t, "acme", o.Tenant, "the gateway registration is bound to the unused link's tenant")
	assert.Equal(t, registry.Unclaimed, o.Status)
}

// A refused claim naming another tenant (one message from any DoiT customer) is on record as a
// claimed conflict, and blocks nothing: the account's own tenant can still replace its link. The
// record names the latest refused request, so the customer told "the refused request is on record"
// finds theirs there.
func TestAClaimedConflictBlocksNothing(t *testing.T) {
	f := newFixture(t)
	_, err := f.reg.StartOnboarding(t.Context(), "acme", acct, ext)
	require.NoError(t, err)

	forged := gwEventFor(cfnresource.Create, acct, forgedStack, map[string]any{"TenantToken": f.token(t, "globex")})
	forged.RequestID = "req-forged-by-globex"
	_, err = f.put(t, forged)
	require.Error(t, err)
	st, err := f.reg.Account(t.Context(), acct)
	require.NoError(t, err)
	require.NotNil(t, st.Conflict)
	require.False(t, st.Conflict.Proven)

	// acme's customer lost the link: acme's operator issues a new one
	_, err = f.reg.StartOnboarding(t.Context(), "acme", acct, "ext-a-replacement-link-0000")
	assert.NoError(t, err, "one forged claim from another tenant blocks the account's own tenant from onboarding it")

	// a genuine customer of initech hits the conflict by mistake and is told its request is on record
	mistaken := gwEvent(cfnresource.Create, map[string]any{"TenantToken": f.token(t, "initech")})
	mistaken.RequestID = "req-genuine-mistake"
	_, err = f.put(t, mistaken)
	require.Error(t, err)
	require.Contains(t, err.Error(), "the refused request is on record")
	st, err = f.reg.Account(t.Context(), acct)
	require.NoError(t, err)
	require.NotNil(t, st.Conflict)
	assert.Equal(t, "req-genuine-mistake", st.Conflict.RequestID, "the reason says the request is on record, but the record is the forged one's")
}

// A forged Create's proof starts before the account's role exists and is refused at the end of its
// budget; meanwhile the genuine stack's Create lands and is proven. The stale refusal is dropped
// (older evidence never overwrites newer, and a refusal of a replaced claim is not the new claim's):
// the genuine registration stands, its key alive.
func TestAStaleRefusalNeverRejectsTheGenuineRegistration(t *testing.T) {
	f := newFixture(t)
	acme := f.token(t, "acme")
	f.hook.Prover = &staleRefusal{inner: f.prover, during: func() {
		f.prover.tag(acct, acme) // the genuine stack created its role, tagged with acme's token
		genuine := gwEvent(cfnresource.Create, map[string]any{"TenantToken": acme})
		genuine.RequestID = "req-genuine"
		_, err := f.put(t, genuine) // answered, and its proof made
		require.NoError(t, err)
		require.Equal(t, registry.Registered, f.status(t, registry.Gateway), "the genuine stack is proven")
	}}
	forged := gwEventFor(cfnresource.Create, acct, forgedStack, nil)
	forged.RequestID = "req-forged"
	_, err := f.put(t, forged) // its proof started before the role existed, and is refused at the end
	require.NoError(t, err)

	o := f.gateway(t, acct)
	assert.Equal(t, registry.Registered, o.Status, "the genuine registration was overwritten by a stale refusal")
	u, ok := f.usable(t, acct)
	assert.True(t, ok && u.Tenant == "acme", "the genuine account is not usable (status %s)", f.status(t, registry.Gateway))
	assert.Empty(t, f.keys.retired, "the genuine account's keys were retired")
}

// staleRefusal: its first proof runs during (a concurrent event and its proof), then STS's
// refusal of that first proof arrives; later proofs go to inner.
type staleRefusal struct {
	inner  RoleProver
	during func()
	once   sync.Once
}

func (p *staleRefusal) ProveRole(ctx context.Context, account, role string, budget time.Duration) (RoleEvidence, error) {
	first := false
	p.once.Do(func() { first = true })
	if !first {
		return p.inner.ProveRole(ctx, account, role, budget)
	}
	p.during()
	return RoleEvidence{}, fmt.Errorf("%w: AccessDenied", ErrRoleRefused)
}

// A forged Delete's re-check schedules checks minutes apart; the owner's token Update that follows
// is proven at once all the same (a claim that asks for the role to be read resets the schedule).
func TestAForgedDeleteNeverDefersTheOwnersTokenUpdate(t *testing.T) {
	f := newFixture(t)
	create := gwEvent(cfnresource.Create, nil)
	_, err := f.put(t, create)
	require.NoError(t, err)
	require.Equal(t, registry.Unclaimed, f.status(t, registry.Gateway))

	res, err := f.hook.Delete(t.Context(), gwEventFor(cfnresource.Delete, acct, forgedStack, nil)) // forged, by anyone
	require.NoError(t, err)
	require.NotNil(t, res.Then)
	res.Then(t.Context()) // the role is there: the next check is scheduled minutes on

	f.ownerAddsToken(t, create)
	u, ok := f.usable(t, acct)
	assert.True(t, ok && u.Tenant == "acme", "the owner's token was not read (status %s)", f.status(t, registry.Gateway))
}

// STS refuses the account's own token for a while although the stack stands (a JWKS missing from
// the issuer bucket, a customer's short-lived SCP), met by the daily re-proof at two checks minutes
// apart. With no Delete heard, refusals end a registration only after a day: this one stands, and
// is usable again once STS admits the token.
func TestAShortRefusalWithoutADeleteNeverEndsARegistration(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, registry.Registered, f.genuineClaim(t, acct, "acme").Status)
	base := time.Now()
	sweepAt := func(d time.Duration) {
		f.hook.Clock = func() time.Time { return base.Add(d) }
		require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	}
	f.prover.setRefuse(acct, true) // ten minutes of refusals, at the daily re-proof
	sweepAt(25 * time.Hour)
	sweepAt(25*time.Hour + 10*time.Minute)
	f.prover.setRefuse(acct, false) // over: the stack and its role never went away
	for _, d := range []time.Duration{26 * time.Hour, 50 * time.Hour, 74 * time.Hour} {
		sweepAt(d)
	}
	u, ok := f.usable(t, acct)
	assert.True(t, ok && u.Tenant == "acme", "the registration of a standing stack was ended for good by ten minutes of refusals (status %s)",
		f.status(t, registry.Gateway))
}

// The account leaves acme's organization: acme's gateway stack is deleted (the hook hears the
// Delete; CloudFormation deletes the role), and globex's StackSet deploys its stack minutes later,
// a new role at the same ARN, before the old registration's re-check has ended it. globex's Create
// is not refused: it is proven, the proof finds another RoleId (the role was made again), and the
// account is bound to globex. A forged Create naming globex while acme's role still stands, in an
// open re-check, changes nothing (same RoleId, the tag names acme).
func TestANewOrganizationsStackAfterTheOldOnesDeleteIsProven(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, registry.Registered, f.genuineClaim(t, acct, "acme").Status)
	globex := f.token(t, "globex")
	globexStack := "arn:aws:cloudformation:us-east-1:111122223333:stack/StackSet-globex/z"

	// forged: a Delete opens a re-check, then a Create naming globex while acme's role stands
	res, err := f.hook.Delete(t.Context(), gwEventFor(cfnresource.Delete, acct, forgedStack, nil))
	require.NoError(t, err)
	res.Then(t.Context())
	_, err = f.put(t, gwEventFor(cfnresource.Create, acct, forgedStack, map[string]any{"TenantToken": globex}))
	require.NoError(t, err, "in an open re-check, a Create naming another tenant is proven, not refused")
	u, ok := f.usable(t, acct)
	assert.True(t, ok && u.Tenant == "acme", "acme's role still stands: nothing moved (%+v)", u)
	f.sweepAt(t, 6*time.Minute) // the claim's second look (IAM is eventually consistent)
	u, ok = f.usable(t, acct)
	assert.True(t, ok && u.Tenant == "acme", "%+v", u)
	assert.Contains(t, f.logs.alerts(), alertClaimMismatch)

	// genuine, later: acme's stack is deleted, globex's StackSet makes the role again minutes later
	base := time.Now().Add(30 * time.Minute)
	f.hook.Clock = func() time.Time { return base }
	res, err = f.hook.Delete(t.Context(), gwEventFor(cfnresource.Delete, acct, "arn:aws:cloudformation:us-east-1:111122223333:stack/x/y", nil))
	require.NoError(t, err)
	res.Then(t.Context())          // 5 s later: the role is still there
	f.prover.setRefuse(acct, true) // CloudFormation deleted it
	f.hook.Clock = func() time.Time { return base.Add(3 * time.Minute) }
	require.NoError(t, f.hook.Sweep(t.Context(), io.Discard)) // a sweep every few minutes
	f.prover.remake(acct, globex)                             // globex's stack: a new role at the same ARN
	f.hook.Clock = func() time.Time { return base.Add(4 * time.Minute) }
	_, err = f.put(t, gwEventFor(cfnresource.Create, acct, globexStack, map[string]any{"TenantToken": globex}))
	require.NoError(t, err, "the new organization's stack is not FAILED because of the deleted stack's registration")
	u, ok = f.usable(t, acct)
	assert.True(t, ok && u.Tenant == "globex", "proven: the role was made again, tagged with globex's token (%+v)", u)
	st, err := f.reg.Account(t.Context(), acct)
	require.NoError(t, err)
	assert.Nil(t, st.Conflict, "a role made again is a new stack's, not a conflict")
}

// sharedClock is one clock for the hook and the registry (whose pace windows follow it).
type sharedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *sharedClock) get() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *sharedClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// STS refuses the account's own token for a while although the stack and its role stand (a JWKS
// STS cannot fetch, a customer's short-lived policy), and anyone publishes a Delete meanwhile: the
// re-check's two refusals end the registration. Its binding and its keys are kept for
// registry.RestoreWindow, and the daily re-proof that finds the same role (RoleId) admitting the
// token again restores it.
func TestARegistrationEndedByRefusalsIsRestoredWhenItsRoleAdmitsAgain(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, registry.Registered, f.genuineClaim(t, acct, "acme").Status)
	base := time.Now()

	f.prover.setRefuse(acct, true)                                                                 // the role stands; STS refuses the account's token for a while
	res, err := f.hook.Delete(t.Context(), gwEventFor(cfnresource.Delete, acct, forgedStack, nil)) // anyone
	require.NoError(t, err)
	require.NotNil(t, res.Then)
	res.Then(t.Context())
	for _, at := range []time.Duration{10 * time.Minute, 20 * time.Minute} { // the sweep, every few minutes
		f.hook.Clock = func() time.Time { return base.Add(at) }
		require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	}
	f.prover.setRefuse(acct, false) // twenty minutes later STS admits the token again
	for _, at := range []time.Duration{30 * time.Minute, 2 * time.Hour, 26 * time.Hour} {
		f.hook.Clock = func() time.Time { return base.Add(at) }
		require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	}

	u, ok := f.usable(t, acct)
	assert.True(t, ok && u.Tenant == "acme", "a forged Delete and twenty minutes of refusals ended the registration of a standing stack (status %s)",
		f.status(t, registry.Gateway))
	assert.Empty(t, f.keys.retired, "the standing account's signing keys were retired")
}

// A genuine Delete's re-check waits more than an hour for the pace (forged token-less claims spend
// it as every window opens). The Delete stays heard: the refusals end the registration minutes apart
// once its checks are made, and the next organization's Create, meanwhile, is proven, not refused.
func TestAHeardDeleteStaysHeardWhileItsChecksWaitForThePace(t *testing.T) {
	f := newFixture(t)
	clock := &sharedClock{now: time.Now().Truncate(time.Hour).Add(time.Hour + time.Minute)}
	f.hook.Clock, f.reg.Now = clock.get, clock.get
	require.Equal(t, registry.Registered, f.genuineClaim(t, acct, "acme").Status) // acme's lane
	base := clock.get()

	f.hook.UnprovenPerHour = 3
	flood := func() { // forged token-less claims spend the window's pace as it opens
		for {
			ok, _, err := f.hook.Registry.Take(t.Context(), unprovenBudget, f.hook.UnprovenPerHour, time.Hour)
			require.NoError(t, err)
			if !ok {
				return
			}
		}
	}
	flood()
	res, err := f.hook.Delete(t.Context(), gwEventFor(cfnresource.Delete, acct, "arn:aws:cloudformation:us-east-1:111122223333:stack/acme-gw/x", nil))
	require.NoError(t, err)
	f.prover.setRefuse(acct, true) // CloudFormation deletes the role
	res.Then(t.Context())          // queued
	require.Equal(t, registry.Registered, f.status(t, registry.Gateway))

	clock.set(base.Add(59*time.Minute + 30*time.Second)) // the next window: the flood again
	flood()
	require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	clock.set(base.Add(2*time.Hour - 30*time.Second)) // the flood leaves room at last
	require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	clock.set(base.Add(2*time.Hour + 10*time.Minute))
	require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	t.Logf("after the first checks: status %s, reason %q", f.gateway(t, acct).Status, f.gateway(t, acct).Proof.Reason)

	// globex's StackSet: a new role at the same ARN, tagged with globex's token, and its Create
	globex := f.token(t, "globex")
	f.prover.remake(acct, globex)
	clock.set(base.Add(2*time.Hour + 12*time.Minute))
	_, err = f.put(t, gwEventFor(cfnresource.Create, acct, "arn:aws:cloudformation:us-east-1:111122223333:stack/StackSet-globex/z",
		map[string]any{"TenantToken": globex}))
	assert.NoError(t, err, "the next organization's stack is FAILED because the deleted stack's registration outlived the re-check's hour")

	f.prover.setRefuse(acct, true) // globex's stack rolled back: its role is gone too
	clock.set(base.Add(3*time.Hour + 15*time.Minute))
	require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	st, err := f.reg.Account(t.Context(), acct)
	require.NoError(t, err)
	u, _, usable := st.Usable()
	assert.False(t, usable && u.Tenant == "acme", "three hours after acme's stack and role were deleted the account is still usable for acme (%s)",
		st.Gateway.Proof.Reason)
}

// The owner of an unclaimed registration adds its token while forged token-less claims spend the
// token-less lane: its claim (another token than the role was proven with) is paced in its tenant's
// lane, and proven at once.
func TestATenantsTokenUpdateIsPacedInItsOwnLane(t *testing.T) {
	f := newFixture(t)
	f.hook.UnprovenPerHour = 2
	create := gwEvent(cfnresource.Create, nil) // the customer's stack, no token yet
	_, err := f.put(t, create)
	require.NoError(t, err)
	require.Equal(t, registry.Unclaimed, f.status(t, registry.Gateway))
	// a forged token-less Create for a made-up account spends the rest of the hour's token-less pace
	_, err = f.put(t, gwEventFor(cfnresource.Create, "280000000001", "arn:aws:cloudformation:us-east-1:280000000001:stack/x/y", nil))
	require.NoError(t, err)

	f.ownerAddsToken(t, create)
	u, ok := f.usable(t, acct)
	assert.True(t, ok && u.Tenant == "acme", "acme's token update waits behind forged token-less claims (status %s, %q)",
		f.status(t, registry.Gateway), f.gateway(t, acct).Proof.Reason)
}

// The deployment serves two partitions. A claim for the same account ID whose StackId, RoleArn and
// ProviderArns are all in the other partition passes every shape check, but an account ID lives in
// one partition: it is refused, and the registration is untouched.
func TestAnotherPartitionsClaimIsRefused(t *testing.T) {
	f := newFixture(t)
	f.hook.Partitions = []string{"aws", "aws-us-gov"}
	f.hook.Regions = []string{"us-east-1", "us-gov-west-1"}
	f.hook.Prover = &partitionProver{RoleProver: f.prover} // STS in aws cannot assume a role in aws-us-gov
	require.Equal(t, registry.Registered, f.genuineClaim(t, acct, "acme").Status)
	acme := f.prover.tags[acct] // read off the role's tag by anyone with IAM read in the account

	gov := policy.Target{Partition: "aws-us-gov", AccountID: acct}
	var providers []any
	for _, p := range f.hook.Vendor.ProviderARNs(gov) {
		providers = append(providers, p)
	}
	forged := gwEventFor(cfnresource.Update, acct, "arn:aws-us-gov:cloudformation:us-gov-west-1:111122223333:stack/forged/ffff",
		map[string]any{"TenantToken": acme, "RoleArn": f.hook.Vendor.GatewayRoleARN(gov), "ProviderArns": providers})
	forged.RequestID = "req-forged-gov"
	_, err := f.put(t, forged)
	require.ErrorContains(t, err, "registered with DoiT in another AWS partition")
	u, ok := f.usable(t, acct)
	assert.True(t, ok && u.Tenant == "acme", "the genuine registration ended (status %s)", f.status(t, registry.Gateway))
	assert.Empty(t, f.keys.retired, "the live account's keys were retired")
}

// partitionProver refuses roles outside the vendor's partition, as STS there does.
type partitionProver struct{ RoleProver }

func (p *partitionProver) ProveRole(ctx context.Context, account, role string, budget time.Duration) (RoleEvidence, error) {
	if !strings.HasPrefix(role, "arn:aws:") {
		return RoleEvidence{}, fmt.Errorf("%w: AccessDenied", ErrRoleRefused)
	}
	return p.RoleProver.ProveRole(ctx, account, role, budget)
}

// The operator resolves a proven conflict for the tenant the account was bound to: the role is read
// again at once (not a day later), and still naming the other tenant, it is a conflict again.
func TestResolvingForTheBoundTenantReadsTheRoleAgain(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, registry.Registered, f.genuineClaim(t, acct, "acme").Status)
	f.prover.tag(acct, f.token(t, "globex")) // re-tagged
	base := time.Now()
	for _, at := range []time.Duration{25 * time.Hour, 25*time.Hour + 10*time.Minute} { // the daily re-proof, and its second look
		f.hook.Clock = func() time.Time { return base.Add(at) }
		require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	}
	st, err := f.reg.Account(t.Context(), acct)
	require.NoError(t, err)
	require.NotNil(t, st.Conflict)
	require.True(t, st.Conflict.Proven)

	require.NoError(t, ResolveConflict(t.Context(), f.reg, acct, "acme"))
	proofs := f.prover.proofs()
	for _, at := range []time.Duration{25*time.Hour + 20*time.Minute, 26 * time.Hour, 30 * time.Hour} {
		f.hook.Clock = func() time.Time { return base.Add(at) }
		require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	}
	assert.Greater(t, f.prover.proofs(), proofs, "resolve-conflict asked for no proof: the role is not read again for a day")
	st, err = f.reg.Account(t.Context(), acct)
	require.NoError(t, err)
	assert.NotNil(t, st.Conflict, "the role still names globex: a conflict again (README), not a day of access for acme")
}

// IAM is eventually consistent: the proof of the owner's token Update reads the role's tags as they
// were a second before. A reading that disagrees with the claim that asked for it is looked at again
// minutes later before it settles, so the owner's update lands.
func TestAStaleReadOfTheRoleIsLookedAtAgain(t *testing.T) {
	f := newFixture(t)
	stale := &staleTagProver{fakeProver: f.prover}
	f.hook.Prover = stale
	create := gwEvent(cfnresource.Create, nil)
	_, err := f.put(t, create)
	require.NoError(t, err)
	require.Equal(t, registry.Unclaimed, f.status(t, registry.Gateway))

	acme := f.token(t, "acme")
	stale.tagLagging(acct, acme) // TagRole done; the next read still sees the old tags
	up := gwEvent(cfnresource.Update, map[string]any{"TenantToken": acme})
	up.RequestID, up.OldResourceProperties = "req-add-token", create.ResourceProperties
	_, err = f.put(t, up)
	require.NoError(t, err)

	base := time.Now()
	for _, at := range []time.Duration{5 * time.Minute, 15 * time.Minute, time.Hour} {
		f.hook.Clock = func() time.Time { return base.Add(at) }
		require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	}
	u, ok := f.usable(t, acct)
	assert.True(t, ok && u.Tenant == "acme", "an hour after the owner's token update the account is still %s", f.status(t, registry.Gateway))
}

// staleTagProver returns, for its next read of an account, the tag the role had before the last
// change (IAM's eventual consistency).
type staleTagProver struct {
	*fakeProver
	mu  sync.Mutex
	lag map[string]string // account → the tag one read still returns
}

func (p *staleTagProver) tagLagging(account, token string) {
	p.mu.Lock()
	if p.lag == nil {
		p.lag = map[string]string{}
	}
	p.fakeProver.mu.Lock()
	p.lag[account] = p.fakeProver.tags[account]
	p.fakeProver.mu.Unlock()
	p.mu.Unlock()
	p.fakeProver.tag(account, token)
}

func (p *staleTagProver) ProveRole(ctx context.Context, account, role string, budget time.Duration) (RoleEvidence, error) {
	ev, err := p.fakeProver.ProveRole(ctx, account, role, budget)
	p.mu.Lock()
	defer p.mu.Unlock()
	if old, ok := p.lag[account]; ok && err == nil {
		delete(p.lag, account)
		ev.TokenHash = ""
		if old != "" {
			ev.TokenHash = registry.TokenHash(old)
		}
	}
	return ev, err
}

// During a vendor-side fault (STS refuses the account's token while acme's stack stands), a forged
// Delete's re-check ends the registration, restorable. A forged token-less Create during the fault
// never replaces the restorable record: it asks for a proof against it, whose refusal leaves it
// restorable (keys kept), and once the fault is over it is restored.
func TestAForgedClaimDuringAFaultKeepsTheRegistrationRestorable(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, registry.Registered, f.genuineClaim(t, acct, "acme").Status)
	base := time.Now()
	at := func(d time.Duration) { f.hook.Clock = func() time.Time { return base.Add(d) } }

	f.prover.setRefuse(acct, true) // the fault: STS refuses the account's token; the role stands
	res, err := f.hook.Delete(t.Context(), gwEventFor(cfnresource.Delete, acct, forgedStack, nil))
	require.NoError(t, err)
	require.NotNil(t, res.Then)
	res.Then(t.Context())
	for _, d := range []time.Duration{10 * time.Minute, 20 * time.Minute} {
		at(d)
		require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	}
	o := f.gateway(t, acct)
	require.Equal(t, registry.Deregistered, o.Status)
	require.True(t, o.Restorable(base.Add(21*time.Minute)), "ended by refusals: restorable")
	require.Empty(t, f.keys.retired, "kept while restorable")

	// the attacker, while the fault lasts: one token-less Create, any StackId in the account
	at(22 * time.Minute)
	forged := gwEventFor(cfnresource.Create, acct, forgedStack, nil)
	forged.RequestID = "req-forged-create"
	_, err = f.put(t, forged)
	require.NoError(t, err)
	after := f.gateway(t, acct)
	t.Logf("after the forged Create: status %s, restorable %v, reason %q", after.Status, after.Restorable(base.Add(22*time.Minute)), after.Proof.Reason)

	f.prover.setRefuse(acct, false) // the fault is over: the same role admits the token again
	for _, d := range []time.Duration{30 * time.Minute, 2 * time.Hour, 26 * time.Hour, 50 * time.Hour} {
		at(d)
		require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	}
	u, ok := f.usable(t, acct)
	assert.True(t, ok && u.Tenant == "acme", "a forged Create during the fault made the restorable registration of a standing stack final (status %s)",
		f.status(t, registry.Gateway))
	assert.NotContains(t, f.keys.retired, acct, "the standing account's signing keys were retired")
}

// A tenant's token update whose first reading is stale (IAM's eventual consistency) gets its second
// look in the tenant's lane, not behind a flood of token-less claims.
func TestATenantClaimsSecondLookStaysInItsTenantsLane(t *testing.T) {
	f := newFixture(t)
	clock := &sharedClock{now: time.Now().Truncate(time.Hour).Add(time.Hour + time.Minute)}
	f.hook.Clock, f.reg.Now = clock.get, clock.get
	base := clock.get()
	f.hook.UnprovenPerHour = 2
	stale := &staleTagProver{fakeProver: f.prover}
	f.hook.Prover = stale
	flood := func() { // forged token-less claims spend the window's pace as it opens
		for {
			ok, _, err := f.hook.Registry.Take(t.Context(), unprovenBudget, f.hook.UnprovenPerHour, time.Hour)
			require.NoError(t, err)
			if !ok {
				return
			}
		}
	}

	flood()
	create := gwEvent(cfnresource.Create, nil)
	_, err := f.put(t, create)
	require.NoError(t, err)
	require.Equal(t, registry.PendingProof, f.status(t, registry.Gateway), "queued")

	acme := f.token(t, "acme")
	stale.tagLagging(acct, acme) // the stack update tagged the role; the next read still sees no tag
	up := gwEvent(cfnresource.Update, map[string]any{"TenantToken": acme})
	up.RequestID, up.OldResourceProperties = "req-add-token", create.ResourceProperties
	_, err = f.put(t, up)
	require.NoError(t, err)
	o := f.gateway(t, acct)
	t.Logf("after the first look: status %s, due %v, tenant-asked %v, reason %q", o.Status, o.ProofDue, o.TenantAsked, o.Proof.Reason)

	for i := 1; i <= 18; i++ { // three hours of a sweep every ten minutes; the flood at each
		clock.set(base.Add(time.Duration(i) * 10 * time.Minute))
		flood()
		require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	}
	u, ok := f.usable(t, acct)
	assert.True(t, ok && u.Tenant == "acme", "three hours after acme's token update the account is %s (%q): its second look waits behind token-less claims",
		f.status(t, registry.Gateway), f.gateway(t, acct).Proof.Reason)
}

// A token read off a role tag, sent again and again for an account whose role names no tenant:
// a claim naming the tenant whose disagreement awaits its second look does not wipe it, so the
// disagreements count against TENANT_REJECTIONS_PER_DAY and are alerted (claim_mismatch).
func TestRepeatedContradictedClaimsCount(t *testing.T) {
	f := newFixture(t)
	f.hook.TenantRejectionsPerDay = 2
	_, err := f.put(t, gwEvent(cfnresource.Create, nil)) // a stack without a token: unclaimed
	require.NoError(t, err)
	require.Equal(t, registry.Unclaimed, f.status(t, registry.Gateway))

	acme := f.token(t, "acme") // read off one of acme's role tags
	base := time.Now()
	proofs := f.prover.proofs()
	for i := range 10 {
		now := base.Add(time.Duration(i) * 4 * time.Minute)
		f.hook.Clock = func() time.Time { return now }
		e := gwEventFor(cfnresource.Update, acct, forgedStack, map[string]any{"TenantToken": acme})
		e.RequestID = fmt.Sprintf("req-forged-%d", i)
		_, err := f.put(t, e)
		require.NoError(t, err)
		require.NoError(t, f.hook.Sweep(t.Context(), io.Discard)) // the sweep runs between them
	}
	made := f.prover.proofs() - proofs
	spent, err := f.hook.Registry.Exhausted(t.Context(), rejectionsBudget("acme"), f.hook.TenantRejectionsPerDay, 24*time.Hour)
	require.NoError(t, err)
	t.Logf("%d proofs in acme's lane, each disagreeing with its claim; rejections spent: %v; alerts %v", made, spent, f.logs.alerts())
	assert.Equal(t, registry.Unclaimed, f.status(t, registry.Gateway), "nothing moved (as it should)")
	assert.True(t, spent, "%d disagreeing proofs in acme's lane, none counted against TENANT_REJECTIONS_PER_DAY", made)
	assert.Contains(t, f.logs.alerts(), alertClaimMismatch, "no alert for a token read off a tag and used %d times", made)
}

// A proven conflict's registration is ended by refusals (restorable, still bound to acme), and the
// operator resolves the conflict for globex: the decision binds the restorable record too, so the
// restore never brings back acme's binding.
func TestARestoreNeverUndoesTheOperatorsDecision(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, registry.Registered, f.genuineClaim(t, acct, "acme").Status)
	f.prover.tag(acct, f.token(t, "globex")) // the account's role now names globex
	base := time.Now()
	at := func(d time.Duration) { f.hook.Clock = func() time.Time { return base.Add(d) } }

	res, err := f.hook.Delete(t.Context(), gwEventFor(cfnresource.Delete, acct, forgedStack, nil)) // anyone
	require.NoError(t, err)
	res.Then(t.Context()) // a first sighting
	at(10 * time.Minute)
	require.NoError(t, f.hook.Sweep(t.Context(), io.Discard)) // the second: proven
	st, err := f.reg.Account(t.Context(), acct)
	require.NoError(t, err)
	require.NotNil(t, st.Conflict)
	require.True(t, st.Conflict.Proven)

	f.prover.setRefuse(acct, true) // a vendor-side fault meets the open re-check
	for _, d := range []time.Duration{20 * time.Minute, 30 * time.Minute, 40 * time.Minute} {
		at(d)
		require.NoError(t, f.hook.Sweep(t.Context(), io.Discard))
	}
	o := f.gateway(t, acct)
	require.Equal(t, registry.Deregistered, o.Status)
	require.True(t, o.Restorable(base.Add(41*time.Minute)))

	at(3 * time.Hour)
	require.NoError(t, ResolveConflict(t.Context(), f.reg, acct, "globex")) // the operator: the account is globex's
	f.prover.setRefuse(acct, false)                                         // the fault is over
	at(26 * time.Hour)
	require.NoError(t, f.hook.Sweep(t.Context(), io.Discard)) // the daily re-proof
	u, ok := f.usable(t, acct)
	t.Logf("after the daily re-proof: status %s, tenant %q, usable %v for %q", f.status(t, registry.Gateway), f.gateway(t, acct).Tenant, ok, u.Tenant)
	assert.False(t, ok && u.Tenant == "acme", "the operator gave the account to globex; the restore made it usable for acme")
}

// acme deletes its gateway stack (the registration ends, restorable) and redeploys it days later
// with the same token: a new role (another RoleId). The new stack's Create is proven at once, not at
// the next daily re-proof, and binds the account to acme again.
func TestARedeployAfterTheRegistrationEndedIsProvenAtOnce(t *testing.T) {
	f := newFixture(t)
	acme := f.token(t, "acme")
	f.prover.tag(acct, acme)
	_, err := f.put(t, gwEvent(cfnresource.Create, map[string]any{"TenantToken": acme, "DiagnosticTool": "false"}))
	require.NoError(t, err)
	res, err := f.hook.Delete(t.Context(), gwEvent(cfnresource.Delete, map[string]any{"TenantToken": acme, "DiagnosticTool": "false"}))
	require.NoError(t, err)
	res.Then(t.Context())
	f.prover.setRefuse(acct, true) // CloudFormation deleted the role
	f.sweepAt(t, 10*time.Minute)
	f.sweepAt(t, 20*time.Minute)
	ended := f.gateway(t, acct)
	require.True(t, ended.Restorable(time.Now().Add(20*time.Minute)), "ended, restorable")

	f.prover.remake(acct, acme) // the redeployed stack's role
	base := time.Now().Add(2 * 24 * time.Hour)
	f.hook.Clock = func() time.Time { return base }
	_, err = f.put(t, gwEvent(cfnresource.Create, map[string]any{"TenantToken": acme, "DiagnosticTool": "false"}))
	require.NoError(t, err)
	u, ok := f.usable(t, acct)
	assert.True(t, ok && u.Tenant == "acme", "the redeployed stack is proven at once (%s)", f.status(t, registry.Gateway))
}

// A tenant revokes the token its StackSet carries (the console's organization page): the accounts
// it registered stay registered, and their stacks' Updates, and the rollbacks of those, still
// succeed (a failed rollback is UPDATE_ROLLBACK_FAILED); a new stack with it is refused, saying
// why.
func TestARevokedTokenNeverWedgesTheStacksItRegistered(t *testing.T) {
	f := newFixture(t)
	create := gwEvent(cfnresource.Create, nil)
	_, err := f.put(t, create)
	require.NoError(t, err)
	up := f.ownerAddsToken(t, create)
	require.Equal(t, registry.Registered, f.status(t, registry.Gateway))
	tokens, err := f.reg.TenantTokens(t.Context(), "acme")
	require.NoError(t, err)
	require.Len(t, tokens, 1)
	_, err = f.reg.RevokeTenantToken(t.Context(), "acme", tokens[0].ID, "tenant:acme/bob@acme.example")
	require.NoError(t, err)

	// an update of the stack (an option flipped), and its rollback
	flip := gwEvent(cfnresource.Update, map[string]any{"TenantToken": up.ResourceProperties["TenantToken"], "Runbooks": "true"})
	flip.RequestID, flip.OldResourceProperties = "req-flip", up.ResourceProperties
	_, err = f.put(t, flip)
	require.NoError(t, err, "an Update of a stack the revoked token registered")
	back := gwEvent(cfnresource.Update, nil)
	back.RequestID, back.ResourceProperties, back.OldResourceProperties = "req-flip-back", up.ResourceProperties, flip.ResourceProperties
	_, err = f.put(t, back)
	require.NoError(t, err, "its rollback")
	o := f.gateway(t, acct)
	assert.Equal(t, registry.Registered, o.Status)
	assert.Equal(t, "acme", o.Tenant, "the registration stands")

	// a new account's stack with the revoked token
	const next = "240000000020"
	_, err = f.put(t, gwEventFor(cfnresource.Create, next, "arn:aws:cloudformation:us-east-1:"+next+":stack/x/y",
		map[string]any{"TenantToken": up.ResourceProperties["TenantToken"]}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "or it was revoked")
	_, found, err := f.reg.Get(t.Context(), next, registry.Gateway)
	require.NoError(t, err)
	assert.False(t, found, "nothing recorded")
}
