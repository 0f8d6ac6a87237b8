package hook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/internal/registry/registrytest"
	"github.com/supportaccess/gateway/test/moto"
)

const (
	acct      = "111122223333"
	otherAcct = "444455556666"
	vendor    = "999988887777"
	ext       = "ext-0123456789abcdef-issued"
	stackA    = "arn:aws:cloudformation:us-east-1:111122223333:stack/doit-management-role/aaaa"
	stackB    = "arn:aws:cloudformation:us-east-1:111122223333:stack/doit-management-role-2/bbbb"
	mgmtRole  = "arn:aws:iam::111122223333:role/DoiT_Management_Role_DO-NOT-DELETE"
	gwRole    = "arn:aws:iam::111122223333:role/DoiT-Support-Gateway"
	topic     = "arn:aws:sns:us-east-1:999988887777:doit-support-gateway-hook"
)

// fakeSTS is STS with a trust policy that requires ExternalId ext (unless allowWithout), and that
// refuses the first deniedFirst calls, as IAM does while a new role propagates.
type fakeSTS struct {
	mu           sync.Mutex
	deniedFirst  int
	allowWithout bool
	extra        string // another ExternalId the trust admits (a new onboarding's)
	calls        []sts.AssumeRoleInput
}

func (f *fakeSTS) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, *in)
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform sts:AssumeRole"}
	switch {
	case f.deniedFirst > 0:
		f.deniedFirst--
		return nil, denied
	case in.ExternalId == nil && !f.allowWithout, in.ExternalId != nil && *in.ExternalId != ext && *in.ExternalId != f.extra:
		return nil, denied
	}
	return &sts.AssumeRoleOutput{Credentials: &types.Credentials{AccessKeyId: aws.String("AKIA")}}, nil
}

var motoSrv moto.Shared

func TestMain(m *testing.M) { os.Exit(motoSrv.Run(m)) }

type fixture struct {
	hook   *Hook
	reg    *registry.Registry
	sts    *fakeSTS
	prov   *owningProvisioner
	keys   *keysFake
	prover *fakeProver
	logs   *syncBuffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	reg := registrytest.New(t, motoSrv.Server(t))
	fs := &fakeSTS{}
	logs := &syncBuffer{}
	prov := &owningProvisioner{RoleCheck: RoleCheck{STS: fs, Budget: 2 * time.Second,
		Backoff: awsx.Backoff{First: time.Millisecond, Max: 5 * time.Millisecond}}}
	keys := &keysFake{}
	prover := &fakeProver{keys: keys}
	return &fixture{
		hook: &Hook{
			Vendor: policy.DefaultVendor(), VendorAccountID: vendor, Registry: reg,
			Provisioner: prov, Keys: keys, Prover: prover, RecheckDelay: time.Millisecond,
			Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		},
		reg: reg, sts: fs, prov: prov, keys: keys, prover: prover, logs: logs,
	}
}

// syncBuffer is a log sink safe for the follow-up goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// alerts lists the alert keys logged so far.
func (b *syncBuffer) alerts() []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			if a, ok := m["alert"].(string); ok {
				out = append(out, a)
			}
		}
	}
	return out
}

// owningProvisioner proves the management role like RoleCheck and plays the reconciler's ownership
// rules over a simulated account: it "creates" the four resources it manages unless they exist,
// refuses ones that exist but are not owned, and removes only what it owns.
type owningProvisioner struct {
	RoleCheck
	mu       sync.Mutex
	existing map[string]bool // what the account holds, by ARN
	removed  [][]string
}

func (p *owningProvisioner) arns(acct ManagedAccount) []string {
	v := policy.DefaultVendor()
	t := acct.Target()
	return append([]string{v.SupportRoleARN(t), v.SupportPolicyARN(t)}, v.ProviderARNs(t)...)
}

