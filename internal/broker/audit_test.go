package broker_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/registry"
)

func TestBrokerAuditLogOnDynamoDB(t *testing.T) {
	db, table := newTable(t)
	ctx := t.Context()
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	require.NoError(t, err)
	assert.Equal(t, types.TimeToLiveStatusEnabled, ttl.TimeToLiveDescription.TimeToLiveStatus)
	assert.Equal(t, "ExpiresAt", aws.ToString(ttl.TimeToLiveDescription.AttributeName))

	log := &broker.AuditLog{DB: db, Table: table}
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	events := []broker.Event{
		{Time: t0, Type: broker.EventRequested, Actor: engineer, Engineer: engineer, Account: acct, RequestID: "req-1", Ticket: ticket},
		{Time: t0.Add(time.Minute), Type: broker.EventApproved, Actor: approver, Engineer: engineer, Account: acct, RequestID: "req-1"},
		{Time: t0.Add(2 * time.Minute), Type: broker.EventRequested, Actor: "carol@doit.com", Engineer: "carol@doit.com", Account: other, RequestID: "req-2"},
		{Time: t0.Add(3 * time.Minute), Type: broker.EventRefused, Action: "credentials", Actor: "mallory@doit.com", Engineer: "mallory@doit.com", Account: acct, RequestID: "req-1", Reason: "only the requester"},
		{Time: t0.Add(4 * time.Minute), Type: broker.EventSession, Actor: engineer, Engineer: engineer, Account: acct, RequestID: "req-1",
			AccessKeyLast: "WXYZ", SessionExpiry: t0.Add(64 * time.Minute), SessionName: "alice@doit.com-SUP-1234"},
	}
	for _, e := range events {
		require.NoError(t, log.Record(ctx, e))
	}

	byAccount, err := log.List(ctx, broker.Filter{Account: acct})
	require.NoError(t, err)
	var got []string
	for _, e := range byAccount {
		got = append(got, string(e.Type)+"/"+e.Actor)
		assert.NotEmpty(t, e.ID)
	}
	assert.Equal(t, []string{"REQUESTED/alice@doit.com", "APPROVED/tenant:acme/bob", "REFUSED/mallory@doit.com", "SESSION_ISSUED/alice@doit.com"}, got, "oldest first, only this account")

	byEngineer, err := log.List(ctx, broker.Filter{Engineer: engineer})
	require.NoError(t, err)
	assert.Len(t, byEngineer, 3)
	byActor, err := log.List(ctx, broker.Filter{Engineer: approver})
	require.NoError(t, err)
	assert.Len(t, byActor, 1, "a decision is listed under the approver too")
	window, err := log.List(ctx, broker.Filter{Account: acct, Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)})
	require.NoError(t, err)
	assert.Len(t, window, 1, "[since, until)")

	// JSON lines, one event a line, decodable
	var buf bytes.Buffer
	require.NoError(t, log.Export(ctx, &buf, broker.Filter{Account: acct}))
	sc := bufio.NewScanner(&buf)
	n := 0
	for sc.Scan() {
		var e broker.Event
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), sc.Text())
		assert.Equal(t, byAccount[n].ID, e.ID)
		n++
	}
	assert.Equal(t, 4, n)
	assert.Equal(t, "WXYZ", byAccount[3].AccessKeyLast)
	assert.True(t, t0.Add(64*time.Minute).Equal(byAccount[3].SessionExpiry))

	// every item carries the 30-day TTL
	scan, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	require.NoError(t, err)
	assert.Len(t, scan.Items, 11, "one item per account and person an event names")
	for _, item := range scan.Items {
		exp, ok := item["ExpiresAt"].(*types.AttributeValueMemberN)
		require.True(t, ok, "ExpiresAt is a number")
		secs, err := strconv.ParseInt(exp.Value, 10, 64)
		require.NoError(t, err)
		created := time.Time{}
		require.NoError(t, created.UnmarshalText([]byte(item["Time"].(*types.AttributeValueMemberS).Value)))
		assert.Equal(t, created.Add(30*24*time.Hour).Unix(), secs)
	}

	_, err = log.List(ctx, broker.Filter{})
	assert.ErrorIs(t, err, broker.ErrInvalid)
	_, err = log.List(ctx, broker.Filter{Account: acct, Engineer: engineer})
	assert.ErrorIs(t, err, broker.ErrInvalid)
	assert.Error(t, log.Record(ctx, broker.Event{Type: broker.EventRefused}), "an event must be listable somewhere")
}

