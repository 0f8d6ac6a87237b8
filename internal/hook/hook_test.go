package hook

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
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
	case in.ExternalId == nil && !f.allowWithout, in.ExternalId != nil && *in.ExternalId != ext:
		return nil, denied
	}
	return &sts.AssumeRoleOutput{Credentials: &types.Credentials{AccessKeyId: aws.String("AKIA")}}, nil
}

var motoSrv moto.Shared

func TestMain(m *testing.M) { os.Exit(motoSrv.Run(m)) }

type fixture struct {
	hook *Hook
	reg  *registry.Registry
	sts  *fakeSTS
	logs *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	reg := registrytest.New(t, motoSrv.Server(t))
	fs := &fakeSTS{}
	logs := &bytes.Buffer{}
	return &fixture{
		hook: &Hook{
			Vendor: policy.DefaultVendor(), VendorAccountID: vendor, Registry: reg,
			Provisioner: &RoleCheck{STS: fs, Budget: 2 * time.Second, Backoff: awsx.Backoff{First: time.Millisecond, Max: 5 * time.Millisecond}},
			Logger:      slog.New(slog.NewJSONHandler(logs, nil)),
		},
		reg: reg, sts: fs, logs: logs,
	}
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

func TestManagementCreateRegistersAfterProvingTheRole(t *testing.T) {
	f := newFixture(t)
	f.pending(t)
	f.sts.deniedFirst = 3 // the role was created seconds ago
	res, err := f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackA, nil))
	require.NoError(t, err)
	assert.Equal(t, "doit-support-gateway:management:111122223333", res.PhysicalResourceID)
	assert.Equal(t, registry.Registered, f.status(t, registry.Management))
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
		})
	}
}

func TestSecondStackCannotTakeARegisteredAccount(t *testing.T) {
	f := newFixture(t)
	f.pending(t)
	_, err := f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackA, nil))
	require.NoError(t, err)
	calls := len(f.sts.calls)
	_, err = f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackB, nil))
	assert.ErrorContains(t, err, "already registered by stack "+stackA)
	assert.Len(t, f.sts.calls, calls, "refused before touching the customer's account")

	// stack B's rollback Delete (with the ID a success would have had) removes nothing of A's
	e := mgmtEvent(cfnresource.Delete, stackB, nil)
	e.PhysicalResourceID = "doit-support-gateway:management:111122223333"
	_, err = f.hook.Delete(t.Context(), e)
	require.NoError(t, err)
	assert.Equal(t, registry.Registered, f.status(t, registry.Management))
}

func TestUpdateAndRollbackKeepTheRegistration(t *testing.T) {
	f := newFixture(t)
	f.pending(t)
	_, err := f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackA, nil))
	require.NoError(t, err)
	up := mgmtEvent(cfnresource.Update, stackA, map[string]any{"TemplateVersion": "next"})
	up.PhysicalResourceID = "doit-support-gateway:management:111122223333"
	up.OldResourceProperties = mgmtEvent(cfnresource.Create, stackA, nil).ResourceProperties
	res, err := f.hook.Update(t.Context(), up)
	require.NoError(t, err)
	assert.Equal(t, up.PhysicalResourceID, res.PhysicalResourceID, "stable physical ID: no replacement")
	o, _, _ := f.reg.Get(t.Context(), acct, registry.Management)
	assert.Equal(t, "next", o.TemplateVersion)

	// the rollback: old and new swapped
	back := up
	back.ResourceProperties, back.OldResourceProperties = up.OldResourceProperties, up.ResourceProperties
	_, err = f.hook.Update(t.Context(), back)
	require.NoError(t, err)
	o, _, _ = f.reg.Get(t.Context(), acct, registry.Management)
	assert.Equal(t, policy.TemplateVersion, o.TemplateVersion)
	assert.Equal(t, registry.Registered, o.Status)
}

func TestDelete(t *testing.T) {
	f := newFixture(t)
	f.pending(t)
	_, err := f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackA, nil))
	require.NoError(t, err)

	never := mgmtEvent(cfnresource.Delete, stackA, nil)
	never.PhysicalResourceID = "legacy-physical-id-from-the-old-hook"
	res, err := f.hook.Delete(t.Context(), never)
	require.NoError(t, err, "a Delete for a resource never created succeeds")
	assert.Equal(t, never.PhysicalResourceID, res.PhysicalResourceID)
	assert.Equal(t, registry.Registered, f.status(t, registry.Management), "and changes nothing")

	otherAccount := mgmtEvent(cfnresource.Delete, "arn:aws:cloudformation:us-east-1:444455556666:stack/x/y", nil)
	otherAccount.PhysicalResourceID = "doit-support-gateway:management:111122223333"
	_, err = f.hook.Delete(t.Context(), otherAccount)
	require.NoError(t, err)
	assert.Equal(t, registry.Registered, f.status(t, registry.Management), "a stack cannot delete another account's")

	del := mgmtEvent(cfnresource.Delete, stackA, nil)
	del.PhysicalResourceID = "doit-support-gateway:management:111122223333"
	_, err = f.hook.Delete(t.Context(), del)
	require.NoError(t, err)
	assert.Equal(t, registry.Deregistered, f.status(t, registry.Management))
	_, err = f.hook.Delete(t.Context(), del)
	require.NoError(t, err, "a repeated Delete succeeds")
}

