package hook

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// Issue 9 A.6: a genuine management Create replayed after its stack was deleted does not register
// again: the deregistration retired the ExternalId, and coming back needs a new onboarding.
func TestReplayedCreateAfterDeregistrationIsRefused(t *testing.T) {
	f := newFixture(t)
	f.created(t)
	_, err := f.hook.Delete(t.Context(), mgmtDelete(stackA, nil))
	require.NoError(t, err)
	require.Equal(t, registry.Deregistered, f.status(t, registry.Management))

	for _, stack := range []string{stackA, stackB} {
		replay := mgmtEvent(cfnresource.Create, stack, nil)
		replay.RequestID = "req-replayed"
		_, err = f.hook.Create(t.Context(), replay)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no onboarding was started")
		assert.Equal(t, registry.Deregistered, f.status(t, registry.Management))
	}
	created, _ := f.keys.counts()
	assert.Equal(t, 1, created, "no new key")

	// a new onboarding brings the account back
	_, err = f.reg.StartOnboarding(t.Context(), "tenant-1", acct, "ext-a-new-link-issued")
	require.NoError(t, err)
	f.sts.extra = "ext-a-new-link-issued" // the customer updates the stack's ExternalId, and so its trust
	_, err = f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackA, map[string]any{"ExternalId": "ext-a-new-link-issued"}))
	require.NoError(t, err)
	assert.Equal(t, registry.Registered, f.status(t, registry.Management))
}

// Issue 9 B.2: a stack made from seed 000's template (RoleArn and AccountId only, a log-stream
// physical ID) updated to our template with a stale ExternalId fails; its rollback Update, with the
// seed's properties, must succeed with the same physical ID and change nothing. Kind: an Update
// back to properties the resource held never fails on a rule the old properties could not meet.
func TestRollbackToSeed000PropertiesSucceeds(t *testing.T) {
	f := newFixture(t)
	f.pending(t)
	const logStream = "2024/03/14/[$LATEST]6f1c0e7a9b2d4c3e8f5a6b7c8d9e0f1a"
	seed := map[string]any{"ServiceToken": topic, "RoleArn": mgmtRole, "AccountId": acct}

	upgrade := mgmtEvent(cfnresource.Update, stackA, map[string]any{"ExternalId": "ext-stale-stale-stale"})
	upgrade.PhysicalResourceID, upgrade.OldResourceProperties = logStream, seed
	_, err := f.hook.Update(t.Context(), upgrade)
	require.Error(t, err, "a stale ExternalId fails the upgrade")

	rollback := mgmtEvent(cfnresource.Update, stackA, nil)
	rollback.ResourceProperties, rollback.OldResourceProperties = seed, upgrade.ResourceProperties
	rollback.PhysicalResourceID = logStream
	res, err := f.hook.Update(t.Context(), rollback)
	require.NoError(t, err, "the rollback succeeds")
	assert.Empty(t, res.PhysicalResourceID, "the Runner keeps the old physical ID")
	assert.Equal(t, registry.Pending, f.status(t, registry.Management), "nothing changed")
	assert.Empty(t, f.sts.calls, "nothing touched")

	// a registered stack asked to drop its ExternalId is not a rollback: the registry holds one
	g := newFixture(t)
	g.created(t)
	downgrade := mgmtEvent(cfnresource.Update, stackA, nil)
	downgrade.ResourceProperties, downgrade.PhysicalResourceID = seed, mgmtID
	_, err = g.hook.Update(t.Context(), downgrade)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has no ExternalId")
	assert.Equal(t, registry.Registered, g.status(t, registry.Management))
}

// An Update back to what the registry holds for the resource (a rollback, or an Update of another
// resource of the stack) needs no AWS call, so nothing outside the registry can fail it.
func TestUpdateToWhatTheRegistryHoldsTouchesNothing(t *testing.T) {
	f := newFixture(t)
	f.created(t)
	calls := len(f.sts.calls)
	f.sts.deniedFirst = 1 << 30 // STS would refuse now
	up := mgmtEvent(cfnresource.Update, stackA, nil)
	up.PhysicalResourceID = mgmtID
	res, err := f.hook.Update(t.Context(), up)
	require.NoError(t, err)
	assert.Equal(t, mgmtID, res.PhysicalResourceID)
	assert.Equal(t, "arn:aws:iam::111122223333:role/doit-support/DoiT-Support", res.Data["SupportRoleArn"])
	assert.Len(t, f.sts.calls, calls, "no AWS call")
}

