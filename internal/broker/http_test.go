package broker_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
)

// signIn stands in for the server's sign-in (an OIDC session, another package's): it hands out
// bearer tokens for principals, and its Caller knows a request's principal by its token only.
type signIn struct {
	mu       sync.Mutex
	sessions map[string]string // token → principal
}

func newSignIn() *signIn { return &signIn{sessions: map[string]string{}} }

// token signs who in and returns the bearer token of their session.
func (s *signIn) token(who string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := fmt.Sprintf("session-%d", len(s.sessions)+1)
	s.sessions[tok] = who
	return tok
}

func (s *signIn) caller(r *http.Request) (string, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", broker.ErrNotSignedIn
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	who, ok := s.sessions[tok]
	if !ok {
		return "", fmt.Errorf("%w: the session expired, sign in again", broker.ErrNotSignedIn)
	}
	return who, nil
}

// apiClient calls the broker's API as a signed-in principal ("" for nobody).
type apiClient struct {
	t      *testing.T
	srv    *httptest.Server
	signIn *signIn
}

func newAPI(t *testing.T, f *fixture) *apiClient {
	t.Helper()
	s := newSignIn()
	srv := httptest.NewServer(broker.Handler(f.b, s.caller))
	t.Cleanup(srv.Close)
	return &apiClient{t: t, srv: srv, signIn: s}
}

func (c *apiClient) call(method, path, who, body string, headers ...string) (int, string, http.Header) {
	t := c.t
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, c.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+c.signIn.token(who))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), resp.Header
}

func TestBrokerHTTPAPI(t *testing.T) {
	f := newFixture(t)
	call := newAPI(t, f).call

	status, body, _ := call("POST", "/requests", "", `{"account":"111122223333","ticket":"T","justification":"j","duration":"1h"}`)
	assert.Equal(t, http.StatusUnauthorized, status, "no principal")
	assert.JSONEq(t, `{"error":"not signed in"}`, body)

	status, body, _ = call("POST", "/requests", engineer, `{"account":"111122223333","ticket":"SUP-1","justification":"why","duration":"1h"}`)
	require.Equal(t, http.StatusCreated, status, body)
	var req broker.Request
	require.NoError(t, json.Unmarshal([]byte(body), &req))
	assert.Equal(t, broker.Pending, req.State)

	for name, tc := range map[string]struct {
		method, path, who, body string
		status                  int
		reason                  string
	}{
		"bad json":      {"POST", "/requests", engineer, `{"account":`, 400, "not the expected JSON"},
		"unknown field": {"POST", "/requests", engineer, `{"acount":"1"}`, 400, "unknown field"},
		"bad duration":  {"POST", "/requests", engineer, `{"account":"111122223333","ticket":"T","justification":"j","duration":"forever"}`, 400, "not a duration"},
		"over maximum":  {"POST", "/requests", engineer, `{"account":"111122223333","ticket":"T","justification":"j","duration":"2h"}`, 400, "over the maximum"},
		"ticket too long": {"POST", "/requests", engineer, `{"account":"111122223333","ticket":"SUP-ääääää","justification":"j","duration":"1h"}`,
			400, "the ticket is too long: at most 32 characters"},
		"ticket with a tab": {"POST", "/requests", engineer, `{"account":"111122223333","ticket":"SUP\t1","justification":"j","duration":"1h"}`,
			400, "control character"},
		"inactive account": {"POST", "/requests", engineer, `{"account":"777788889999","ticket":"T","justification":"j","duration":"1h"}`, 404, "no account 777788889999 you can use"},
		"self-approval":    {"POST", "/requests/" + req.ID + "/approve", engineer, "", 403, "your own request"},
		"wrong tenant":     {"POST", "/requests/" + req.ID + "/approve", "tenant:globex/eve", "", 404, "there is no access request"},
		"no such request":  {"POST", "/requests/req-x/dismiss", approver, `{"reason":"not ours"}`, 404, "no access request"},
		"not approved":     {"POST", "/requests/" + req.ID + "/credentials", engineer, "", 409, "waiting for the customer"},
		"audit no filter":  {"GET", "/audit", engineer, "", 400, "exactly one"},
		"tenant by person": {"GET", "/audit?engineer=" + engineer, approver, "", 403, "its own accounts"},
		"tenant other acc": {"GET", "/audit?account=444455556666", approver, "", 404, "no account 444455556666 you can use"},
		"bad since":        {"GET", "/audit?account=111122223333&since=yesterday", engineer, "", 400, "RFC 3339"},
	} {
		t.Run(name, func(t *testing.T) {
			status, body, _ := call(tc.method, tc.path, tc.who, tc.body)
			assert.Equal(t, tc.status, status, body)
			var e map[string]string
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			assert.Contains(t, e["error"], tc.reason)
			if tc.method == "POST" { // every refused action is in the audit, malformed ones included
				refusal := lastRefusal(t, f.events(t, broker.Filter{Engineer: tc.who}))
				assert.Equal(t, e["error"], refusal.Reason)
			}
		})
	}
	status, body, _ = call("POST", "/accounts/111122223333/pre-approval", approver, `{"maxDuration":"soon"}`)
	assert.Equal(t, http.StatusBadRequest, status, body)
	refusal := lastRefusal(t, f.events(t, broker.Filter{Account: "111122223333"}))
	assert.Equal(t, "pre-approve", refusal.Action)
	assert.Contains(t, refusal.Reason, `maxDuration "soon"`)

	status, body, _ = call("POST", "/requests/"+req.ID+"/approve", approver, "")
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"state":"APPROVED"`)
	status, body, _ = call("POST", "/requests/"+req.ID+"/credentials", "mallory@doit.com", "")
	assert.Equal(t, http.StatusNotFound, status, body, "someone else's request is as good as none")
	assert.NotContains(t, body, engineer, "the requester is not named")
	status, body, hdr := call("POST", "/requests/"+req.ID+"/credentials", engineer, "")
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "no-store", hdr.Get("Cache-Control"))
	var c broker.Credentials
	require.NoError(t, json.Unmarshal([]byte(body), &c))
	assert.Equal(t, "ASIAEXAMPLEKEY1WXYZ", c.AccessKeyID)
	status, body, _ = call("POST", "/requests/"+req.ID+"/revoke", approver, "")
	require.Equal(t, http.StatusOK, status, body)
	status, body, _ = call("POST", "/accounts/111122223333/pre-approval", approver, `{"maxDuration":"30m"}`)
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"maxDurationSeconds":1800`)

	// the customer reads its account's audit as JSON lines
	status, body, hdr = call("GET", "/audit?account=111122223333", approver, "")
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "application/x-ndjson", hdr.Get("Content-Type"))
	var types []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		var e broker.Event
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		types = append(types, string(e.Type))
	}
	assert.Contains(t, types, "SESSION_ISSUED")
	assert.Contains(t, types, "REVOKED")
	assert.Contains(t, types, "PRE_APPROVAL")
	assert.NotContains(t, body, c.SecretAccessKey)
	status, body, _ = call("GET", "/audit?engineer=mallory@doit.com", engineer, "")
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, "only the requester")
}