func gwEvent(rt cfnresource.RequestType, props map[string]any) cfnresource.Event {
	e := mgmtEvent(rt, "arn:aws:cloudformation:us-east-1:111122223333:stack/doit-support-gateway/cccc", nil)
	e.ResourceProperties = map[string]any{"ServiceToken": topic, "ServiceTimeout": "300", "RoleArn": gwRole, "AccountId": acct,
		"TenantToken": "", "Runbooks": "false", "DiagnosticTool": "true", "TemplateVersion": policy.TemplateVersion,
		"ProviderArns": []any{
			"arn:aws:iam::111122223333:oidc-provider/oidc.aws-ops.doit-intl.com/accounts/111122223333",
			"arn:aws:iam::111122223333:oidc-provider/oidc-standby.aws-ops.doit-intl.com/accounts/111122223333",
		}}
	for k, v := range props {
		e.ResourceProperties[k] = v
	}
	return e
}

func TestGatewayRegistration(t *testing.T) {
	f := newFixture(t)
	token, err := f.reg.IssueTenantToken(t.Context(), "tenant-1")
	require.NoError(t, err)

	res, err := f.hook.Create(t.Context(), gwEvent(cfnresource.Create, map[string]any{"TenantToken": "tt-forged"}))
	require.NoError(t, err, "a hook without a valid token still succeeds")
	assert.Equal(t, "doit-support-gateway:gateway:111122223333", res.PhysicalResourceID)
	assert.Equal(t, registry.Unclaimed, f.status(t, registry.Gateway))
	assert.NotContains(t, f.logs.String(), "tt-forged", "tokens are never logged")

	_, err = f.hook.Update(t.Context(), gwEvent(cfnresource.Update, map[string]any{"TenantToken": token}))
	require.NoError(t, err)
	o, _, _ := f.reg.Get(t.Context(), acct, registry.Gateway)
	assert.Equal(t, registry.Registered, o.Status)
	assert.Equal(t, "tenant-1", o.Tenant)
	assert.True(t, o.DiagnosticTool)
	assert.False(t, o.Runbooks)
	assert.Empty(t, f.sts.calls, "the gateway role is proven later, with a token the issuer mints")

	_, err = f.hook.Create(t.Context(), gwEvent(cfnresource.Create, map[string]any{"ProviderArns": []any{"arn:aws:iam::111122223333:oidc-provider/evil.example.com"}}))
	assert.ErrorContains(t, err, "ProviderArns must be")
	_, err = f.hook.Create(t.Context(), gwEvent(cfnresource.Create, map[string]any{"Runbooks": "yes"}))
	assert.ErrorContains(t, err, "Runbooks")
}

// slowProvisioner's Apply makes something, then hangs until its context ends (a call that never
// returns); Remove records that it ran and when.
type slowProvisioner struct {
	applied, removed chan time.Time
}

func (s *slowProvisioner) Apply(ctx context.Context, _ ManagedAccount) (map[string]string, error) {
	s.applied <- time.Now()
	<-ctx.Done()
	return nil, fmt.Errorf("creating the role: %w", ctx.Err())
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
	k.created = append(k.created, account)
	return issuer.KeyRecord{Account: account, KeyID: "k1"}, nil
}

func (k *keysFake) Offboard(_ context.Context, account string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.retired = append(k.retired, account)
	return nil
}

func TestSigningKeysFollowTheRegistrations(t *testing.T) {
	f := newFixture(t)
	keys := &keysFake{}
	f.hook.Keys = keys
	f.pending(t)
	_, err := f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackA, nil))
	require.NoError(t, err)
	_, err = f.hook.Create(t.Context(), gwEvent(cfnresource.Create, nil))
	require.NoError(t, err)
	assert.Equal(t, []string{acct, acct}, keys.created, "every registration makes sure the account has its key")

	del := mgmtEvent(cfnresource.Delete, stackA, nil)
	del.PhysicalResourceID = "doit-support-gateway:management:111122223333"
	_, err = f.hook.Delete(t.Context(), del)
	require.NoError(t, err)
	assert.Empty(t, keys.retired, "the gateway stack is still registered: the key stays")

	gwDel := gwEvent(cfnresource.Delete, nil)
	gwDel.PhysicalResourceID = "doit-support-gateway:gateway:111122223333"
	_, err = f.hook.Delete(t.Context(), gwDel)
	require.NoError(t, err)
	assert.Equal(t, []string{acct}, keys.retired, "the last registration gone: the keys are retired")
}

func TestCreateFailsWhenTheKeyCannotBeMade(t *testing.T) {
	f := newFixture(t)
	f.hook.Keys = &keysFake{failCreate: true}
	f.pending(t)
	_, err := f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackA, nil))
	assert.ErrorContains(t, err, "could not create this account's signing key, try again")
	assert.Equal(t, registry.Pending, f.status(t, registry.Management), "nothing registered")
}