// failingRegistry fails the account reads and writes while failing is set, as DynamoDB erroring.
type failingRegistry struct {
	Registry
	failing bool
}

var errDynamo = errors.New("dynamodb: InternalServerError")

func (r *failingRegistry) Update(ctx context.Context, account string, decide func(registry.AccountState) (registry.Writes, error)) (registry.AccountState, error) {
	if r.failing {
		return registry.AccountState{}, errDynamo
	}
	return r.Registry.Update(ctx, account, decide)
}

// Issue 9 B.3: a gateway Create fails while DynamoDB errors (FAILED, with the marker); its rollback
// Delete succeeds; the identical Create is then delivered again. It must record nothing, and the
// customer's next stack must succeed. If the copy arrives before the rollback instead, the
// rollback undoes what it did.
func TestACreateCloudFormationGaveUpOnDoesNothing(t *testing.T) {
	for _, order := range []string{"copy after the rollback", "copy before the rollback"} {
		t.Run(order, func(t *testing.T) {
			f := newFixture(t)
			tok := f.token(t, "acme")
			f.prover.tag(acct, tok)
			reg := &failingRegistry{Registry: f.hook.Registry, failing: true}
			f.hook.Registry = reg
			create := gwEvent(cfnresource.Create, map[string]any{"TenantToken": tok})
			_, err := f.hook.Create(t.Context(), create)
			require.Error(t, err, "FAILED while DynamoDB errors")
			reg.failing = false
			marker := cfnresource.FailedCreateID(create)
			rollback := gwEvent(cfnresource.Delete, map[string]any{"TenantToken": tok})
			rollback.PhysicalResourceID, rollback.RequestID = marker, "req-rollback"

			if order == "copy before the rollback" {
				_, err = f.put(t, create)
				require.NoError(t, err)
				require.Equal(t, registry.Registered, f.status(t, registry.Gateway), "the copy registered")
				f.hook.DeleteFailedCreate(t.Context(), rollback)
				assert.Equal(t, registry.Deregistered, f.status(t, registry.Gateway), "the rollback undid it")
				assert.Equal(t, []string{acct}, f.keys.retired)
			} else {
				f.hook.DeleteFailedCreate(t.Context(), rollback)
				_, err = f.put(t, create)
				require.Error(t, err, "the copy does nothing")
				assert.Contains(t, err.Error(), "already rolled this request back")
				_, found, err := f.reg.Get(t.Context(), acct, registry.Gateway)
				require.NoError(t, err)
				assert.False(t, found)
			}

			next := gwEventFor(cfnresource.Create, acct, "arn:aws:cloudformation:us-east-1:111122223333:stack/doit-support-gateway/second",
				map[string]any{"TenantToken": tok})
			next.RequestID = "req-next-stack"
			_, err = f.put(t, next)
			require.NoError(t, err, "the customer's next stack succeeds")
			assert.Equal(t, registry.Registered, f.status(t, registry.Gateway))
			assert.Equal(t, next.StackID, f.gateway(t, acct).StackID)
		})
	}
}

// The same for the management stack: a copy of a rolled-back Create that registered is undone,
// removing what it made.
func TestManagementCreateCopyUndoneByItsRollback(t *testing.T) {
	f := newFixture(t)
	f.pending(t)
	create := mgmtEvent(cfnresource.Create, stackA, nil)
	create.RequestID = "req-rolled-back"
	_, err := f.hook.Create(t.Context(), create) // the copy that arrived after CloudFormation saw FAILED
	require.NoError(t, err)
	owned := f.record(t, registry.Management).Owned
	rollback := mgmtDelete(stackA, nil)
	rollback.PhysicalResourceID = cfnresource.FailedCreateID(create)
	f.hook.DeleteFailedCreate(t.Context(), rollback)
	o := f.record(t, registry.Management)
	assert.Equal(t, registry.Deregistered, o.Status)
	assert.Equal(t, [][]string{owned}, f.prov.removed)

	// a rollback of another request leaves a registration alone
	g := newFixture(t)
	g.created(t)
	other := mgmtDelete(stackA, nil)
	other.PhysicalResourceID = "create-failed-some-other-request"
	g.hook.DeleteFailedCreate(t.Context(), other)
	assert.Equal(t, registry.Registered, g.status(t, registry.Management))
}

