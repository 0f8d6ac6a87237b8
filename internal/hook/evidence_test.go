package hook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// These tests come from an adversarial review of the first version of the gateway rules, where a
// claim's own token bound the account: each is one attack, now asserting the right behaviour.

const forgedStack = "arn:aws:cloudformation:us-east-1:111122223333:stack/forged/ffff"

func (f *fixture) usable(t *testing.T, account string) (registry.Onboarding, bool) {
	t.Helper()
	st, err := f.reg.Account(t.Context(), account)
	require.NoError(t, err)
	o, _, ok := st.Usable()
	return o, ok
}

// An unclaimed account (its stack has no TenantToken) cannot be claimed by another tenant with its
// own valid token: the proof reads the account's role, whose tag names no tenant.
func TestATenantCannotClaimAnUnclaimedAccount(t *testing.T) {
	f := newFixture(t)
	_, err := f.put(t, gwEvent(cfnresource.Create, nil))
	require.NoError(t, err)
	require.Equal(t, registry.Unclaimed, f.status(t, registry.Gateway))

	globex := f.token(t, "globex")
	_, err = f.put(t, gwEventFor(cfnresource.Create, acct, forgedStack, map[string]any{"TenantToken": globex, "Runbooks": "true"}))
	require.NoError(t, err, "a claim: answered, then proven")
	o := f.gateway(t, acct)
	assert.Equal(t, registry.Unclaimed, o.Status)
	assert.Empty(t, o.Tenant)
	_, ok := f.usable(t, acct)
	assert.False(t, ok)
	f.sweepAt(t, 6*time.Minute) // the claim's second look (IAM is eventually consistent)
	assert.Empty(t, f.gateway(t, acct).Tenant)
	assert.Contains(t, f.logs.alerts(), alertClaimMismatch, "counted once the second look agrees")
	f.hook.Clock = nil

	// the same with the owner's own StackId, in an Update: the StackId is no credential
	_, err = f.put(t, gwEvent(cfnresource.Update, map[string]any{"TenantToken": globex}))
	require.NoError(t, err)
	assert.Empty(t, f.gateway(t, acct).Tenant)
	_, ok = f.usable(t, acct)
	assert.False(t, ok)
}

// The customer adds its organization's token with a stack Update (CloudFormation sets the role's tag
// first, then notifies the hook): proven, bound. A later failure in that stack update rolls it back
// with the old properties (no token): the rollback never fails.
func TestTheOwnerBindsItsAccountAndItsRollbackNeverFails(t *testing.T) {
	f := newFixture(t)
	_, err := f.put(t, gwEvent(cfnresource.Create, nil))
	require.NoError(t, err)
	acme := f.token(t, "acme")
	f.prover.tag(acct, acme)
	up := gwEvent(cfnresource.Update, map[string]any{"TenantToken": acme})
	up.OldResourceProperties = gwEvent(cfnresource.Create, nil).ResourceProperties
	_, err = f.put(t, up)
	require.NoError(t, err)
	o, ok := f.usable(t, acct)
	require.True(t, ok)
	assert.Equal(t, "acme", o.Tenant)

	back := gwEvent(cfnresource.Update, nil)
	back.ResourceProperties, back.OldResourceProperties = up.OldResourceProperties, up.ResourceProperties
	back.RequestID = "req-rollback"
	_, err = f.put(t, back)
	require.NoError(t, err, "a rollback to what the resource held never fails")
	assert.Equal(t, registry.Registered, f.status(t, registry.Gateway), "the role decides the binding, not the event")
}