func (p *owningProvisioner) Apply(ctx context.Context, acct ManagedAccount, own func(context.Context, []string) error) (map[string]string, []string, error) {
	if err := p.Verify(ctx, acct); err != nil {
		return nil, nil, err
	}
	p.mu.Lock()
	if p.existing == nil {
		p.existing = map[string]bool{}
	}
	var create, unowned []string
	for _, arn := range p.arns(acct) {
		switch {
		case !p.existing[arn]:
			create = append(create, arn)
		case !slices.Contains(acct.Owned, arn):
			unowned = append(unowned, arn)
		}
	}
	p.mu.Unlock()
	if len(unowned) > 0 {
		return nil, nil, &gateway.NotOwnedError{ARNs: unowned}
	}
	if len(create) > 0 {
		if err := own(ctx, create); err != nil {
			return nil, nil, err
		}
	}
	p.mu.Lock()
	for _, arn := range create {
		p.existing[arn] = true
	}
	p.mu.Unlock()
	return map[string]string{"SupportRoleArn": p.arns(acct)[0]}, create, nil
}

func (p *owningProvisioner) Remove(_ context.Context, acct ManagedAccount) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removed = append(p.removed, slices.Clone(acct.Owned))
	for _, arn := range acct.Owned {
		delete(p.existing, arn)
	}
	return nil
}

func (p *owningProvisioner) has(arn string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.existing[arn]
}

// fakeProver proves a gateway role unless told the role refuses, and reads the tenant token the
// account's role carries (tag); it makes the account's key first, as the real proof does.
type fakeProver struct {
	keys      *keysFake
	mu        sync.Mutex
	refuse    map[string]bool         // account → the role refuses
	tags      map[string]string       // account → the token on its role's tag
	options   map[string]RoleEvidence // account → the options its role has (its inline policies)
	remade    map[string]int          // account → how many times its role was deleted and made again
	transient bool
	calls     []string
	budgets   []time.Duration // each call's budget
}

func (p *fakeProver) ProveRole(ctx context.Context, account, _ string, budget time.Duration) (RoleEvidence, error) {
	if _, err := p.keys.CreateAccountKey(ctx, account); err != nil {
		return RoleEvidence{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, account)
	p.budgets = append(p.budgets, budget)
	switch {
	case p.transient:
		return RoleEvidence{}, errors.New("throttled")
	case p.refuse[account]:
		return RoleEvidence{}, fmt.Errorf("%w: AccessDenied", ErrRoleRefused)
	}
	ev := p.options[account]
	ev.RoleID = fmt.Sprintf("AROA%s%d", account, p.remade[account])
	if tok := p.tags[account]; tok != "" {
		ev.TokenHash = registry.TokenHash(tok)
	}
	return ev, nil
}

// remake deletes the account's gateway role and makes it again (another RoleId), tagged with token.
func (p *fakeProver) remake(account, token string) {
	p.mu.Lock()
	if p.remade == nil {
		p.remade = map[string]int{}
	}
	p.remade[account]++
	delete(p.refuse, account)
	p.mu.Unlock()
	p.tag(account, token)
}

// setOptions sets the options the account's gateway role has (its stack's option parameters).
func (p *fakeProver) setOptions(account string, runbooks, diagnostic bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.options == nil {
		p.options = map[string]RoleEvidence{}
	}
	p.options[account] = RoleEvidence{Runbooks: runbooks, Diagnostic: diagnostic}
}

// tag sets the token the account's gateway role carries (its stack's TenantToken parameter).
func (p *fakeProver) tag(account, token string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tags == nil {
		p.tags = map[string]string{}
	}
	p.tags[account] = token
}

func (p *fakeProver) proofs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

func (p *fakeProver) setRefuse(account string, refuse bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refuse == nil {
		p.refuse = map[string]bool{}
	}
	p.refuse[account] = refuse
}

func mgmtEvent(rt cfnresource.RequestType, stack string, props map[string]any) cfnresource.Event {
	p := map[string]any{"ServiceToken": topic, "ServiceTimeout": "300", "RoleArn": mgmtRole, "AccountId": acct,
		"ExternalId": ext, "BoundaryArn": "arn:aws:iam::111122223333:policy/DoiT_Support_Boundary_DO-NOT-DELETE",
		"TemplateVersion": policy.TemplateVersion}
	for k, v := range props {
		if v == nil {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	return cfnresource.Event{RequestType: rt, StackID: stack, RequestID: "req-1", ResourceType: "Custom::Hook",
		LogicalResourceID: "Hook", ServiceToken: topic, ResourceProperties: p,
		ResponseURL: "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x"}
}

func (f *fixture) pending(t *testing.T) {
	_, err := f.reg.StartOnboarding(t.Context(), "tenant-1", acct, ext)
	require.NoError(t, err)
}

func (f *fixture) status(t *testing.T, kind registry.Kind) registry.Status {
	o, found, err := f.reg.Get(t.Context(), acct, kind)
	require.NoError(t, err)
	if !found {
		return ""
	}
	return o.Status
}

const mgmtID = "doit-support-gateway:management:111122223333"

// created is the management stack's Create, registered.
func (f *fixture) created(t *testing.T) {
	t.Helper()
	f.pending(t)
	_, err := f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackA, nil))
	require.NoError(t, err)
	require.Equal(t, registry.Registered, f.status(t, registry.Management))
}

func (f *fixture) record(t *testing.T, kind registry.Kind) registry.Onboarding {
	t.Helper()
	o, found, err := f.reg.Get(t.Context(), acct, kind)
	require.NoError(t, err)
	require.True(t, found)
	return o
}

func mgmtDelete(stack string, props map[string]any) cfnresource.Event {
	e := mgmtEvent(cfnresource.Delete, stack, props)
	e.PhysicalResourceID = mgmtID
	return e
}

func TestManagementCreateRegistersAfterProvingTheRole(t *testing.T) {
	f := newFixture(t)
	f.pending(t)
	f.sts.deniedFirst = 3 // the role was created seconds ago
	res, err := f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackA, nil))
	require.NoError(t, err)
	assert.Equal(t, mgmtID, res.PhysicalResourceID)
	o := f.record(t, registry.Management)
	assert.Equal(t, registry.Registered, o.Status)
	assert.Equal(t, registry.Owner{StackID: stackA, LogicalID: "Hook"}, o.Owner)
	assert.Len(t, o.Owned, 4, "what the vendor created is recorded as its own")
	assert.Equal(t, []string{acct}, f.keys.created, "the account gets its signing key")
	// 3 refusals while IAM propagates, then with the ExternalId, then the negative probe without it
	require.Len(t, f.sts.calls, 5)
	assert.Equal(t, ext, aws.ToString(f.sts.calls[3].ExternalId))
	assert.Nil(t, f.sts.calls[4].ExternalId)
	assert.NotContains(t, f.logs.String(), ext, "the ExternalId is never logged")

	// duplicate delivery: same answer, still one registration
	res2, err := f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackA, nil))
	require.NoError(t, err)
	assert.Equal(t, res, res2)
}

