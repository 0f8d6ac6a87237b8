package broker_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/registry"
)

// list calls GET path as who and decodes the page.
func (c *apiClient) list(path, who string) broker.RequestPage {
	c.t.Helper()
	status, body, _ := c.call("GET", path, who, "")
	require.Equal(c.t, http.StatusOK, status, "%s as %s: %s", path, who, body)
	var page broker.RequestPage
	require.NoError(c.t, json.Unmarshal([]byte(body), &page), body)
	return page
}

func ids(rs []broker.Request) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// Who sees which requests: an engineer their own (any account's by naming it), a customer its
// tenant's (one account's while its tenant owns it); newest first, in their state at now; another
// tenant's answer as unknown ones do.
func TestBrokerListsRequests(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	ctx := t.Context()
	make := func(who, account string) broker.Request {
		t.Helper()
		f.clock.Advance(time.Second)
		r, err := f.b.Request(ctx, who, account, ticket, "the deploys fail", time.Hour)
		require.NoError(t, err)
		return r
	}
	a1, a2, a3 := make(engineer, acct), make(engineer, gwAcct), make(engineer, acct)
	b1 := make("bob@doit.com", acct)
	g1 := make(engineer, other) // globex's account
	_, err := f.b.Approve(ctx, approver, a1.ID)
	require.NoError(t, err)
	_, err = f.b.Dismiss(ctx, approver, a3.ID, "not under contract")
	require.NoError(t, err)

	assert.Equal(t, ids([]broker.Request{g1, a3, a2, a1}), ids(api.list("/requests", engineer).Requests), "mine, newest first")
	assert.Equal(t, ids([]broker.Request{b1}), ids(api.list("/requests", "bob@doit.com").Requests))
	assert.Equal(t, ids([]broker.Request{b1, a3, a1}), ids(api.list("/requests?account="+acct, "bob@doit.com").Requests),
		"the vendor reads any account's")
	acme := api.list("/requests", approver)
	assert.Equal(t, ids([]broker.Request{b1, a3, a2, a1}), ids(acme.Requests), "the tenant's")
	assert.Equal(t, ids([]broker.Request{b1, a2}), ids(api.list("/requests?state=pending", approver).Requests))
	assert.Equal(t, ids([]broker.Request{a3}), ids(api.list("/requests?state=DISMISSED&account="+acct, approver).Requests))
	assert.Equal(t, "not under contract", api.list("/requests?state=DISMISSED", approver).Requests[0].DecisionReason)
	assert.Equal(t, ids([]broker.Request{g1}), ids(api.list("/requests", "tenant:globex/eve").Requests))

	// the state is the one at now
	f.clock.Advance(broker.DefaultPendingFor + time.Minute)
	expired := api.list("/requests?state=EXPIRED", approver)
	assert.Equal(t, ids([]broker.Request{b1, a2, a1}), ids(expired.Requests), "pending past its wait, approved past its window")
	for _, r := range expired.Requests {
		assert.Equal(t, broker.Expired, r.State)
	}
	assert.Empty(t, api.list("/requests?state=PENDING", approver).Requests)
	status, body, _ := api.call("GET", "/requests/"+a1.ID, approver, "")
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"state":"EXPIRED"`)

	// another tenant's account and request answer as unknown ones
	s1, theirs, _ := api.call("GET", "/requests?account="+acct, "tenant:globex/eve", "")
	s2, none, _ := api.call("GET", "/requests?account=999999999999", "tenant:globex/eve", "")
	assert.Equal(t, http.StatusNotFound, s1)
	assert.Equal(t, s2, s1)
	assert.Equal(t, strings.ReplaceAll(none, "999999999999", acct), theirs)
	s1, theirs, _ = api.call("GET", "/requests/"+a1.ID, "tenant:globex/eve", "")
	unknown := "req-" + strings.Repeat("0", 24)
	s2, none, _ = api.call("GET", "/requests/"+unknown, "tenant:globex/eve", "")
	assert.Equal(t, http.StatusNotFound, s1)
	assert.Equal(t, s2, s1)
	assert.Equal(t, strings.ReplaceAll(none, unknown, a1.ID), theirs)
	for _, leak := range []string{engineer, ticket, "acme"} {
		assert.NotContains(t, theirs, leak)
	}
	refusal := lastRefusal(t, f.events(t, broker.Filter{Engineer: "tenant:globex/eve"}))
	assert.Equal(t, "read-request", refusal.Action, "refused reads are audited")
	assert.Equal(t, "tenant:globex/eve", refusal.Actor)

	// the account changes hands: globex lists what it asked for since, never acme's
	f.reg[acct+"/MANAGEMENT"] = registry.Onboarding{AccountID: acct, Kind: registry.Management, Tenant: "globex", Status: registry.Registered}
	g2 := make(engineer, acct)
	assert.Equal(t, ids([]broker.Request{g2}), ids(api.list("/requests?account="+acct, "tenant:globex/eve").Requests))
	status, _, _ = api.call("GET", "/requests?account="+acct, approver, "")
	assert.Equal(t, http.StatusNotFound, status, "acme no longer owns the account")
	assert.Equal(t, ids([]broker.Request{a2}), ids(api.list("/requests", approver).Requests),
		"acme's requests of the accounts it owns now: the handed-over account's history is no longer acme's to read, as with the audit")
}

// Pages follow one another by cursor, none twice, none lost; a cursor the API did not give is refused.
func TestBrokerListPages(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	var want []string
	for range 7 {
		f.clock.Advance(time.Second)
		want = append([]string{f.request(t).ID}, want...)
	}
	var got []string
	path := "/requests?limit=3"
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5, "the pages end")
		page := api.list(path, approver)
		assert.LessOrEqual(t, len(page.Requests), 3)
		got = append(got, ids(page.Requests)...)
		if page.Next == "" {
			break
		}
		path = "/requests?limit=3&cursor=" + url.QueryEscape(page.Next)
	}
	assert.Equal(t, want, got)
	assert.Equal(t, want[:3], ids(api.list("/requests?limit=3&state=PENDING", approver).Requests))
}

// Every query is refused with what to change, and the refusal is audited.
func TestBrokerListRefusals(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	for _, c := range []struct {
		path   string
		status int
		want   string
	}{
		{"/requests?state=LIVE", 400, `state "LIVE" is not one of PENDING, APPROVED, DISMISSED, REVOKED, EXPIRED`},
		{"/requests?limit=0", 400, `limit "0" is not a whole number from 1 to 100`},
		{"/requests?limit=101", 400, `limit "101" is not a whole number from 1 to 100`},
		{"/requests?limit=ten", 400, `limit "ten" is not a whole number from 1 to 100`},
		{"/requests?cursor=bm90LWEtY3Vyc29y", 400, `cursor "bm90LWEtY3Vyc29y" is not one this API gave: start again without it`},
		{"/requests?account=12", 400, `account ID "12" is not 12 digits`},
		{"/requests?tenant=acme", 400, `unknown query parameter "tenant"`},
		{"/requests?state=PENDING&state=APPROVED", 400, `the query parameter "state" is given 2 times`},
		{"/requests/req-000000000000000000000000?x=1", 400, `unknown query parameter "x"`},
		{"/requests/" + strings.Repeat("x", 30), 404, `there is no access request "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"`},
		{"/pre-approvals?tenant=globex", 400, "a customer lists its own tenant's standing approvals: leave out tenant"},
		{"/pre-approvals?account=1", 400, `account ID "1" is not 12 digits`},
	} {
		status, body, _ := api.call("GET", c.path, approver, "")
		assert.Equal(t, c.status, status, c.path)
		assert.JSONEq(t, `{"error":`+strconv.Quote(c.want)+`}`, body, c.path)
	}
	status, body, _ := api.call("GET", "/pre-approvals", "ops@doit.com", "")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.JSONEq(t, `{"error":"name exactly one of account or tenant"}`, body)
	var refused []string
	for _, e := range f.events(t, broker.Filter{Engineer: approver}) {
		refused = append(refused, e.Action)
	}
	assert.Len(t, refused, 12, "every refusal is audited under its actor: %v", refused)
}

// Standing approvals: a customer lists its tenant's; the vendor one account's or one tenant's.
func TestBrokerListsStandingApprovals(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	for _, a := range []string{acct, gwAcct} {
		_, err := f.b.PreApprove(t.Context(), approver, a, 30*time.Minute)
		require.NoError(t, err)
	}
	_, err := f.b.PreApprove(t.Context(), "tenant:globex/eve", other, time.Hour)
	require.NoError(t, err)
	accounts := func(path, who string) []string {
		t.Helper()
		status, body, _ := api.call("GET", path, who, "")
		require.Equal(t, http.StatusOK, status, body)
		var got struct{ PreApprovals []broker.PreApproval }
		require.NoError(t, json.Unmarshal([]byte(body), &got))
		out := []string{}
		for _, p := range got.PreApprovals {
			out = append(out, p.Account)
		}
		return out
	}
	assert.ElementsMatch(t, []string{acct, gwAcct}, accounts("/pre-approvals", approver))
	assert.Equal(t, []string{acct}, accounts("/pre-approvals?account="+acct, approver))
	assert.Equal(t, []string{other}, accounts("/pre-approvals", "tenant:globex/eve"))
	assert.ElementsMatch(t, []string{acct, gwAcct}, accounts("/pre-approvals?tenant=acme", "ops@doit.com"))
	assert.Equal(t, []string{other}, accounts("/pre-approvals?account="+other, "ops@doit.com"))
	status, body, _ := api.call("GET", "/pre-approvals?account="+acct, "tenant:globex/eve", "")
	assert.Equal(t, http.StatusNotFound, status)
	assert.JSONEq(t, `{"error":"no account `+acct+` you can use"}`, body)

	// removed: listed no more
	_, err = f.b.PreApprove(t.Context(), approver, acct, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{gwAcct}, accounts("/pre-approvals", approver))
	assert.Empty(t, accounts("/pre-approvals?account="+acct, approver))
}