// A claim waiting for its proof binds no tenant: it blocks neither the onboarding link of the real
// owner nor its stack, and leaves no conflict behind.
func TestAnUnprovenClaimBlocksNoOne(t *testing.T) {
	f := newFixture(t)
	globex := f.token(t, "globex")
	res, err := f.hook.Create(t.Context(), gwEventFor(cfnresource.Create, acct, forgedStack, map[string]any{"TenantToken": globex}))
	require.NoError(t, err)
	_ = res // its follow-up never runs (an answer it made undeliverable)

	_, err = f.reg.StartOnboarding(t.Context(), "acme", acct, "ext-acme-link-0000000")
	require.NoError(t, err, "acme's link is issued")
	acme := f.token(t, "acme")
	f.prover.tag(acct, acme)
	_, err = f.put(t, gwEvent(cfnresource.Create, map[string]any{"TenantToken": acme}))
	require.NoError(t, err, "acme's genuine stack succeeds")
	o, ok := f.usable(t, acct)
	require.True(t, ok)
	assert.Equal(t, "acme", o.Tenant)
	st, err := f.reg.Account(t.Context(), acct)
	require.NoError(t, err)
	assert.Nil(t, st.Conflict)
}

// Every Delete restarts the re-check's window: a forged Delete long ago cannot make the genuine
// Delete's re-check end early and leave the registration of a deleted stack behind.
func TestEveryDeleteRestartsTheRecheck(t *testing.T) {
	f := newFixture(t)
	_, err := f.put(t, gwEvent(cfnresource.Create, nil))
	require.NoError(t, err)
	_, err = f.hook.Delete(t.Context(), gwEventFor(cfnresource.Delete, acct, forgedStack, nil)) // forged; its check never ran
	require.NoError(t, err)

	later := time.Now().Add(2 * time.Hour)
	f.hook.Clock = func() time.Time { return later }
	res, err := f.hook.Delete(t.Context(), gwEvent(cfnresource.Delete, nil)) // the customer deletes the stack
	require.NoError(t, err)
	res.Then(t.Context()) // the role is still there for a moment
	assert.True(t, f.gateway(t, acct).ProofDue, "the re-check goes on")
	f.prover.setRefuse(acct, true) // CloudFormation deletes the role
	var out strings.Builder
	for _, at := range []time.Duration{10 * time.Minute, 20 * time.Minute} { // two refusals, minutes apart
		f.hook.Clock = func() time.Time { return later.Add(at) }
		require.NoError(t, f.hook.Sweep(t.Context(), &out))
	}
	assert.Equal(t, registry.Deregistered, f.status(t, registry.Gateway))
	_, err = f.reg.StartOnboarding(t.Context(), "tenant-1", acct, "ext-new-link-000000000")
	assert.NoError(t, err, "the account can be onboarded again")
}

// A claim never proven keeps no key alive: once the account's registrations end, its keys are
// retired even if a forged claim is still waiting for its proof.
func TestAPendingClaimKeepsNoKeyAlive(t *testing.T) {
	f := newFixture(t)
	_, err := f.hook.Create(t.Context(), gwEventFor(cfnresource.Create, acct, forgedStack, nil)) // planted, never proven
	require.NoError(t, err)
	f.created(t)
	_, err = f.hook.Delete(t.Context(), mgmtDelete(stackA, nil))
	require.NoError(t, err)
	assert.Equal(t, []string{acct}, f.keys.retired)
}

// A seed-000 stack upgraded to this template makes the registration: if that Update fails after the
// vendor made the support role, the failure removes it, as a failed Create's does (the rollback asks
// for nothing, and the stack's Delete names a physical ID the hook never gave).
func TestAFailedSeedUpgradeLeavesNothingBehind(t *testing.T) {
	f := newFixture(t)
	f.pending(t)
	f.keys.failCreate = true
	const logStream = "2024/03/14/[$LATEST]6f1c0e7a9b2d4c3e8f5a6b7c8d9e0f1a"
	upgrade := mgmtEvent(cfnresource.Update, stackA, nil)
	upgrade.PhysicalResourceID = logStream
	_, err := f.hook.Update(t.Context(), upgrade)
	require.Error(t, err)
	supportRole := policy.DefaultVendor().SupportRoleARN(policy.Target{Partition: "aws", AccountID: acct})
	assert.False(t, f.prov.has(supportRole), "what the failed upgrade made is gone")
	require.Len(t, f.prov.removed, 1)
}

