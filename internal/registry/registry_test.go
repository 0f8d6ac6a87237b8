package registry_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
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

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newRegistry(t *testing.T) (*registry.Registry, *clock) {
	t.Helper()
	r := registrytest.New(t, server.Server(t))
	c := &clock{now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	r.Now = c.Now
	return r, c
}

const (
	acct   = "111122223333"
	stackA = "arn:aws:cloudformation:us-east-1:111122223333:stack/doit-management-role/aaaa"
	stackB = "arn:aws:cloudformation:us-east-1:111122223333:stack/doit-support-gateway/bbbb"
)

// Save writes only if no record of the account changed since it was read: a record written
// meanwhile, or one that appeared, makes it write nothing and say ErrStale.
func TestSaveIsConditionalOnEveryRecordOfTheAccount(t *testing.T) {
	r, _ := newRegistry(t)
	ctx := t.Context()
	before, err := r.Account(ctx, acct)
	require.NoError(t, err)
	assert.Nil(t, before.Management)

	// another writer creates the gateway record
	_, err = r.Save(ctx, before, registry.Writes{Gateway: &registry.Onboarding{Status: registry.PendingProof, Tenant: "acme"}})
	require.NoError(t, err)

	// a write of the management record decided on the old state is refused, and writes nothing
	_, err = r.Save(ctx, before, registry.Writes{Management: &registry.Onboarding{Status: registry.Pending, Tenant: "globex", ExternalID: "ext-x"}})
	require.ErrorIs(t, err, registry.ErrStale)
	now, err := r.Account(ctx, acct)
	require.NoError(t, err)
	assert.Nil(t, now.Management)
	require.NotNil(t, now.Gateway)
	assert.Equal(t, int64(1), now.Gateway.Version)

	// decided on the current state, it goes through, and versions count the writes
	after, err := r.Save(ctx, now, registry.Writes{Management: &registry.Onboarding{Status: registry.Pending, Tenant: "acme", ExternalID: "ext-x"},
		Conflict: &registry.Conflict{Tenant: "acme", Claimant: "globex", Kind: registry.Gateway}})
	require.NoError(t, err)
	assert.Equal(t, int64(1), after.Management.Version)
	assert.Equal(t, int64(1), after.Conflict.Version)
	read, err := r.Account(ctx, acct)
	require.NoError(t, err)
	assert.Equal(t, after, read)

	// clearing the conflict is conditional too
	_, err = r.Save(ctx, now, registry.Writes{ClearConflict: true})
	require.ErrorIs(t, err, registry.ErrStale)
	cleared, err := r.Save(ctx, read, registry.Writes{ClearConflict: true})
	require.NoError(t, err)
	assert.Nil(t, cleared.Conflict)
	read, err = r.Account(ctx, acct)
	require.NoError(t, err)
	assert.Nil(t, read.Conflict)
}

// Racing claims on one account end with exactly one write applied: every racer read the same
// state, and the conditional transaction lets one win. The writes go one after another: DynamoDB
// serializes conditional writes, moto's threaded server does not (README: "checked only in a real
// AWS account").
func TestRacingClaimsOneWins(t *testing.T) {
	r, _ := newRegistry(t)
	ctx := t.Context()
	const racers = 8
	var states []registry.AccountState
	for range racers {
		st, err := r.Account(ctx, acct)
		require.NoError(t, err)
		states = append(states, st)
	}
	var winners []string
	for i, st := range states {
		stack := fmt.Sprintf("arn:aws:cloudformation:us-east-1:%s:stack/s/%d", acct, i)
		_, err := r.Save(ctx, st, registry.Writes{Gateway: &registry.Onboarding{Status: registry.PendingProof,
			Owner: registry.Owner{StackID: stack, LogicalID: "Hook"}}})
		if err == nil {
			winners = append(winners, stack)
			continue
		}
		assert.ErrorIs(t, err, registry.ErrStale)
	}
	require.Len(t, winners, 1)
	o, _, err := r.Get(ctx, acct, registry.Gateway)
	require.NoError(t, err)
	assert.Equal(t, winners[0], o.StackID)
}

// Update decides again on what it reads after a lost race.
func TestUpdateDecidesAgainAfterALostRace(t *testing.T) {
	r, _ := newRegistry(t)
	ctx := t.Context()
	calls := 0
	st, err := r.Update(ctx, acct, func(st registry.AccountState) (registry.Writes, error) {
		calls++
		if calls == 1 { // someone else writes between our read and our write
			_, err := r.Save(ctx, st, registry.Writes{Gateway: &registry.Onboarding{Status: registry.Registered, Tenant: "acme"}})
			require.NoError(t, err)
		}
		tenant, _ := st.BoundTenant()
		return registry.Writes{Management: &registry.Onboarding{Status: registry.Pending, Tenant: "seen:" + tenant, ExternalID: "e"}}, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
	assert.Equal(t, "seen:acme", st.Management.Tenant, "the second decision saw the other writer's record")

	// an error from decide is returned as it is, and nothing is written
	boom := errors.New("refused")
	_, err = r.Update(ctx, acct, func(registry.AccountState) (registry.Writes, error) { return registry.Writes{}, boom })
	assert.ErrorIs(t, err, boom)
}

func TestStartOnboarding(t *testing.T) {
	r, _ := newRegistry(t)
	ctx := t.Context()
	o, err := r.StartOnboarding(ctx, "acme", acct, "ext-first-link-000")
	require.NoError(t, err)
	assert.Equal(t, registry.Pending, o.Status)
	o, err = r.StartOnboarding(ctx, "acme", acct, "ext-second-link-00")
	require.NoError(t, err, "a new link replaces a pending one")
	assert.Equal(t, "ext-second-link-00", o.ExternalID)

	_, err = r.StartOnboarding(ctx, "globex", acct, "ext-third-link-000")
	assert.ErrorIs(t, err, registry.ErrOtherTenant, "a link never moves an account to another tenant")

	// registered by a stack: refused until that stack is deleted
	registrytest.Put(t, r, acct, registry.Writes{Management: &registry.Onboarding{Status: registry.Registered, Tenant: "acme",
		ExternalID: "ext-second-link-00", Owner: registry.Owner{StackID: stackA, LogicalID: "Hook"}, Owned: []string{"arn:x"}}})
	_, err = r.StartOnboarding(ctx, "acme", acct, "ext-third-link-000")
	assert.ErrorIs(t, err, registry.ErrAlreadyRegistered)

	// once deregistered a new link can be issued; what the earlier registration left behind is kept
	// for operators, no longer as the vendor's (something else may stand at those ARNs now)
	registrytest.Put(t, r, acct, registry.Writes{Management: &registry.Onboarding{Status: registry.Deregistered, Tenant: "acme",
		Owned: []string{"arn:x"}, Leftovers: []string{"arn:x"}}})
	o, err = r.StartOnboarding(ctx, "acme", acct, "ext-third-link-000")
	require.NoError(t, err)
	assert.Empty(t, o.Owned)
	assert.Equal(t, []string{"arn:x"}, o.Leftovers)

	// an account whose support-gateway stack is registered cannot get the management role too
	other := "444455556666"
	registrytest.Put(t, r, other, registry.Writes{Gateway: &registry.Onboarding{Status: registry.Unclaimed, Owner: registry.Owner{StackID: stackB}}})
	_, err = r.StartOnboarding(ctx, "acme", other, "ext-gw-link-00000")
	assert.ErrorIs(t, err, registry.ErrAlreadyRegistered)

	// nor one in a proven conflict
	third := "555566667777"
	registrytest.Put(t, r, third, registry.Writes{Conflict: &registry.Conflict{Proven: true, Tenant: "acme", Claimant: "globex"}})
	_, err = r.StartOnboarding(ctx, "acme", third, "ext-conflict-0000")
	assert.ErrorIs(t, err, registry.ErrOtherTenant)

	// a claimed conflict (a refused claim, which proves nothing) blocks nothing
	fourth := "555566668888"
	registrytest.Put(t, r, fourth, registry.Writes{Conflict: &registry.Conflict{Tenant: "acme", Claimant: "globex"}})
	_, err = r.StartOnboarding(ctx, "acme", fourth, "ext-claimed-00000")
	assert.NoError(t, err)
}

func TestTenantTokens(t *testing.T) {
	r, _ := newRegistry(t)
	ctx := t.Context()
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
	out, err := r.DB.(*dynamodb.Client).Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(r.Table)})
	require.NoError(t, err)
	var items []map[string]any
	require.NoError(t, attributevalue.UnmarshalListOfMaps(out.Items, &items))
	assert.NotContains(t, fmt.Sprint(items), token)
	assert.Contains(t, fmt.Sprint(items), registry.TokenHash(token))
}

func TestRolledBackCreatesAreRemembered(t *testing.T) {
	r, _ := newRegistry(t)
	ctx := t.Context()
	gone, err := r.RolledBack(ctx, "create-failed-1")
	require.NoError(t, err)
	assert.False(t, gone)
	require.NoError(t, r.MarkRolledBack(ctx, "create-failed-1"))
	require.NoError(t, r.MarkRolledBack(ctx, "create-failed-1"), "idempotent")
	gone, err = r.RolledBack(ctx, "create-failed-1")
	require.NoError(t, err)
	assert.True(t, gone)
	gone, err = r.RolledBack(ctx, "create-failed-2")
	require.NoError(t, err)
	assert.False(t, gone)
}

// A write for a Create CloudFormation rolled back is refused in the same transaction that checks the
// rollback, so a late copy of the Create and the rollback can never both think they were first.
func TestWritesOfARolledBackCreateAreRefused(t *testing.T) {
	r, _ := newRegistry(t)
	ctx := t.Context()
	st, err := r.Account(ctx, acct)
	require.NoError(t, err)
	w := registry.Writes{Gateway: &registry.Onboarding{Status: registry.PendingProof}, NotRolledBack: "create-failed-req-1"}
	require.NoError(t, r.MarkRolledBack(ctx, "create-failed-req-1"))
	_, err = r.Save(ctx, st, w)
	require.ErrorIs(t, err, registry.ErrRolledBack)
	_, found, err := r.Get(ctx, acct, registry.Gateway)
	require.NoError(t, err)
	assert.False(t, found, "nothing written")
	w.NotRolledBack = "create-failed-req-2"
	_, err = r.Save(ctx, st, w)
	require.NoError(t, err, "another request's rollback does not matter")
}

func TestTakePacesPerWindow(t *testing.T) {
	r, c := newRegistry(t)
	ctx := t.Context()
	c.now = time.Date(2026, 11, 24, 10, 20, 0, 0, time.UTC)
	for i := range 3 {
		ok, _, err := r.Take(ctx, "unproven", 3, time.Hour)
		require.NoError(t, err)
		assert.True(t, ok, "take %d", i)
	}
	spent, err := r.Exhausted(ctx, "unproven", 3, time.Hour)
	require.NoError(t, err)
	assert.True(t, spent)
	ok, next, err := r.Take(ctx, "unproven", 3, time.Hour)
	require.NoError(t, err)
	assert.False(t, ok, "the hour's budget is spent")
	assert.Equal(t, time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC), next)
	ok, _, err = r.Take(ctx, "other", 3, time.Hour)
	require.NoError(t, err)
	assert.True(t, ok, "budgets are separate")
	spent, err = r.Exhausted(ctx, "other", 3, time.Hour)
	require.NoError(t, err)
	assert.False(t, spent)
	c.now = next
	ok, _, err = r.Take(ctx, "unproven", 3, time.Hour)
	require.NoError(t, err)
	assert.True(t, ok, "a new window")
	_, _, err = r.Take(ctx, "unproven", 0, time.Hour)
	assert.Error(t, err)
}

