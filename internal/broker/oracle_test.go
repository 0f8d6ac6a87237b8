package broker_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/registry"
)

// Every route that takes an account answers an unknown account, one whose onboarding is not
// finished (or not proven, unclaimed, disputed) and another tenant's alike: the same status and the
// same body but for the account's number. The audit keeps the precise reason (Detail).
func TestBrokerNoAccountOracle(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	accounts := map[string]string{ // account → what the audit says it was
		"999999999999": "account 999999999999 is not onboarded",
		pending:        "has no registered stack",
		proofPending:   "has no registered stack",
		unclaimed:      "has no registered stack",
		disputed:       "an operator must resolve it",
		other:          `belongs to tenant "globex", not "acme"`, // for acme's customers
	}
	routes := map[string]struct {
		method, who, body string
		path              func(account string) string
		forEngineers      bool // the engineer's route: another tenant's account is any account to the vendor
	}{
		"pre-approve": {method: "POST", who: approver, body: `{"maxDuration":"30m"}`,
			path: func(a string) string { return "/accounts/" + a + "/pre-approval" }},
		"read-audit": {method: "GET", who: approver, path: func(a string) string { return "/audit?account=" + a }},
		"request":    {method: "POST", who: engineer, path: func(string) string { return "/requests" }, forEngineers: true},
	}
	for action, route := range routes {
		answers := map[string][]string{}
		for account, detail := range accounts {
			if route.forEngineers && account == other {
				continue
			}
			body := route.body
			if action == "request" {
				body = `{"account":"` + account + `","ticket":"SUP-1","justification":"why","duration":"1h"}`
			}
			status, got, _ := api.call(route.method, route.path(account), route.who, body)
			assert.Equal(t, http.StatusNotFound, status, "%s %s: %s", action, account, got)
			assert.JSONEq(t, `{"error":"no account `+account+` you can use"}`, got, "%s %s", action, account)
			answer := strings.ReplaceAll(got, account, "<account>")
			answers[answer] = append(answers[answer], account)

			refusal := lastRefusal(t, f.events(t, broker.Filter{Engineer: route.who}))
			assert.Equal(t, action, refusal.Action)
			assert.Equal(t, "no account "+account+" you can use", refusal.Reason)
			assert.Contains(t, refusal.Detail, detail, "%s %s: the audit keeps why", action, account)
		}
		assert.Len(t, answers, 1, "%s: one answer for all: %v", action, answers)
	}

	// the usable account, for comparison
	status, got, _ := api.call("GET", "/audit?account="+acct, approver, "")
	assert.Equal(t, http.StatusOK, status, got)
}

// Another tenant's request answers as an unknown request does; the audit says whose it was.
func TestBrokerAnotherTenantsRequestIsNoRequest(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	r := f.request(t)
	unknown := "req-" + strings.Repeat("0", 24)
	for _, action := range []string{"approve", "dismiss", "revoke"} {
		body := ""
		if action == "dismiss" {
			body = `{"reason":"not ours"}`
		}
		s2, none, _ := api.call("POST", "/requests/"+unknown+"/"+action, "tenant:globex/eve", body)
		s1, theirs, _ := api.call("POST", "/requests/"+r.ID+"/"+action, "tenant:globex/eve", body)
		assert.Equal(t, http.StatusNotFound, s1, theirs)
		assert.Equal(t, s2, s1)
		assert.Equal(t, strings.ReplaceAll(none, unknown, "<id>"), strings.ReplaceAll(theirs, r.ID, "<id>"), action)
		refusal := lastRefusal(t, f.events(t, broker.Filter{Engineer: "tenant:globex/eve"}))
		assert.Equal(t, action, refusal.Action)
		assert.Equal(t, `request `+r.ID+` is tenant "acme"'s, not "globex"'s`, refusal.Detail)
	}
	got, err := f.b.Get(t.Context(), r.ID)
	require.NoError(t, err)
	assert.Equal(t, broker.Pending, got.State)
}

// An account that changed hands, or left, after the approval: the engineer gets the one answer for
// an account they cannot use.
func TestBrokerCredentialsForAnAccountThatChangedHands(t *testing.T) {
	for name, change := range map[string]func(fakeRegistry){
		"another tenant's now": func(reg fakeRegistry) {
			o := reg[acct+"/MANAGEMENT"]
			o.Tenant = "globex"
			reg[acct+"/MANAGEMENT"] = o
		},
		"pending again": func(reg fakeRegistry) {
			o := reg[acct+"/MANAGEMENT"]
			o.Status = registry.Pending
			reg[acct+"/MANAGEMENT"] = o
		},
		"gone": func(reg fakeRegistry) { delete(reg, acct+"/MANAGEMENT") },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			r := f.request(t)
			_, err := f.b.Approve(t.Context(), approver, r.ID)
			require.NoError(t, err)
			change(f.reg)
			_, err = f.b.Credentials(t.Context(), engineer, r.ID)
			require.ErrorIs(t, err, broker.ErrAccountUnavailable)
			assert.EqualError(t, err, "no account "+acct+" you can use")
			assert.Zero(t, f.mint.count())
			assert.NotEmpty(t, lastRefusal(t, f.events(t, broker.Filter{Account: acct})).Detail)
		})
	}
}

// Another tenant's request answers 404 before any rule about the caller: a staff address or the
// requester's own name in another tenant's group does not learn, by a 403, that the ID exists
// (found in review).
func TestAnotherTenantsRequestIsNoneWhoeverAsks(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	r := f.request(t)
	for _, who := range []string{"tenant:globex/carol@doit.com", "tenant:globex/" + engineer} {
		status, body, _ := api.call("POST", "/requests/"+r.ID+"/approve", who, "")
		assert.Equal(t, http.StatusNotFound, status, "%s: %s", who, body)
		assert.JSONEq(t, `{"error":"there is no access request \"`+r.ID+`\""}`, body)
	}
}