// A copy of a management Create whose rollback lands while the copy is converging the account can
// never register: the registration's write checks the rollback in the same transaction, and the
// copy undoes what it made.
func TestACreateCopyRacingItsRollbackNeverRegisters(t *testing.T) {
	f := newFixture(t)
	f.pending(t)
	create := mgmtEvent(cfnresource.Create, stackA, nil)
	create.RequestID = "req-raced"
	marker := cfnresource.FailedCreateID(create)
	f.hook.Provisioner = &hookedProvisioner{Provisioner: f.prov, after: func() {
		rollback := mgmtDelete(stackA, nil)
		rollback.PhysicalResourceID = marker
		f.hook.DeleteFailedCreate(t.Context(), rollback) // CloudFormation's rollback, meanwhile
	}}
	_, err := f.hook.Create(t.Context(), create)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already rolled this request back")
	assert.Equal(t, registry.Pending, f.status(t, registry.Management), "never registered")
	assert.Len(t, f.prov.removed, 1, "what the copy made is undone")
}

// hookedProvisioner runs after once its Apply is done.
type hookedProvisioner struct {
	Provisioner
	after func()
}

func (p *hookedProvisioner) Apply(ctx context.Context, acct ManagedAccount, own func(context.Context, []string) error) (map[string]string, []string, error) {
	out, created, err := p.Provisioner.Apply(ctx, acct, own)
	p.after()
	return out, created, err
}

// A proof's outcome is recorded only on the record it proved: an Update that lands meanwhile asks for
// its own proof, and its outcome stands.
func TestAProofOfAnOlderClaimIsNotRecorded(t *testing.T) {
	f := newFixture(t)
	acme := f.token(t, "acme")
	var updateThen func(context.Context)
	f.hook.Prover = &interleavingProver{RoleProver: f.prover, during: func() {
		f.prover.tag(acct, acme) // the customer's stack update sets the role's tag, then notifies the hook
		up := gwEvent(cfnresource.Update, map[string]any{"TenantToken": acme})
		up.RequestID = "req-token-update"
		res, err := f.hook.Update(t.Context(), up)
		require.NoError(t, err)
		updateThen = res.Then
	}}
	_, err := f.put(t, gwEvent(cfnresource.Create, nil)) // its proof runs; the Update lands meanwhile
	require.NoError(t, err)
	require.NotNil(t, updateThen)
	updateThen(t.Context())
	o, ok := f.usable(t, acct)
	require.True(t, ok, "the owner's token update ended usable")
	assert.Equal(t, "acme", o.Tenant)
}

// interleavingProver runs during before the first proof, as a concurrent event would.
type interleavingProver struct {
	RoleProver
	during func()
	once   sync.Once
}

func (p *interleavingProver) ProveRole(ctx context.Context, account, role string, budget time.Duration) (RoleEvidence, error) {
	p.once.Do(p.during)
	return p.RoleProver.ProveRole(ctx, account, role, budget)
}

// What an earlier registration left behind is not the vendor's any more once a new link is issued:
// the customer may have deleted it and deployed the support-gateway stack, whose providers stand at
// the same ARNs. A management Create that finds them refuses, with a reason that says what to do.
func TestLeftoversOfAnEarlierRegistrationAreNotAdopted(t *testing.T) {
	f := newFixture(t)
	f.created(t)
	v := policy.DefaultVendor()
	target := policy.Target{Partition: "aws", AccountID: acct}
	f.prov.RoleCheck.STS.(*fakeSTS).deniedFirst = 1 << 30 // the management role is gone at Delete
	f.prov.RoleCheck.Budget = 10 * time.Millisecond
	f.hook.Provisioner = &leftoverProvisioner{owningProvisioner: f.prov}
	_, err := f.hook.Delete(t.Context(), mgmtDelete(stackA, nil))
	require.NoError(t, err)
	require.NotEmpty(t, f.record(t, registry.Management).Leftovers)

	f.sts.deniedFirst = 0
	_, err = f.reg.StartOnboarding(t.Context(), "tenant-1", acct, ext)
	require.NoError(t, err)
	assert.Empty(t, f.record(t, registry.Management).Owned, "no longer the vendor's")
	_, err = f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackB, nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "from an earlier registration are still in this account")
	for _, arn := range v.ProviderARNs(target) {
		assert.True(t, f.prov.has(arn), "not deleted")
	}
}