// A failure answers 500 without its detail, and the detail goes to the broker's logger.
func TestBrokerHTTPLogsFailuresToItsLogger(t *testing.T) {
	var logs bytes.Buffer
	f := newFixtureWith(t, broker.Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	api := newAPI(t, f)
	r := f.request(t)
	_, err := f.b.Approve(t.Context(), approver, r.ID)
	require.NoError(t, err)
	f.mint.forAccount = other // a broken issuer: a failure, not a refusal

	status, body, _ := api.call("POST", "/requests/"+r.ID+"/credentials", engineer, "")
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.JSONEq(t, `{"error":"internal error"}`, body)

	var line map[string]any
	require.NoError(t, json.Unmarshal(logs.Bytes(), &line), logs.String())
	assert.Equal(t, "ERROR", line["level"])
	assert.Equal(t, "broker request failed", line["msg"])
	assert.Equal(t, "/requests/"+r.ID+"/credentials", line["path"])
	assert.Contains(t, line["error"], "names issuer")
}

// The API knows the caller only from the server's sign-in: a principal header names nobody, and
// the sign-in's reason for refusing comes back as the 401's error.
func TestBrokerHTTPCallerComesFromTheSignIn(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	r := f.request(t)
	body := ""

	// the header the API trusted before: no sign-in, no principal, whatever it says
	status, got, _ := api.call("POST", "/requests/"+r.ID+"/approve", "", body, "X-Support-Principal", approver)
	assert.Equal(t, http.StatusUnauthorized, status, got)
	assert.JSONEq(t, `{"error":"not signed in"}`, got)
	// signed in as the engineer, claiming the customer in the header: acts as the engineer
	status, got, _ = api.call("POST", "/requests/"+r.ID+"/approve", engineer, body, "X-Support-Principal", approver)
	assert.Equal(t, http.StatusForbidden, status, got)
	assert.Contains(t, got, "your own request")
	// a session the sign-in no longer knows: its reason
	status, got, _ = api.call("POST", "/requests/"+r.ID+"/approve", "", body, "Authorization", "Bearer stale")
	assert.Equal(t, http.StatusUnauthorized, status, got)
	assert.JSONEq(t, `{"error":"not signed in: the session expired, sign in again"}`, got)
	got2, err := f.b.Get(t.Context(), r.ID)
	require.NoError(t, err)
	assert.Equal(t, broker.Pending, got2.State, "nothing was decided")

	// a failing sign-in: 401 with its reason, and logged
	var logs bytes.Buffer
	g := newFixtureWith(t, broker.Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	srv := httptest.NewServer(broker.Handler(g.b, func(*http.Request) (string, error) {
		return "", errors.New("the identity provider did not answer")
	}))
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL + "/audit?account=" + acct)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.JSONEq(t, `{"error":"the identity provider did not answer"}`, string(b))
	assert.Contains(t, logs.String(), "the identity provider did not answer")

	// a sign-in that names nobody without saying why
	srv2 := httptest.NewServer(broker.Handler(g.b, func(*http.Request) (string, error) { return "", nil }))
	t.Cleanup(srv2.Close)
	resp, err = srv2.Client().Get(srv2.URL + "/audit?account=" + acct)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	assert.Panics(t, func() { broker.Handler(g.b, nil) }, "an API without sign-in")
}