// A customer reads its own tenant's part of its account's audit: not another tenant's refused
// probes of it (their principals, their details), nor the account's history under a previous
// tenant; the vendor reads all of it.
func TestCustomerAuditIsItsTenantsOnly(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	r := f.request(t)
	// globex probes acme's account and request
	const prober = "tenant:globex/mallory@globex.example"
	for _, path := range []string{"/requests/" + r.ID + "/approve", "/requests/" + r.ID + "/revoke"} {
		status, _, _ := api.call("POST", path, prober, "")
		require.Equal(t, 404, status)
	}
	status, _, _ := api.call("POST", "/accounts/"+acct+"/pre-approval", prober, `{"maxDuration":"1h"}`)
	require.Equal(t, 404, status)
	status, _, _ = api.call("GET", "/audit?account="+acct, prober, "")
	require.Equal(t, 404, status)
	// an engineer's refused attempt on acme's account is acme's business
	_, err := f.b.Credentials(t.Context(), "eve@doit.com", r.ID)
	require.Error(t, err)
	_, err = f.b.Approve(t.Context(), approver, r.ID)
	require.NoError(t, err)

	read := func(who string) string {
		status, body, _ := api.call("GET", "/audit?account="+acct, who, "")
		require.Equal(t, 200, status, body)
		return body
	}
	acme := read(approver)
	assert.NotContains(t, acme, "globex", "another tenant's probes are not the owner's to read")
	assert.NotContains(t, acme, "mallory")
	for _, want := range []string{`"REQUESTED"`, `"APPROVED"`, `"eve@doit.com"`} {
		assert.Contains(t, acme, want)
	}
	status, vendor, _ := api.call("GET", "/audit?engineer="+url.QueryEscape(prober), "ops@doit.com", "")
	require.Equal(t, 200, status, vendor)
	assert.Contains(t, vendor, `"read-audit"`, "the vendor finds another tenant's probes under the prober")
	assert.NotContains(t, read("ops@doit.com"), "mallory", "not in the account's partition, which they would grow")

	// the account changes hands: globex reads nothing of acme's time
	f.reg[acct+"/MANAGEMENT"] = registry.Onboarding{AccountID: acct, Kind: registry.Management, Tenant: "globex", Status: registry.Registered}
	globex := read(prober)
	for _, gone := range []string{engineer, ticket, "acme", "eve@doit.com", `"APPROVED"`} {
		assert.NotContains(t, globex, gone, "the previous tenant's history")
	}
	assert.NotContains(t, globex, r.ID, "globex's probes from before it owned the account are filed under globex's customer")
	status, _, _ = api.call("POST", "/accounts/"+acct+"/pre-approval", prober, `{"maxDuration":"2h"}`)
	require.Equal(t, 400, status)
	globex = read(prober)
	assert.Contains(t, globex, `"pre-approve"`, "globex's refusal on its own account is in the account's audit")
	assert.NotContains(t, globex, `"detail"`, "a refusal's detail is the vendor's: the caller was told less")
}

