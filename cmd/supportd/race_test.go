package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/auth/localop"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/test/moto"
)

const (
	raceEngineers    = 6
	requestsEach     = 2
	raceCustomers    = 4
	credentialsTries = 2 // per engineer and approved request, racing the revocations
)

// outcome is one answer of the race: who did what to which request, and what the server said.
type outcome struct {
	action, user, principal, request string
	status                           int
	body                             string
	err                              error
}

func (o outcome) String() string { return fmt.Sprintf("%s by %s: %d", o.action, o.user, o.status) }

// Many engineers request access at once; then several customers of the owning tenant approve,
// dismiss and revoke the same requests at once; then the engineers ask for credentials while
// customers revoke. Over HTTP, on the serial moto server (test/moto: race tests must use it; on
// moto_server this test fails, with decisions applied twice and events lost by moto). Nothing is applied twice (of racing decisions on a pending request
// exactly one wins, the others get 409), nothing is lost (every 200 is in the stored state and has
// exactly one audit event, every 409 one refusal), and each decided request has exactly one
// decision event from pending.
func TestServerRacingDecisionsApplyOnce(t *testing.T) {
	var users []localop.User
	engineer := func(i int) string { return fmt.Sprintf("eng%d", i) }
	customer := func(i int) string { return fmt.Sprintf("cust%d", i) }
	principal := map[string]string{}
	for i := range raceEngineers {
		users = append(users, localop.User{Username: engineer(i), Email: engineer(i) + "@doit.com", Password: password, Groups: []string{engineerGroup}})
		principal[engineer(i)] = engineer(i) + "@doit.com"
	}
	for i := range raceCustomers {
		users = append(users, localop.User{Username: customer(i), Email: customer(i) + "@acme.example", Password: password, Groups: []string{"tenant:acme"}})
		principal[customer(i)] = "tenant:acme/" + customer(i) + "@acme.example"
	}
	s := startServer(t, moto.StartSerialForTest(t), serverOptions{users: users, issuer: true})
	s.onboard(customerAccount, "acme")
	tokens := map[string]string{} // everyone signs in before the race
	for _, u := range users {
		tokens[u.Username] = s.token(u.Username)
	}

	// each call of the race: user does action, on request (if any), with body
	type call struct{ action, user, request, body string }
	race := func(calls []call) []outcome {
		out := make([]outcome, len(calls))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, c := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				path := "/v1/requests/" + c.request + "/" + c.action
				if c.action == "request" {
					path = "/v1/requests"
				}
				<-start
				a, err := s.do(t.Context(), http.MethodPost, path, tokens[c.user], c.body)
				out[i] = outcome{action: c.action, user: c.user, principal: principal[c.user], request: c.request,
					status: a.status, body: a.body, err: err}
			}()
		}
		close(start)
		wg.Wait()
		for _, o := range out {
			require.NoError(t, o.err, "%s by %s", o.action, o.user)
		}
		return out
	}

	// 1. every engineer asks for access, several times, at once
	var calls []call
	for i := range raceEngineers {
		for j := range requestsEach {
			calls = append(calls, call{action: "request", user: engineer(i),
				body: fmt.Sprintf(`{"account":%q,"ticket":"SUP-%d%d","justification":"race","duration":"30m"}`, customerAccount, i, j)})
		}
	}
	requester := map[string]string{} // request ID → engineer
	for _, o := range race(calls) {
		require.Equal(t, http.StatusCreated, o.status, o.body)
		var r broker.Request
		require.NoError(t, json.Unmarshal([]byte(o.body), &r))
		require.Equal(t, broker.Pending, r.State)
		require.NotContains(t, requester, r.ID, "request IDs are unique")
		requester[r.ID] = o.user
	}

	// 2. on every request at once: two customers approve; on two thirds of them a third dismisses,
	// and on one third a fourth revokes (a pending request can be revoked too)
	calls, i := nil, 0
	for id := range requester {
		calls = append(calls, call{action: "approve", user: customer(0), request: id}, call{action: "approve", user: customer(1), request: id})
		switch i % 3 {
		case 0:
			calls = append(calls, call{action: "dismiss", user: customer(2), request: id, body: `{"reason":"not under contract"}`})
		case 1:
			calls = append(calls, call{action: "dismiss", user: customer(2), request: id, body: `{"reason":"not under contract"}`}, call{action: "revoke", user: customer(3), request: id})
		}
		i++
	}
	decisions := race(calls)

	// 3. on every approved request at once: its engineer asks for credentials, twice, and on every
	// other one two customers revoke
	approved := map[string]bool{}
	for _, o := range decisions {
		if o.status == http.StatusOK && o.action == "approve" {
			approved[o.request] = true
		}
	}
	for _, o := range decisions { // revoked after the approval, in step 2
		if o.status == http.StatusOK && o.action == "revoke" {
			delete(approved, o.request)
		}
	}
	calls, i = nil, 0
	unrevoked := map[string]bool{} // approved requests nobody revokes in step 3
	for id := range approved {
		for range credentialsTries {
			calls = append(calls, call{action: "credentials", user: requester[id], request: id})
		}
		if i%2 == 0 {
			calls = append(calls, call{action: "revoke", user: customer(0), request: id}, call{action: "revoke", user: customer(3), request: id})
		} else {
			unrevoked[id] = true
		}
		i++
	}
	sessions := race(calls)
	for _, o := range sessions {
		if unrevoked[o.request] {
			assert.Equal(t, http.StatusOK, o.status, "credentials racing only each other: %s", o.body)
		}
	}
	answered := map[string]int{} // "approve 200" → how many
	for _, o := range append(decisions, sessions...) {
		answered[fmt.Sprintf("%s %d", o.action, o.status)]++
	}
	t.Logf("%d requests, %d approved; answers: %v", len(requester), len(approved), answered)
	require.GreaterOrEqual(t, len(approved), len(requester)/3, "the requests only approvals raced on are approved")

	// the answers, by request
	byRequest := map[string][]outcome{}
	for _, o := range append(decisions, sessions...) {
		byRequest[o.request] = append(byRequest[o.request], o)
	}
	events, err := s.broker().Audit().List(t.Context(), broker.Filter{Account: customerAccount})
	require.NoError(t, err)
	eventsOf := map[string][]broker.Event{}
	for _, e := range events {
		eventsOf[e.RequestID] = append(eventsOf[e.RequestID], e)
	}
	wins := map[string]int{}
	for id, engineer := range requester {
		answers := byRequest[id]
		won := map[string][]outcome{} // action → its 200 answers
		conflicts := 0
		for _, o := range answers {
			switch o.status {
			case http.StatusOK:
				won[o.action] = append(won[o.action], o)
			case http.StatusConflict:
				conflicts++
			default:
				t.Errorf("%s: %s by %s: %d %s (want 200 or 409)", id, o.action, o.user, o.status, o.body)
			}
		}
		// nothing applied twice: one decision from pending, at most one revocation after an approval
		fromPending := len(won["approve"]) + len(won["dismiss"])
		if len(won["approve"]) == 0 {
			fromPending += len(won["revoke"])
		}
		assert.Equal(t, 1, fromPending, "%s: exactly one of the racing decisions on the pending request wins: %v", id, won)
		assert.LessOrEqual(t, len(won["revoke"]), 1, "%s: revoked once", id)
		if len(won["credentials"]) > 0 {
			assert.Len(t, won["approve"], 1, "%s: credentials only for an approved request", id)
		}

		// nothing lost: the last decision that won is the stored state
		want := broker.Pending
		var last outcome
		for action, state := range map[string]broker.State{"approve": broker.Approved, "dismiss": broker.Dismissed, "revoke": broker.Revoked} {
			if len(won[action]) > 0 && (want == broker.Pending || action == "revoke") {
				want, last = state, won[action][0]
			}
		}
		got, err := s.broker().Get(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, want, got.State, "%s: the stored state is the winners'", id)
		assert.Equal(t, last.principal, got.DecidedBy, "%s: decided by the winner", id)
		wins[string(want)]++

		// and the audit: one event per 200, one refusal per 409
		count := map[broker.EventType][]string{} // type → actors
		for _, e := range eventsOf[id] {
			count[e.Type] = append(count[e.Type], e.Actor)
		}
		actors := func(action string) []string {
			var a []string
			for _, o := range won[action] {
				a = append(a, o.principal)
			}
			return a
		}
		assert.Equal(t, []string{principal[engineer]}, count[broker.EventRequested], "%s: one REQUESTED", id)
		assert.ElementsMatch(t, actors("approve"), count[broker.EventApproved], "%s: one APPROVED per approval answered 200", id)
		assert.ElementsMatch(t, actors("dismiss"), count[broker.EventDismissed], "%s: one DISMISSED per dismissal answered 200", id)
		assert.ElementsMatch(t, actors("revoke"), count[broker.EventRevoked], "%s: one REVOKED per revocation answered 200", id)
		assert.ElementsMatch(t, actors("credentials"), count[broker.EventSession], "%s: one SESSION_ISSUED per credentials answered 200", id)
		assert.Len(t, count[broker.EventRefused], conflicts, "%s: one REFUSED per 409", id)
		assert.Empty(t, count[broker.EventFailed], "%s: nothing failed", id)
		decided := len(count[broker.EventApproved]) + len(count[broker.EventDismissed]) + len(count[broker.EventRevoked])
		if len(count[broker.EventApproved]) == 1 {
			decided -= len(count[broker.EventRevoked]) // the revocation of an approved request decides nothing pending
		}
		assert.Equal(t, 1, decided, "%s: exactly one decision event from pending", id)
	}
	t.Logf("final states: %v", wins)
}