func TestManagementCreateRefusals(t *testing.T) {
	cases := map[string]struct {
		pending bool
		props   map[string]any
		stack   string
		setup   func(*fakeSTS)
		reason  string
	}{
		"no onboarding started": {props: nil, reason: "no onboarding was started"},
		"unknown ExternalId":    {pending: true, props: map[string]any{"ExternalId": "ext-forged-forged-forged"}, reason: "does not match"},
		"AccountId of another account": {pending: true, props: map[string]any{"AccountId": otherAcct},
			reason: "accounts disagree"},
		"RoleArn in another account": {pending: true, props: map[string]any{"RoleArn": "arn:aws:iam::444455556666:role/DoiT_Management_Role_DO-NOT-DELETE"},
			reason: "accounts disagree"},
		"stack in another account": {pending: true, stack: "arn:aws:cloudformation:us-east-1:444455556666:stack/x/y", reason: "accounts disagree"},
		"role of another name":     {pending: true, props: map[string]any{"RoleArn": "arn:aws:iam::111122223333:role/Admin"}, reason: "names neither"},
		"role on another path": {pending: true, props: map[string]any{"RoleArn": "arn:aws:iam::111122223333:role/x/DoiT_Management_Role_DO-NOT-DELETE"},
			reason: "RoleArn must be arn:aws:iam::111122223333:role/DoiT_Management_Role_DO-NOT-DELETE"},
		"no ExternalId (seed stack)": {pending: true, props: map[string]any{"ExternalId": nil}, reason: "has no ExternalId"},
		"foreign ServiceToken": {pending: true, props: map[string]any{"ServiceToken": "arn:aws:sns:us-east-1:444455556666:t"},
			reason: "ServiceToken is not DoiT's"},
		"role assumable without ExternalId": {pending: true, setup: func(s *fakeSTS) { s.allowWithout = true },
			reason: "can be assumed without an ExternalId"},
		"role never assumable": {pending: true, setup: func(s *fakeSTS) { s.deniedFirst = 1 << 30 },
			reason: "cannot be assumed with this stack's ExternalId"},
		"missing AccountId": {pending: true, props: map[string]any{"AccountId": nil}, reason: "AccountId"},
		"wrong type":        {pending: true, props: map[string]any{"RoleArn": 7}, reason: "RoleArn"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			if tc.pending {
				f.pending(t)
			}
			if tc.setup != nil {
				tc.setup(f.sts)
			}
			stack := tc.stack
			if stack == "" {
				stack = stackA
			}
			e := mgmtEvent(cfnresource.Create, stack, tc.props)
			if sv, ok := tc.props["ServiceToken"]; ok {
				e.ServiceToken = sv.(string)
			}
			before := f.status(t, registry.Management)
			_, err := f.hook.Create(t.Context(), e)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.reason)
			assert.Equal(t, before, f.status(t, registry.Management), "the registry is unchanged")
			assert.Empty(t, f.keys.created, "no key for a claim that proved nothing")
		})
	}
}