// leftoverProvisioner cannot remove anything: the management role is gone.
type leftoverProvisioner struct{ *owningProvisioner }

func (p *leftoverProvisioner) Remove(_ context.Context, acct ManagedAccount) error {
	return &LeftoversError{Leftovers: acct.Owned, Err: ErrRoleGone}
}

// The proof's own parts: a refusal is "for good" only when the whole budget ran; the role's tag is
// read in the proof's session, and only from the role's tag.
func TestWebIdentityProver(t *testing.T) {
	keys := &keysFake{}
	mint := &fakeMinter{keys: keys}
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "Not authorized to perform sts:AssumeRoleWithWebIdentity"}
	newProver := func(s *fakeWebSTS, tags []iamtypes.Tag) (*WebIdentityProver, *fakeRoleReader) {
		reader := &fakeRoleReader{tags: tags}
		return &WebIdentityProver{Vendor: policy.DefaultVendor(), Issuer: mint, STS: s,
			IAM:     func(aws.CredentialsProvider) RoleReader { return reader },
			Backoff: awsx.Backoff{First: time.Millisecond, Max: 5 * time.Millisecond}}, reader
	}
	const role = "arn:aws:iam::111122223333:role/DoiT-Support-Gateway"

	t.Run("refused for the whole budget", func(t *testing.T) {
		p, _ := newProver(&fakeWebSTS{err: denied}, nil)
		_, err := p.ProveRole(t.Context(), acct, role, 50*time.Millisecond)
		assert.ErrorIs(t, err, ErrRoleRefused)
	})
	t.Run("refused, then the budget runs out during an attempt", func(t *testing.T) {
		// a slow machine: the last attempt's call is still running when the budget ends
		p, _ := newProver(&fakeWebSTS{err: denied, slowAfter: 1}, nil)
		_, err := p.ProveRole(t.Context(), acct, role, 50*time.Millisecond)
		assert.ErrorIs(t, err, ErrRoleRefused, "every attempt that finished was refused, for the whole budget")
	})
	t.Run("never answered within the budget", func(t *testing.T) {
		p, _ := newProver(&fakeWebSTS{err: denied, slowAfter: 0}, nil)
		p.STS.(*fakeWebSTS).slow = true
		_, err := p.ProveRole(t.Context(), acct, role, 50*time.Millisecond)
		require.Error(t, err)
		assert.NotErrorIs(t, err, ErrRoleRefused, "no refusal seen: not refused for good")
	})
	t.Run("cut short by the invocation", func(t *testing.T) {
		p, _ := newProver(&fakeWebSTS{err: denied}, nil)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err := p.ProveRole(ctx, acct, role, time.Minute)
		require.Error(t, err)
		assert.NotErrorIs(t, err, ErrRoleRefused, "not proven yet is not refused: the claim stays pending")
	})
	t.Run("the role's tag, in the proof's session", func(t *testing.T) {
		s := &fakeWebSTS{}
		p, reader := newProver(s, []iamtypes.Tag{{Key: aws.String("ManagedBy"), Value: aws.String("x")},
			{Key: aws.String("DoiTTenantToken"), Value: aws.String("tt-on-the-role")}})
		ev, err := p.ProveRole(t.Context(), acct, role, time.Second)
		require.NoError(t, err)
		assert.Equal(t, registry.TokenHash("tt-on-the-role"), ev.TokenHash)
		assert.Equal(t, "DoiT-Support-Gateway", reader.role)
		require.NotNil(t, s.last)
		assert.Equal(t, role, aws.ToString(s.last.RoleArn))
		assert.JSONEq(t, policy.DefaultVendor().ProofSessionPolicy(policy.Target{Partition: "aws", AccountID: acct}).JSON(),
			aws.ToString(s.last.Policy), "the session may only read the role")
		assert.Equal(t, []string{acct}, keys.created, "the key exists (and is published) before the token")
	})
	t.Run("no tag, no tenant", func(t *testing.T) {
		p, _ := newProver(&fakeWebSTS{}, []iamtypes.Tag{{Key: aws.String("DoiTTenantToken"), Value: aws.String("")}})
		ev, err := p.ProveRole(t.Context(), acct, role, time.Second)
		require.NoError(t, err)
		assert.Empty(t, ev.TokenHash)
	})
}

