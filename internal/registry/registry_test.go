package registry_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/internal/registry/registrytest"
	"github.com/supportaccess/gateway/test/moto"
)

// The registry's guarantees are its conditional writes, so it is tested against a real DynamoDB
// stand-in (moto server), one table per test.

var server moto.Shared

func TestMain(m *testing.M) { os.Exit(server.Run(m)) }

func newRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	r := registrytest.New(t, server.Server(t))
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	r.Now = func() time.Time { return now }
	return r
}

const (
	acct   = "111122223333"
	stackA = "arn:aws:cloudformation:us-east-1:111122223333:stack/doit-management-role/aaaa"
	stackB = "arn:aws:cloudformation:eu-west-1:111122223333:stack/doit-management-role/bbbb"
	role   = "arn:aws:iam::111122223333:role/DoiT_Management_Role_DO-NOT-DELETE"
)

func mgmt(ext, stack, request string) registry.Registration {
	return registry.Registration{AccountID: acct, Kind: registry.Management, ExternalID: ext, RoleARN: role, TemplateVersion: "v1",
		BoundaryARN: "arn:aws:iam::111122223333:policy/DoiT_Support_Boundary_DO-NOT-DELETE", StackID: stack, RequestID: request}
}

func TestManagementLifecycle(t *testing.T) {
	r, ctx := newRegistry(t), t.Context()
	ext, err := registry.NewExternalID()
	require.NoError(t, err)

	_, err = r.Register(ctx, mgmt(ext, stackA, "r1"))
	assert.ErrorIs(t, err, registry.ErrNoPendingOnboarding, "no link was issued")

	o, err := r.StartOnboarding(ctx, "tenant-1", acct, ext)
	require.NoError(t, err)
	assert.Equal(t, registry.Pending, o.Status)

	_, err = r.Register(ctx, mgmt("ext-wrong-wrong-wrong", stackA, "r1"))
	assert.ErrorIs(t, err, registry.ErrExternalIDMismatch)

	o, err = r.Register(ctx, mgmt(ext, stackA, "r1"))
	require.NoError(t, err)
	assert.Equal(t, registry.Registered, o.Status)
	assert.Equal(t, stackA, o.OwnerStackID)
	assert.Equal(t, "tenant-1", o.Tenant, "the tenant comes from the pending onboarding")
	assert.Equal(t, role, o.RoleARN)

	// duplicate delivery and a retried request: the same registration
	again, err := r.Register(ctx, mgmt(ext, stackA, "r1"))
	require.NoError(t, err)
	assert.Equal(t, o, again)

	// a second stack (another region) cannot take the account
	_, err = r.Register(ctx, mgmt(ext, stackB, "r2"))
	var owned *registry.OwnedError
	require.ErrorAs(t, err, &owned)
	assert.Equal(t, stackA, owned.StackID)
	assert.ErrorIs(t, err, registry.ErrAlreadyRegistered)

	// nor can a new link be issued over it
	_, err = r.StartOnboarding(ctx, "tenant-2", acct, ext)
	assert.ErrorAs(t, err, &owned)

	// stack B's rolled-back Create deletes nothing of A's
	changed, err := r.Deregister(ctx, acct, registry.Management, stackB, "r3", nil)
	require.NoError(t, err)
	assert.False(t, changed)
	got, _, err := r.Get(ctx, acct, registry.Management)
	require.NoError(t, err)
	assert.Equal(t, registry.Registered, got.Status)

	changed, err = r.Deregister(ctx, acct, registry.Management, stackA, "r4", []string{"role/doit-support/DoiT-Support"})
	require.NoError(t, err)
	assert.True(t, changed)
	got, _, err = r.Get(ctx, acct, registry.Management)
	require.NoError(t, err)
	assert.Equal(t, []string{"role/doit-support/DoiT-Support"}, got.Leftovers, "what the Delete could not remove is on record")
	changed, err = r.Deregister(ctx, acct, registry.Management, stackA, "r4", nil)
	require.NoError(t, err)
	assert.False(t, changed, "a repeated Delete changes nothing")

	// after deregistration a new link can be issued
	_, err = r.StartOnboarding(ctx, "tenant-1", acct, "ext-second-link-0000")
	require.NoError(t, err)
}