// A second management stack that presents the account's ExternalId proves what the first proved:
// two cannot coexist (IAM names the role once per account), so the first was deleted and its Delete
// lost. It takes the registration over, and the first stack's late Delete changes nothing.
func TestSecondStackWithTheExternalIdTakesOver(t *testing.T) {
	f := newFixture(t)
	f.created(t)
	_, err := f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackB, nil))
	require.NoError(t, err)
	assert.Equal(t, stackB, f.record(t, registry.Management).StackID)

	_, err = f.hook.Delete(t.Context(), mgmtDelete(stackA, nil))
	require.NoError(t, err)
	assert.Equal(t, registry.Registered, f.status(t, registry.Management), "the former owner's Delete changes nothing")
	assert.Contains(t, f.logs.alerts(), alertUnprovenDelete)
	assert.Empty(t, f.prov.removed)
}

func TestUpdateAndRollbackKeepTheRegistration(t *testing.T) {
	f := newFixture(t)
	f.created(t)
	up := mgmtEvent(cfnresource.Update, stackA, map[string]any{"TemplateVersion": "next"})
	up.PhysicalResourceID = mgmtID
	up.OldResourceProperties = mgmtEvent(cfnresource.Create, stackA, nil).ResourceProperties
	res, err := f.hook.Update(t.Context(), up)
	require.NoError(t, err)
	assert.Equal(t, up.PhysicalResourceID, res.PhysicalResourceID, "stable physical ID: no replacement")
	assert.Equal(t, "next", f.record(t, registry.Management).TemplateVersion)

	// the rollback: old and new swapped
	back := up
	back.ResourceProperties, back.OldResourceProperties = up.OldResourceProperties, up.ResourceProperties
	_, err = f.hook.Update(t.Context(), back)
	require.NoError(t, err)
	o := f.record(t, registry.Management)
	assert.Equal(t, policy.TemplateVersion, o.TemplateVersion)
	assert.Equal(t, registry.Registered, o.Status)
}

