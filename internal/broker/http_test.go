package broker_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
)

func TestBrokerHTTPAPI(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(broker.Handler(f.b))
	t.Cleanup(srv.Close)
	call := func(method, path, who, body string) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if who != "" {
			req.Header.Set(broker.PrincipalHeader, who)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b), resp.Header
	}

	status, body, _ := call("POST", "/requests", "", `{"account":"111122223333","ticket":"T","justification":"j","duration":"1h"}`)
	assert.Equal(t, http.StatusUnauthorized, status, "no principal")
	assert.Contains(t, body, broker.PrincipalHeader)

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
		"inactive account": {"POST", "/requests", engineer, `{"account":"777788889999","ticket":"T","justification":"j","duration":"1h"}`, 409, "no registered stack"},
		"self-approval":    {"POST", "/requests/" + req.ID + "/approve", engineer, "", 403, "your own request"},
		"wrong tenant":     {"POST", "/requests/" + req.ID + "/approve", "tenant:globex/eve", "", 403, "does not belong"},
		"no such request":  {"POST", "/requests/req-x/dismiss", approver, "", 404, "no access request"},
		"not approved":     {"POST", "/requests/" + req.ID + "/credentials", engineer, "", 409, "waiting for the customer"},
		"audit no filter":  {"GET", "/audit", engineer, "", 400, "exactly one"},
		"tenant by person": {"GET", "/audit?engineer=" + engineer, approver, "", 403, "its own accounts"},
		"tenant other acc": {"GET", "/audit?account=444455556666", approver, "", 403, "does not belong"},
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
	assert.Equal(t, http.StatusForbidden, status, body)
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
	srv := httptest.NewServer(broker.Handler(f.b))
	t.Cleanup(srv.Close)
	r := f.request(t)
	_, err := f.b.Approve(t.Context(), approver, r.ID)
	require.NoError(t, err)
	f.mint.forAccount = other // a broken issuer: a failure, not a refusal

	req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/requests/"+r.ID+"/credentials", nil)
	require.NoError(t, err)
	req.Header.Set(broker.PrincipalHeader, engineer)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.JSONEq(t, `{"error":"internal error"}`, string(body))

	var line map[string]any
	require.NoError(t, json.Unmarshal(logs.Bytes(), &line), logs.String())
	assert.Equal(t, "ERROR", line["level"])
	assert.Equal(t, "broker request failed", line["msg"])
	assert.Equal(t, "/requests/"+r.ID+"/credentials", line["path"])
	assert.Contains(t, line["error"], "names issuer")
}