// ReadAudit is GET /audit's rule for a program in the same process (the console): a customer reads
// its own account's events, its tenant's only and without their detail; another tenant's account
// answers as an unknown one, and the refusal is audited under the prober.
func TestReadAuditAppliesTheCustomerRule(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	r := f.request(t)
	_, err := f.b.Approve(ctx, "tenant:globex/mallory@globex.example", r.ID)
	require.ErrorIs(t, err, broker.ErrNotFound)
	_, err = f.b.Dismiss(ctx, approver, r.ID, "") // refused: a reason is required
	require.ErrorIs(t, err, broker.ErrInvalid)

	events, err := f.b.ReadAudit(ctx, approver, broker.Filter{Account: acct, Tenant: "globex"})
	require.NoError(t, err)
	var types []broker.EventType
	for _, e := range events {
		types = append(types, e.Type)
		assert.Equal(t, "acme", e.Tenant, "the tenant is the caller's, whatever the filter said")
		assert.Empty(t, e.Detail)
	}
	assert.Equal(t, []broker.EventType{broker.EventRequested, broker.EventRefused}, types)

	_, err = f.b.ReadAudit(ctx, "tenant:globex/mallory@globex.example", broker.Filter{Account: acct})
	require.ErrorIs(t, err, broker.ErrAccountUnavailable)
	assert.Equal(t, "no account "+acct+" you can use", err.Error())
	probe := lastRefusal(t, f.events(t, broker.Filter{Engineer: "tenant:globex/mallory@globex.example"}))
	assert.Equal(t, "read-audit", probe.Action)

	_, err = f.b.ReadAudit(ctx, approver, broker.Filter{Engineer: engineer})
	require.ErrorIs(t, err, broker.ErrForbidden, "a customer reads by account only")
	_, err = f.b.ReadAudit(ctx, approver, broker.Filter{Account: "12"})
	require.ErrorIs(t, err, broker.ErrInvalid)
	probes, err := f.b.ReadAudit(ctx, "ops@doit.com", broker.Filter{Engineer: "tenant:globex/mallory@globex.example"})
	require.NoError(t, err)
	require.NotEmpty(t, probes, "the vendor reads any person's events")
	assert.Contains(t, probes[0].Detail, "acme", "with the detail the prober was not told")
}

// A tenant's CONFIGURED events (the console's tokens and links) are listed under the tenant too: its
// customers read them there (without Detail), and no one of another tenant can.
func TestTenantsConfigurationEvents(t *testing.T) {
	f := newFixture(t)
	log := f.b.Audit()
	for _, e := range []broker.Event{
		{Type: broker.EventConfigured, Action: "issue-tenant-token", Actor: approver, Tenant: "acme", Reason: "tenant token 0123 issued", Detail: "vendor only"},
		{Type: broker.EventConfigured, Action: "issue-tenant-token", Actor: "tenant:globex/gina@globex.example", Tenant: "globex", Reason: "globex's"},
		{Type: broker.EventRefused, Action: "console issue-tenant-token", Actor: approver, Tenant: "acme", Reason: "not a configuration"},
	} {
		require.NoError(t, log.Record(t.Context(), e))
	}
	got, err := f.b.ReadAudit(t.Context(), approver, broker.Filter{Configuration: "acme"})
	require.NoError(t, err)
	require.Len(t, got, 1, "acme's configuration only")
	assert.Equal(t, "tenant token 0123 issued", got[0].Reason)
	assert.Empty(t, got[0].Detail, "a customer reads no Detail")

	for _, f2 := range []broker.Filter{{Configuration: "globex"}, {Configuration: "acme", Engineer: approver}, {Configuration: "acme", Account: acct}} {
		_, err := f.b.ReadAudit(t.Context(), approver, f2)
		assert.Error(t, err, "%+v", f2)
	}
	_, err = f.b.ReadAudit(t.Context(), "tenant:globex/gina@globex.example", broker.Filter{Configuration: "acme"})
	assert.ErrorIs(t, err, broker.ErrForbidden, "another tenant's configuration")
	all, err := log.List(t.Context(), broker.Filter{Configuration: "acme"})
	require.NoError(t, err)
	assert.Equal(t, "vendor only", all[0].Detail, "the vendor reads it whole")
}