// Issue 9 B.1: the two templates set up the same identity providers, so one account cannot have
// both. The second is refused at Create with a reason the customer can act on, and nothing of the
// first is touched, in either order; what the management flow did not create, it never deletes.
func TestTheTwoTemplatesNeverDestroyEachOther(t *testing.T) {
	v := policy.DefaultVendor()
	target := policy.Target{Partition: "aws", AccountID: acct}

	t.Run("gateway registered, then the management stack", func(t *testing.T) {
		f := newFixture(t)
		f.pending(t) // the link was issued before the gateway stack was deployed
		tok := f.token(t, "tenant-1")
		f.prover.tag(acct, tok)
		_, err := f.put(t, gwEvent(cfnresource.Create, map[string]any{"TenantToken": tok}))
		require.NoError(t, err)
		f.prov.existing = map[string]bool{} // the gateway stack's providers, made by CloudFormation
		for _, arn := range v.ProviderARNs(target) {
			f.prov.existing[arn] = true
		}
		_, err = f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackA, nil))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "already has DoiT's support-gateway stack")
		assert.Empty(t, f.prov.removed)
		for _, arn := range v.ProviderARNs(target) {
			assert.True(t, f.prov.has(arn))
		}
		assert.Equal(t, registry.Registered, f.status(t, registry.Gateway))
		_, err = f.reg.StartOnboarding(t.Context(), "tenant-1", acct, "ext-another-link-0000")
		assert.ErrorIs(t, err, registry.ErrAlreadyRegistered, "no new link is issued for it either")
	})
	t.Run("the gateway stack's providers exist but it is not registered", func(t *testing.T) {
		f := newFixture(t)
		f.prov.existing = map[string]bool{}
		for _, arn := range v.ProviderARNs(target) {
			f.prov.existing[arn] = true
		}
		f.pending(t)
		_, err := f.hook.Create(t.Context(), mgmtEvent(cfnresource.Create, stackA, nil))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "already has DoiT's support-gateway stack")
		assert.Empty(t, f.prov.removed, "the failed Create created nothing, so undoes nothing")
		assert.Empty(t, f.record(t, registry.Management).Owned)
		for _, arn := range v.ProviderARNs(target) {
			assert.True(t, f.prov.has(arn), "the other stack's providers stay")
		}
	})
	t.Run("management registered, then the gateway stack", func(t *testing.T) {
		f := newFixture(t)
		f.created(t)
		tok := f.token(t, "tenant-1")
		_, err := f.put(t, gwEvent(cfnresource.Create, map[string]any{"TenantToken": tok}))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "already has DoiT's management-role stack")
		_, found, err := f.reg.Get(t.Context(), acct, registry.Gateway)
		require.NoError(t, err)
		assert.False(t, found)
		_, err = f.hook.Update(t.Context(), gwEvent(cfnresource.Update, map[string]any{"TenantToken": tok}))
		require.Error(t, err, "an Update is refused the same way")
		// and its rollback Delete (the marker) and a Delete with our ID change nothing of the management stack
		_, err = f.hook.Delete(t.Context(), gwEvent(cfnresource.Delete, nil))
		require.NoError(t, err)
		assert.Equal(t, registry.Registered, f.status(t, registry.Management))
		assert.Empty(t, f.prov.removed)
	})
}