// Regions racing for one account end in exactly one registration: every racer has seen the
// account pending (the hook's early check passed for all of them), and the conditional write lets
// exactly one win. The writes go one after another: DynamoDB serializes conditional writes on one
// item, but moto's threaded server does not, so true concurrency is checked only against DynamoDB
// itself (README: "Checked only in a real AWS account").
func TestRacingStacksOneWins(t *testing.T) {
	r, ctx := newRegistry(t), t.Context()
	ext := "ext-race-race-race-race"
	_, err := r.StartOnboarding(ctx, "tenant-1", acct, ext)
	require.NoError(t, err)
	const racers = 8
	for range racers {
		o, found, err := r.Get(ctx, acct, registry.Management)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, registry.Pending, o.Status, "every racer saw the account pending")
	}
	var winners []string
	for i := range racers {
		stack := fmt.Sprintf("arn:aws:cloudformation:us-east-%d:%s:stack/s/%d", i%2+1, acct, i)
		_, err := r.Register(ctx, mgmt(ext, stack, fmt.Sprint(i)))
		if err == nil {
			winners = append(winners, stack)
			continue
		}
		assert.ErrorIs(t, err, registry.ErrAlreadyRegistered)
	}
	require.Len(t, winners, 1)
	o, _, err := r.Get(ctx, acct, registry.Management)
	require.NoError(t, err)
	assert.Equal(t, winners[0], o.OwnerStackID)
}

func TestGatewayRegistrationAndTenantTokens(t *testing.T) {
	r, ctx := newRegistry(t), t.Context()
	token, err := r.IssueTenantToken(ctx, "tenant-1")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(token, "tt-"))

	tenant, ok, err := r.ResolveTenantToken(ctx, token)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "tenant-1", tenant)
	for _, bad := range []string{"", "tt-unknown", token + "x"} {
		_, ok, err := r.ResolveTenantToken(ctx, bad)
		require.NoError(t, err)
		assert.False(t, ok, "%q", bad)
	}
	_, err = r.IssueTenantToken(ctx, "")
	assert.Error(t, err)

	// the token itself is never stored, only its hash
	out, err := r.DB.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(r.Table)})
	require.NoError(t, err)
	assert.NotContains(t, fmt.Sprint(out.Items), token)

	gw := func(tenant, stack string) registry.Registration {
		return registry.Registration{AccountID: acct, Kind: registry.Gateway, Tenant: tenant, RoleARN: "arn:aws:iam::111122223333:role/DoiT-Support-registry.Gateway",
			ProviderARNs: []string{"p1", "p2"}, Runbooks: true, StackID: stack, RequestID: "r"}
	}
	o, err := r.Register(ctx, gw("", stackA))
	require.NoError(t, err)
	assert.Equal(t, registry.Unclaimed, o.Status)
	assert.Equal(t, []string{"p1", "p2"}, o.ProviderARNs)
	assert.True(t, o.Runbooks)
	unclaimed, err := r.ListByStatus(ctx, registry.Unclaimed)
	require.NoError(t, err)
	require.Len(t, unclaimed, 1)
	assert.Equal(t, acct, unclaimed[0].AccountID)

	o, err = r.Register(ctx, gw("tenant-1", stackA))
	require.NoError(t, err)
	assert.Equal(t, registry.Registered, o.Status, "an update with a valid token claims the account")

	_, err = r.Register(ctx, gw("tenant-2", stackB))
	assert.ErrorIs(t, err, registry.ErrAlreadyRegistered)

	// the management record of the same account is separate
	_, found, err := r.Get(ctx, acct, registry.Management)
	require.NoError(t, err)
	assert.False(t, found)
}

func TestRegisterRefusesUnknownKind(t *testing.T) {
	r := newRegistry(t)
	_, err := r.Register(t.Context(), registry.Registration{AccountID: acct, Kind: "OTHER"})
	assert.ErrorContains(t, err, "unknown kind")
	assert.False(t, errors.Is(err, registry.ErrAlreadyRegistered))
}

func TestExternalIDsAreFreshAndValid(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, err := registry.NewExternalID()
		require.NoError(t, err)
		assert.Regexp(t, `^[A-Za-z0-9+=,.@:/_-]+$`, id, "the template's AllowedPattern")
		assert.True(t, len(id) >= 16 && len(id) <= 1224, "the template's AllowedPattern: %d characters", len(id))
		assert.False(t, seen[id])
		seen[id] = true
	}
}