func TestManagementDelete(t *testing.T) {
	f := newFixture(t)
	f.created(t)
	owned := f.record(t, registry.Management).Owned

	never := mgmtEvent(cfnresource.Delete, stackA, nil)
	never.PhysicalResourceID = "legacy-physical-id-from-the-old-hook"
	res, err := f.hook.Delete(t.Context(), never)
	require.NoError(t, err, "a Delete for a resource never created succeeds")
	assert.Equal(t, never.PhysicalResourceID, res.PhysicalResourceID)
	assert.Equal(t, registry.Registered, f.status(t, registry.Management), "and changes nothing")

	otherAccount := mgmtEvent(cfnresource.Delete, "arn:aws:cloudformation:us-east-1:444455556666:stack/x/y", nil)
	otherAccount.PhysicalResourceID = mgmtID
	_, err = f.hook.Delete(t.Context(), otherAccount)
	require.NoError(t, err)
	assert.Equal(t, registry.Registered, f.status(t, registry.Management), "a stack cannot delete another account's")

	_, err = f.hook.Delete(t.Context(), mgmtDelete(stackA, nil))
	require.NoError(t, err)
	o := f.record(t, registry.Management)
	assert.Equal(t, registry.Deregistered, o.Status)
	assert.Empty(t, o.ExternalID, "the ExternalId is retired")
	assert.Empty(t, o.Owned, "everything the vendor made was removed")
	assert.Equal(t, [][]string{owned}, f.prov.removed, "exactly what it had created")
	assert.Equal(t, []string{acct}, f.keys.retired)
	_, err = f.hook.Delete(t.Context(), mgmtDelete(stackA, nil))
	require.NoError(t, err, "a repeated Delete succeeds")
	assert.Len(t, f.prov.removed, 1, "and does nothing")
}

// slowProvisioner's Apply makes something, then hangs until its context ends (a call that never
// returns); Remove records that it ran and when.
type slowProvisioner struct {
	applied, removed chan time.Time
}

func (s *slowProvisioner) Apply(ctx context.Context, _ ManagedAccount, own func(context.Context, []string) error) (map[string]string, []string, error) {
	if err := own(ctx, []string{"arn:aws:iam::111122223333:role/doit-support/DoiT-Support"}); err != nil {
		return nil, nil, err
	}
	s.applied <- time.Now()
	<-ctx.Done()
	return nil, []string{"arn:aws:iam::111122223333:role/doit-support/DoiT-Support"}, fmt.Errorf("creating the role: %w", ctx.Err())
}

func (s *slowProvisioner) Remove(context.Context, ManagedAccount) error {
	s.removed <- time.Now()
	return nil
}

// A Create that outlives its time undoes what it made before the deadline the watchdog answers at,
// so the rollback that follows (its Delete of the failed-Create marker does nothing) leaves nothing.
func TestCreateThatRunsOutOfTimeUndoesItselfBeforeTheDeadline(t *testing.T) {
	f := newFixture(t)
	f.pending(t)
	slow := &slowProvisioner{applied: make(chan time.Time, 1), removed: make(chan time.Time, 1)}
	f.hook.Provisioner = slow
	ctx, cancel := context.WithTimeout(t.Context(), 900*time.Millisecond)
	defer cancel()
	deadline, _ := ctx.Deadline()
	_, err := f.hook.Create(ctx, mgmtEvent(cfnresource.Create, stackA, nil))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Len(t, slow.applied, 1)
	require.Len(t, slow.removed, 1, "the failed Create was undone")
	assert.True(t, (<-slow.removed).Before(deadline), "before the deadline, while the invocation still runs")
	assert.True(t, time.Now().Before(deadline), "the handler returned before the deadline")
	assert.Equal(t, registry.Pending, f.status(t, registry.Management), "nothing registered")
}

// keysFake records which accounts got a signing key and which were offboarded.
type keysFake struct {
	mu               sync.Mutex
	created, retired []string
	failCreate       bool
}

func (k *keysFake) CreateAccountKey(_ context.Context, account string) (issuer.KeyRecord, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.failCreate {
		return issuer.KeyRecord{}, fmt.Errorf("kms: throttled")
	}
	if !slices.Contains(k.created, account) || slices.Contains(k.retired, account) {
		k.created = append(k.created, account)
		k.retired = slices.DeleteFunc(k.retired, func(a string) bool { return a == account })
	}
	return issuer.KeyRecord{Account: account, KeyID: "k1"}, nil
}

func (k *keysFake) Offboard(_ context.Context, account string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.retired = append(k.retired, account)
	return nil
}

func (k *keysFake) counts() (created, retired int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.created), len(k.retired)
}

func TestCreateFailsWhenTheKeyCannotBeMade(t *testing.T) {
	f := newFixture(t)
	f.keys.failCreate = true
	f.pending(t)
	_, err := f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackA, nil))
	assert.ErrorContains(t, err, "could not create this account's signing key, try again")
	assert.Equal(t, registry.Pending, f.status(t, registry.Management), "nothing registered")
	assert.Len(t, f.prov.removed, 1, "what the failed Create made is undone")
}

