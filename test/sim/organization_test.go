package sim

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// A StackSet rollout against moto and the real hook: a failing account fails an operation that
// tolerates no failure, and its stack is rolled back (with the template's 100 at once, every
// account of a small OU has started by then; one at a time, the accounts after it are not
// attempted), and an operation with two accounts at a time on two hook environments registers
// every account of the OU to the token's tenant.
func TestStackSetRollout(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	a, err := Start(ctx, Config{Root: "../..", HookConcurrency: 2})
	require.NoError(t, err)
	defer func() { assert.NoError(t, a.Close()) }()

	org, err := a.CreateOrganization(ctx, "210987654321")
	require.NoError(t, err)
	failing, err := org.CreateOU(ctx, org.Root, "failing")
	require.NoError(t, err)
	healthy, err := org.CreateOU(ctx, org.Root, "healthy")
	require.NoError(t, err)
	_, err = org.CreateAccounts(ctx, failing, "f", 2)
	require.NoError(t, err)
	want, err := org.CreateAccounts(ctx, healthy, "h", 2)
	require.NoError(t, err)
	token, err := a.Registry().IssueTenantToken(ctx, "acme")
	require.NoError(t, err)
	all, err := org.Accounts(ctx, []string{org.Root})
	require.NoError(t, err)
	assert.Len(t, all, 4, "the root's accounts, its OUs' included, the management account not")

	// the first account of the failing OU already has a role of the gateway's name
	first, err := org.Accounts(ctx, []string{failing})
	require.NoError(t, err)
	cfg, err := a.Account(ctx, first[0])
	require.NoError(t, err)
	c := iam.NewFromConfig(cfg)
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(policy.DefaultVendor().GatewayRoleName()),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
	require.NoError(t, err)

	op, err := org.DeployStackSet(ctx, StackSetInput{Parameters: map[string]string{"OrganizationalUnitIds": failing, "TenantToken": token}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 of 2 accounts failed, 0 tolerated")
	assert.Contains(t, err.Error(), "the StackSet's stack was rolled back")
	assert.Equal(t, Preferences{MaxConcurrent: 100, FailureTolerance: 0, Mode: SoftFailureTolerance}, op.Preferences,
		"the template's, for 2 accounts: 100 at once and 10 % tolerated, rounded down")
	assert.Equal(t, []string{Failed, Current}, statuses(op), "both at once: the second was made before the first failed")
	assert.Contains(t, op.Instances[0].Reason, "CREATE_FAILED SupportGatewayRole")
	assert.Contains(t, op.Instances[0].Reason, "the stack was rolled back")
	providers, err := c.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	require.NoError(t, err)
	assert.Empty(t, providers.OpenIDConnectProviderList, "the providers created before the role were deleted again")
	_, found, err := a.Registry().Get(ctx, first[0], registry.Gateway)
	require.NoError(t, err)
	assert.False(t, found, "the hook was never told")

	assert.Nil(t, org.StackSet(op.StackSet), "the StackSet's stack was rolled back")

	op, err = org.DeployStackSet(ctx, StackSetInput{Parameters: map[string]string{"OrganizationalUnitIds": failing, "TenantToken": token},
		Preferences: &OperationPreferences{MaxConcurrentCount: 1, FailureTolerancePercentage: 10, ConcurrencyMode: SoftFailureTolerance}})
	require.Error(t, err)
	assert.Equal(t, []string{Failed, Cancelled}, statuses(op), "one at a time: the account after the failure is not attempted")

	op, err = org.DeployStackSet(ctx, StackSetInput{Parameters: map[string]string{"OrganizationalUnitIds": healthy, "TenantToken": token},
		Preferences: &OperationPreferences{MaxConcurrentCount: 2, FailureToleranceCount: 1}})
	require.NoError(t, err)
	assert.Equal(t, []string{Current, Current}, statuses(op))
	ss := org.StackSet(op.StackSet)
	require.NotNil(t, ss)
	assert.True(t, ss.AutoDeployment, "the template's AutoDeployment")
	assert.False(t, ss.RetainStacks)
	assert.Len(t, ss.Stacks(), 2)
	require.NoError(t, a.Settle(ctx), "the hook proves each role after answering")
	for _, account := range want {
		o, _, err := a.Registry().Get(ctx, account, registry.Gateway)
		require.NoError(t, err)
		assert.Equal(t, registry.Registered, o.Status, "%s: %+v", account, o.Proof)
		assert.Equal(t, "acme", o.Tenant)
	}
}

func statuses(op *Operation) []string {
	var out []string
	for _, in := range op.Instances {
		out = append(out, in.Status)
	}
	return out
}

// StackSets' automatic deployment, as "Enable or disable automatic deployments for StackSets in AWS
// Organizations" describes it, against moto and the real hook: an account created in a target OU
// (here a child of the target) gets the stack, one moved between two targeted OUs keeps it
// untouched, one moved to an OU the StackSet does not target and one removed from the organization
// get theirs deleted (RetainStacksOnAccountRemoval false). The removed accounts' registrations end
// and their keys are retired, as the sweep finds them minutes and days later.
func TestStackSetAutoDeployment(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	a, err := Start(ctx, Config{Root: "../..", HookConcurrency: 2, Serving: SerialDynamoDB,
		HookEnv: []string{"PROPAGATION_BUDGET=2s"}})
	require.NoError(t, err)
	defer func() { assert.NoError(t, a.Close()) }()

	org, err := a.CreateOrganization(ctx, "210987654321")
	require.NoError(t, err)
	prod, err := org.CreateOU(ctx, org.Root, "prod")
	require.NoError(t, err)
	eu, err := org.CreateOU(ctx, prod, "eu") // nested: targeted through prod
	require.NoError(t, err)
	sandbox, err := org.CreateOU(ctx, org.Root, "sandbox")
	require.NoError(t, err)
	inProd, err := org.CreateAccounts(ctx, prod, "p", 3)
	require.NoError(t, err)
	inEU, err := org.CreateAccounts(ctx, eu, "e", 1)
	require.NoError(t, err)
	token, err := a.Registry().IssueTenantToken(ctx, "acme")
	require.NoError(t, err)

	op, err := org.DeployStackSet(ctx, StackSetInput{Parameters: map[string]string{"OrganizationalUnitIds": prod, "TenantToken": token},
		Preferences: &OperationPreferences{MaxConcurrentCount: 2, FailureToleranceCount: 1}})
	require.NoError(t, err)
	assert.Equal(t, 4, op.Count(Current), "the OU's accounts and its child OU's")
	ss := org.StackSet(op.StackSet)
	// the hook proves each role after answering: the accounts are registered before any leaves (an
	// account that left while its claim still waited for its proof would end REJECTED, its role gone;
	// a CI run under load raced that way)
	require.NoError(t, a.Settle(ctx))

	ops, err := org.AutoDeploy(ctx)
	require.NoError(t, err)
	require.Len(t, ops, 1)
	assert.Empty(t, ops[0].Instances, "nothing changed")

	joined, err := org.CreateAccounts(ctx, eu, "joined", 1)
	require.NoError(t, err)
	require.NoError(t, org.MoveAccount(ctx, inProd[0], eu))      // between targeted OUs
	require.NoError(t, org.MoveAccount(ctx, inProd[1], sandbox)) // out of the targets
	require.NoError(t, org.RemoveAccount(ctx, inEU[0]))          // out of the organization
	before := ss.Stacks()
	ops, err = org.AutoDeploy(ctx)
	require.NoError(t, err)
	require.Len(t, ops, 1)
	got := map[string]string{}
	for _, in := range ops[0].Instances {
		got[in.Account] = in.Action + " " + in.Status
	}
	assert.Equal(t, map[string]string{joined[0]: Create + " " + Current, inProd[1]: Delete + " " + Deleted, inEU[0]: Delete + " " + Deleted}, got)
	after := ss.Stacks()
	assert.Same(t, before[inProd[0]], after[inProd[0]], "the account moved between targeted OUs keeps its stack")
	assert.NotContains(t, after, inProd[1])
	assert.NotContains(t, after, inEU[0])
	require.NoError(t, a.Settle(ctx))

	for _, account := range []string{inProd[0], inProd[2], joined[0]} {
		o, _, err := a.Registry().Get(ctx, account, registry.Gateway)
		require.NoError(t, err)
		assert.Equal(t, registry.Registered, o.Status, account)
		assert.Equal(t, "acme", o.Tenant, account)
	}
	gone := []string{inProd[1], inEU[0]}
	for _, account := range gone {
		made, err := a.Footprint(ctx, account)
		require.NoError(t, err)
		assert.Empty(t, made, "the stack's deletion took the vendor's resources in %s", account)
	}

	// five minutes later STS still refuses the roles: the registrations end, their keys are kept
	// for a week in case a role comes back; after the week they are retired
	out, err := a.Sweep(ctx, time.Now().Add(6*time.Minute), hook.Paces{})
	require.NoError(t, err, out)
	for _, account := range gone {
		o, _, err := a.Registry().Get(ctx, account, registry.Gateway)
		require.NoError(t, err)
		assert.Equal(t, registry.Deregistered, o.Status, account)
		keys, err := a.KeyStates(ctx, account)
		require.NoError(t, err)
		assert.Equal(t, []string{"Enabled"}, keys, "restorable for a week")
	}
	out, err = a.Sweep(ctx, time.Now().Add(registry.RestoreWindow+time.Hour), hook.Paces{ReproofsPerHour: 1})
	require.NoError(t, err, out)
	for _, account := range gone {
		keys, err := a.KeyStates(ctx, account)
		require.NoError(t, err)
		assert.Equal(t, []string{"PendingDeletion"}, keys, account)
	}
	keys, err := a.KeyStates(ctx, inProd[0])
	require.NoError(t, err)
	assert.Equal(t, []string{"Enabled"}, keys, "a registered account keeps its key")
}

// CoverManagementAccount: the StackSet's own stack, which runs in the management account, deploys
// the gateway template there too (StackSets never reach it), registered to the token's tenant;
// without it, nothing is deployed there.
func TestStackSetCoversTheManagementAccount(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	a, err := Start(ctx, Config{Root: "../.."})
	require.NoError(t, err)
	defer func() { assert.NoError(t, a.Close()) }()
	org, err := a.CreateOrganization(ctx, "210987654321")
	require.NoError(t, err)
	empty, err := org.CreateOU(ctx, org.Root, "empty")
	require.NoError(t, err)
	token, err := a.Registry().IssueTenantToken(ctx, "acme")
	require.NoError(t, err)

	op, err := org.DeployStackSet(ctx, StackSetInput{Parameters: map[string]string{"OrganizationalUnitIds": empty, "TenantToken": token,
		"CoverManagementAccount": "true"}})
	require.NoError(t, err)
	assert.Empty(t, op.Instances, "no member account")
	require.NotNil(t, op.Management)
	assert.Equal(t, Current, op.Management.Status, op.Management.Reason)
	require.NoError(t, a.Settle(ctx))
	o, _, err := a.Registry().Get(ctx, org.Management, registry.Gateway)
	require.NoError(t, err)
	assert.Equal(t, registry.Registered, o.Status, "%+v", o.Proof)
	assert.Equal(t, "acme", o.Tenant, "the management account, registered to the token's tenant")
}