func TestListByStatusAndConflicts(t *testing.T) {
	r, _ := newRegistry(t)
	ctx := t.Context()
	registrytest.Put(t, r, acct, registry.Writes{Gateway: &registry.Onboarding{Status: registry.Unclaimed}})
	registrytest.Put(t, r, "444455556666", registry.Writes{Gateway: &registry.Onboarding{Status: registry.PendingProof},
		Conflict: &registry.Conflict{Tenant: "acme", Claimant: "globex"}})
	unclaimed, err := r.ListByStatus(ctx, registry.Unclaimed)
	require.NoError(t, err)
	require.Len(t, unclaimed, 1)
	assert.Equal(t, acct, unclaimed[0].AccountID)
	assert.Equal(t, registry.Gateway, unclaimed[0].Kind)
	conflicts, err := r.Conflicts(ctx)
	require.NoError(t, err)
	require.Len(t, conflicts, 1)
	assert.Equal(t, "444455556666", conflicts[0].AccountID)
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

// A tenant's accounts are those with a record naming it, as tenant or as a pending claim's tenant,
// each read whole; another tenant's accounts, and a claim of another tenant's, are not among them.
func TestTenantAccounts(t *testing.T) {
	r, _ := newRegistry(t)
	ctx := t.Context()
	const (
		registered = "111100000001"
		pending    = "111100000002"
		claimed    = "111100000003"
		ended      = "111100000004"
		globex     = "111100000005"
		unclaimed  = "111100000006"
	)
	registrytest.Put(t, r, registered, registry.Writes{Management: &registry.Onboarding{Status: registry.Registered, Tenant: "acme"},
		Conflict: &registry.Conflict{Tenant: "acme", Claimant: "globex"}})
	registrytest.Put(t, r, pending, registry.Writes{Management: &registry.Onboarding{Status: registry.Pending, Tenant: "acme", ExternalID: "ext-1"}})
	registrytest.Put(t, r, claimed, registry.Writes{Gateway: &registry.Onboarding{Status: registry.PendingProof, ClaimTenant: "acme"}})
	registrytest.Put(t, r, ended, registry.Writes{Management: &registry.Onboarding{Status: registry.Deregistered, Tenant: "acme"}})
	registrytest.Put(t, r, globex, registry.Writes{Gateway: &registry.Onboarding{Status: registry.Registered, Tenant: "globex"}})
	registrytest.Put(t, r, unclaimed, registry.Writes{Gateway: &registry.Onboarding{Status: registry.Unclaimed}})
	_, err := r.IssueTenantToken(ctx, "acme") // not an account's record
	require.NoError(t, err)

	got, err := r.TenantAccounts(ctx, "acme")
	require.NoError(t, err)
	var ids []string
	for _, st := range got {
		ids = append(ids, st.AccountID)
	}
	assert.Equal(t, []string{registered, pending, claimed, ended}, ids)
	require.NotNil(t, got[0].Management)
	require.NotNil(t, got[0].Conflict, "the account is read whole")
	assert.Equal(t, registry.Registered, got[0].Management.Status)
	assert.Equal(t, "acme", got[2].Gateway.ClaimTenant)

	got, err = r.TenantAccounts(ctx, "globex")
	require.NoError(t, err)
	require.Len(t, got, 1, "a conflict naming globex as claimant is not globex's account")
	assert.Equal(t, globex, got[0].AccountID)

	got, err = r.TenantAccounts(ctx, "initech")
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = r.TenantAccounts(ctx, "")
	assert.Error(t, err)
}

// A tenant lists its tokens (never another tenant's, never the token) and revokes one: the
// revoked token resolves to nothing, the others still do, and the list says who revoked it.
func TestTenantTokenListAndRevocation(t *testing.T) {
	r, c := newRegistry(t)
	ctx := t.Context()
	first, firstToken, err := r.IssueTenantTokenBy(ctx, "acme", "tenant:acme/bob@acme.example")
	require.NoError(t, err)
	c.now = c.now.Add(time.Minute)
	second, secondToken, err := r.IssueTenantTokenBy(ctx, "acme", "")
	require.NoError(t, err)
	other, otherToken, err := r.IssueTenantTokenBy(ctx, "globex", "tenant:globex/gina@globex.example")
	require.NoError(t, err)
	assert.Equal(t, registry.TokenHash(firstToken)[:registry.TokenIDLength], first.ID)

	list, err := r.TenantTokens(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []string{first.ID, second.ID}, []string{list[0].ID, list[1].ID}, "oldest first")
	assert.Equal(t, "tenant:acme/bob@acme.example", list[0].IssuedBy)
	assert.Equal(t, time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), list[0].IssuedAt)
	assert.True(t, list[0].RevokedAt.IsZero())

	// another tenant's token, an unknown ID and a prefix are not acme's to revoke
	for _, id := range []string{other.ID, "0123456789abcdef", first.ID[:8], ""} {
		_, err := r.RevokeTenantToken(ctx, "acme", id, "tenant:acme/bob@acme.example")
		assert.ErrorIs(t, err, registry.ErrNoSuchToken, "%q", id)
	}
	c.now = c.now.Add(time.Minute)
	revoked, err := r.RevokeTenantToken(ctx, "acme", first.ID, "tenant:acme/bob@acme.example")
	require.NoError(t, err)
	assert.Equal(t, c.now, revoked.RevokedAt)
	_, err = r.RevokeTenantToken(ctx, "acme", first.ID, "tenant:acme/bob@acme.example")
	assert.ErrorIs(t, err, registry.ErrNoSuchToken, "revoked once only")

	for token, want := range map[string]string{firstToken: "", secondToken: "acme", otherToken: "globex"} {
		tenant, ok, err := r.ResolveTenantToken(ctx, token)
		require.NoError(t, err)
		assert.Equal(t, want != "", ok)
		assert.Equal(t, want, tenant)
	}
	for token, want := range map[string]bool{firstToken: true, secondToken: false, "tt-never-issued": false, "": false} {
		revoked, err := r.TokenRevoked(ctx, token)
		require.NoError(t, err)
		assert.Equal(t, want, revoked, "%q", token)
	}
	list, err = r.TenantTokens(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, c.now, list[0].RevokedAt)
	assert.Equal(t, "tenant:acme/bob@acme.example", list[0].RevokedBy)
	assert.True(t, list[1].RevokedAt.IsZero())
	_, err = r.TenantTokens(ctx, "")
	assert.Error(t, err)
}