// Issue 9 A.7: loose fields are refused with a reason, and nothing is recorded.
func TestLooseFieldsAreRefused(t *testing.T) {
	gw := func(edit func(e *cfnresource.Event)) cfnresource.Event {
		e := gwEvent(cfnresource.Create, nil)
		edit(&e)
		return e
	}
	tests := map[string]struct {
		e      cfnresource.Event
		reason string
	}{
		"no ServiceToken anywhere": {gw(func(e *cfnresource.Event) { e.ServiceToken = ""; delete(e.ResourceProperties, "ServiceToken") }),
			"has no ServiceToken"},
		"empty top-level ServiceToken, foreign in properties": {gw(func(e *cfnresource.Event) {
			e.ServiceToken = ""
			e.ResourceProperties["ServiceToken"] = "arn:aws:sns:us-east-1:444455556666:t"
		}), "ServiceToken is not DoiT's"},
		"foreign top-level ServiceToken": {gw(func(e *cfnresource.Event) { e.ServiceToken = "arn:aws:sns:us-east-1:444455556666:t" }),
			"two different ServiceTokens"},
		"ServiceToken of another service": {gw(func(e *cfnresource.Event) {
			e.ServiceToken = "arn:aws:s3:::999988887777-bucket"
			e.ResourceProperties["ServiceToken"] = e.ServiceToken
		}), "ServiceToken is not DoiT's"},
		"another partition": {gw(func(e *cfnresource.Event) {
			e.StackID = "arn:aws-cn:cloudformation:cn-north-1:111122223333:stack/doit-support-gateway/cccc"
		}), "the aws-cn partition, which DoiT's support gateway does not serve"},
		"a partition that does not exist": {gw(func(e *cfnresource.Event) {
			e.StackID = "arn:awsx:cloudformation:us-east-1:111122223333:stack/doit-support-gateway/cccc"
		}), "partition"},
		"an 11-digit account": {gw(func(e *cfnresource.Event) {
			e.StackID = "arn:aws:cloudformation:us-east-1:11112222333:stack/s/1"
			e.ResourceProperties["AccountId"] = "11112222333"
		}), "is not a CloudFormation stack ARN"},
		"an AccountId that is not 12 digits": {gw(func(e *cfnresource.Event) { e.ResourceProperties["AccountId"] = "1111-2222-3333" }),
			"is not a 12-digit AWS account ID"},
		"a StackId that is not a stack": {gw(func(e *cfnresource.Event) { e.StackID = "arn:aws:cloudformation:us-east-1:111122223333:stackset/x:1" }),
			"is not a CloudFormation stack ARN"},
		"another ResourceType": {gw(func(e *cfnresource.Event) { e.ResourceType = "AWS::CloudFormation::CustomResource" }),
			"ResourceType"},
		"another region": {gw(func(e *cfnresource.Event) {
			e.StackID = "arn:aws:cloudformation:eu-west-1:111122223333:stack/doit-support-gateway/cccc"
		}), "deploy it in us-east-1"},
		"a region that does not exist": {gw(func(e *cfnresource.Event) {
			e.StackID = "arn:aws:cloudformation:zz-north-9:111122223333:stack/doit-support-gateway/cccc"
		}), "deploy it in us-east-1"},
		"RoleArn in another partition": {gw(func(e *cfnresource.Event) {
			e.ResourceProperties["RoleArn"] = "arn:aws-us-gov:iam::111122223333:role/DoiT-Support-Gateway"
		}), "partitions disagree"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.hook.Create(t.Context(), tc.e)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.reason)
			st, err := f.reg.Account(t.Context(), acct)
			require.NoError(t, err)
			assert.Nil(t, st.Gateway)
		})
	}

	// the deployment can serve other partitions when configured to
	f := newFixture(t)
	f.hook.Partitions, f.hook.Regions = []string{"aws", "aws-cn"}, []string{"us-east-1", "cn-north-1"}
	cn := gwEvent(cfnresource.Create, nil)
	cn.StackID = "arn:aws-cn:cloudformation:cn-north-1:111122223333:stack/doit-support-gateway/cccc"
	cn.ResourceProperties["RoleArn"] = "arn:aws-cn:iam::111122223333:role/DoiT-Support-Gateway"
	cn.ResourceProperties["ProviderArns"] = []any{
		"arn:aws-cn:iam::111122223333:oidc-provider/oidc.aws-ops.doit-intl.com/accounts/111122223333",
		"arn:aws-cn:iam::111122223333:oidc-provider/oidc-standby.aws-ops.doit-intl.com/accounts/111122223333"}
	cn.ServiceToken = "arn:aws-cn:sns:cn-north-1:999988887777:doit-support-gateway-hook"
	cn.ResourceProperties["ServiceToken"] = cn.ServiceToken
	_, err := f.hook.Create(t.Context(), cn)
	require.NoError(t, err)
}

// Deletes never fail, whatever the registry does.
func TestDeleteNeverFailsOnTheRegistry(t *testing.T) {
	f := newFixture(t)
	f.created(t)
	reg := &brokenReads{Registry: f.hook.Registry}
	f.hook.Registry = reg
	_, err := f.hook.Delete(t.Context(), mgmtDelete(stackA, nil))
	require.NoError(t, err)
	_, err = f.hook.Delete(t.Context(), gwEvent(cfnresource.Delete, nil))
	require.NoError(t, err)
	assert.Contains(t, f.logs.alerts(), alertDeleteFailed)
	assert.Empty(t, f.prov.removed, "nothing proven, nothing removed")
}

type brokenReads struct{ Registry }

func (b *brokenReads) Account(context.Context, string) (registry.AccountState, error) {
	return registry.AccountState{}, errDynamo
}