// The settings reach the hook (a review found REGIONS dropped on the way).
func TestNewCarriesTheSettings(t *testing.T) {
	h, _, err := New(aws.Config{Region: "us-east-1"}, Settings{Vendor: policy.DefaultVendor(), VendorAccountID: vendor, Table: "t",
		Partitions: []string{"aws", "aws-us-gov"}, Regions: []string{"us-east-1", "us-gov-west-1"}, Paces: Paces{UnprovenPerHour: 7, TenantPerHour: 9, TenantRejectionsPerDay: 11, ReproofsPerHour: 13},
		Budget: 3 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, []string{"aws", "aws-us-gov"}, h.Partitions)
	assert.Equal(t, []string{"us-east-1", "us-gov-west-1"}, h.Regions)
	assert.Equal(t, 7, h.UnprovenPerHour)
	assert.Equal(t, 9, h.TenantClaimsPerHour)
	assert.Equal(t, 11, h.TenantRejectionsPerDay)
	assert.Equal(t, 13, h.ReproofsPerHour)
	assert.Equal(t, 3*time.Second, h.ProofBudget)
	_, _, err = New(aws.Config{}, Settings{Vendor: policy.DefaultVendor(), SignerRoleARN: "arn:aws:iam::999988887777:role/x"})
	assert.ErrorContains(t, err, "issuer bucket is required")
}

// Thumbprints IAM would refuse (more than five, malformed, twice the same) stop the hook before it
// handles an event, whoever builds it; five reach the provisioning step.
func TestNewChecksTheThumbprints(t *testing.T) {
	six := make([]string, 6)
	for i := range six {
		six[i] = strings.Repeat(string(rune('a'+i)), 40)
	}
	settings := func(tps []string) Settings {
		return Settings{Vendor: policy.DefaultVendor(), VendorAccountID: vendor, Table: "t", Thumbprints: tps}
	}
	_, p, err := New(aws.Config{Region: "us-east-1"}, settings(six[:5]))
	require.NoError(t, err)
	assert.Equal(t, six[:5], p.Thumbprints)
	_, _, err = New(aws.Config{Region: "us-east-1"}, settings(six))
	assert.ErrorContains(t, err, "6 thumbprints, IAM allows at most 5 per OIDC provider")
	_, _, err = New(aws.Config{Region: "us-east-1"}, settings([]string{six[0], six[0]}))
	assert.ErrorContains(t, err, "listed twice")
	_, _, err = New(aws.Config{Region: "us-east-1"}, settings([]string{"abc"}))
	assert.ErrorContains(t, err, "not a 40-character")
}

func TestPacesFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	p, problems := PacesFromEnv(env(nil))
	assert.Empty(t, problems)
	assert.Equal(t, Paces{UnprovenPerHour: 100, TenantPerHour: 5000, TenantRejectionsPerDay: 100, ReproofsPerHour: 1000}, p, "the defaults")
	p, problems = PacesFromEnv(env(map[string]string{"UNPROVEN_CLAIMS_PER_HOUR": " 20 ", "TENANT_CLAIMS_PER_HOUR": "500",
		"TENANT_REJECTIONS_PER_DAY": "7", "REPROOFS_PER_HOUR": "300"}))
	assert.Empty(t, problems)
	assert.Equal(t, Paces{UnprovenPerHour: 20, TenantPerHour: 500, TenantRejectionsPerDay: 7, ReproofsPerHour: 300}, p)
	_, problems = PacesFromEnv(env(map[string]string{"UNPROVEN_CLAIMS_PER_HOUR": "0", "TENANT_CLAIMS_PER_HOUR": "-3",
		"TENANT_REJECTIONS_PER_DAY": "lots", "REPROOFS_PER_HOUR": "1.5"}))
	require.Len(t, problems, 4)
	for i, key := range []string{"UNPROVEN_CLAIMS_PER_HOUR", "TENANT_CLAIMS_PER_HOUR", "TENANT_REJECTIONS_PER_DAY", "REPROOFS_PER_HOUR"} {
		assert.ErrorContains(t, problems[i], key)
	}
}
