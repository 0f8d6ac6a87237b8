package sim

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// A StackSet rollout against moto and the real hook: a failing account stops an operation that
// tolerates no failure (the accounts after it are not attempted, and its stack is rolled back), and
// an operation with two accounts at a time on two hook environments registers every account of the
// OU to the token's tenant.
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
	assert.Equal(t, Preferences{MaxConcurrent: 1, FailureTolerance: 0}, op.Preferences, "the template's: FailureTolerancePercentage 0")
	assert.Equal(t, []string{Failed, Cancelled}, statuses(op))
	assert.Contains(t, op.Instances[0].Reason, "CREATE_FAILED SupportGatewayRole")
	assert.Contains(t, op.Instances[0].Reason, "the stack was rolled back")
	providers, err := c.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	require.NoError(t, err)
	assert.Empty(t, providers.OpenIDConnectProviderList, "the providers created before the role were deleted again")
	_, found, err := a.Registry().Get(ctx, first[0], registry.Gateway)
	require.NoError(t, err)
	assert.False(t, found, "the hook was never told")

	op, err = org.DeployStackSet(ctx, StackSetInput{Parameters: map[string]string{"OrganizationalUnitIds": healthy, "TenantToken": token},
		Preferences: &Preferences{MaxConcurrent: 2}})
	require.NoError(t, err)
	assert.Equal(t, []string{Current, Current}, statuses(op))
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