type fakeMinter struct{ keys *keysFake }

func (m *fakeMinter) CreateAccountKey(ctx context.Context, account string) (issuer.KeyRecord, error) {
	return m.keys.CreateAccountKey(ctx, account)
}
func (m *fakeMinter) Mint(context.Context, string, issuer.Claims) (string, error) {
	return "a.token.sig", nil
}
func (m *fakeMinter) EnsureSubjectKey(context.Context) (string, error) { return "k", nil }

type fakeWebSTS struct {
	err  error
	last *sts.AssumeRoleWithWebIdentityInput
	// slow: every call after the first slowAfter waits for its context to end (a loaded machine)
	slow      bool
	slowAfter int
	calls     int
}

func (s *fakeWebSTS) AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, _ ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	s.last = in
	s.calls++
	if (s.slow || s.slowAfter > 0) && s.calls > s.slowAfter {
		<-ctx.Done()
		return nil, fmt.Errorf("operation error STS: AssumeRoleWithWebIdentity: %w", ctx.Err())
	}
	if s.err != nil {
		return nil, s.err
	}
	return &sts.AssumeRoleWithWebIdentityOutput{Credentials: &ststypes.Credentials{AccessKeyId: aws.String("ASIA"),
		SecretAccessKey: aws.String("s"), SessionToken: aws.String("t")}}, nil
}

type fakeRoleReader struct {
	tags     []iamtypes.Tag
	policies []string
	role     string
}

func (r *fakeRoleReader) ListRolePolicies(_ context.Context, _ *iam.ListRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error) {
	return &iam.ListRolePoliciesOutput{PolicyNames: r.policies}, nil
}

func (r *fakeRoleReader) GetRole(_ context.Context, in *iam.GetRoleInput, _ ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	r.role = aws.ToString(in.RoleName)
	if r.tags == nil {
		return nil, errors.New("no such role")
	}
	return &iam.GetRoleOutput{Role: &iamtypes.Role{Tags: r.tags}}, nil
}

// An account bound to acme whose role is re-tagged with another organization's token (outside its
// stack, or by a stack update that slipped through) does not move: the next proof records a proven
// conflict and the account waits for an operator.
func TestARetaggedRoleIsAConflictNotAMove(t *testing.T) {
	f := newFixture(t)
	require.Equal(t, registry.Registered, f.genuineClaim(t, acct, "acme").Status)
	f.prover.tag(acct, f.token(t, "globex"))
	_, err := f.hook.Delete(t.Context(), gwEventFor(cfnresource.Delete, acct, forgedStack, nil)) // anything that asks for a proof
	require.NoError(t, err)
	f.hook.Prove(t.Context(), acct)
	f.hook.Clock = func() time.Time { return time.Now().Add(10 * time.Minute) } // seen again, minutes later
	f.hook.Prove(t.Context(), acct)
	st, err := f.reg.Account(t.Context(), acct)
	require.NoError(t, err)
	require.NotNil(t, st.Conflict)
	assert.True(t, st.Conflict.Proven)
	assert.Equal(t, "acme", st.Conflict.Tenant)
	assert.Equal(t, "globex", st.Conflict.Claimant)
	_, _, ok := st.Usable()
	assert.False(t, ok)
}
