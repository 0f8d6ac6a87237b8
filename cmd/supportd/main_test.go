package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/auth/localop"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/console"
	"github.com/supportaccess/gateway/test/moto"
)

// The server as a platform team runs it, against moto and the local OpenID Provider: the health
// routes answer without a token; the broker's API answers only a verified token, and takes the
// caller from it; a header naming someone is nobody; it shuts down when told to.
func TestServerSignsInEveryCaller(t *testing.T) {
	s := startServer(t, moto.StartForTest(t), serverOptions{users: []localop.User{
		{Username: "alice", Email: "alice@doit.com", Password: password, Groups: []string{engineerGroup}},
		{Username: "bob", Email: "bob@acme.example", Password: password, Groups: []string{"tenant:acme"}},
		{Username: "dave", Email: "dave@example.com", Password: password},
	}})
	assert.Equal(t, 200, s.call("GET", "/healthz", "", "").status)
	ready := s.call("GET", "/readyz", "", "")
	assert.Equal(t, 200, ready.status, ready.body)

	request := `{"account":"111122223333","ticket":"SUP-9","justification":"slow queries","duration":"30m"}`
	alice := s.token("alice")
	for _, c := range []struct {
		name, bearer string
		header       []string
		status       int
		body         string
	}{
		{name: "no token", status: 401},
		{name: "a header naming an engineer is nobody", header: []string{"X-Support-Principal", "alice@doit.com"}, status: 401},
		{name: "tampered token", bearer: alice[:len(alice)-4] + "AAAA", status: 401, body: "invalid_token"},
		{name: "signed in without a role", bearer: s.token("dave"), status: 403},
		{name: "a customer cannot request access", bearer: s.token("bob"), status: 403, body: "only a support engineer"},
		{name: "the engineer, for an account nobody registered", bearer: alice, status: 404, body: "no account 111122223333 you can use"},
	} {
		a := s.call("POST", "/v1/requests", c.bearer, request, c.header...)
		assert.Equal(t, c.status, a.status, "%s: %s", c.name, a.body)
		if c.status == 401 {
			assert.Contains(t, a.header.Get("WWW-Authenticate"), "Bearer", c.name)
		}
		if c.body != "" {
			assert.Contains(t, a.body+a.header.Get("WWW-Authenticate"), c.body, c.name)
		}
	}
	// the refusal the broker made is audited under the engineer the token names
	var out bytes.Buffer
	require.NoError(t, s.broker().Audit().Export(t.Context(), &out, broker.Filter{Engineer: "alice@doit.com"}))
	var ev map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.SplitN(out.String(), "\n", 2)[0]), &ev), out.String())
	assert.Equal(t, "REFUSED", ev["type"])
	assert.Equal(t, "alice@doit.com", ev["actor"])

	assert.NoError(t, s.stop(), "a graceful shutdown")
	for _, secret := range []string{alice, "slow queries"} {
		assert.NotContains(t, s.logs.String(), secret, "the access log holds no token and no body")
	}
}

// With CONSOLE_URL the server serves the customers' console under /console/, signing in at the
// same provider as the API: its sign-in goes to the provider's authorization endpoint with PKCE,
// for the console's callback.
func TestServerServesTheConsole(t *testing.T) {
	const consoleURL = "http://localhost:8080/console/" // where the platform team publishes it
	s := startServer(t, moto.StartForTest(t), serverOptions{env: map[string]string{"CONSOLE_URL": consoleURL},
		users: []localop.User{{Username: "bob", Email: "bob@acme.example", Password: password, Groups: []string{"tenant:acme"}}}})
	home := s.call("GET", "/console/", "", "")
	assert.Equal(t, http.StatusOK, home.status)
	assert.Contains(t, home.body, `data-testid="sign-in"`)
	assert.Equal(t, console.ContentSecurityPolicy, home.header.Get("Content-Security-Policy"))

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.base+"/console/signin", nil)
	require.NoError(t, err)
	resp, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	to, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, s.op.Issuer()+"/authorize", to.Scheme+"://"+to.Host+to.Path)
	assert.Equal(t, consoleURL+"callback", to.Query().Get("redirect_uri"))
	assert.Equal(t, "S256", to.Query().Get("code_challenge_method"))
	assert.Equal(t, s.op.ClientID(), to.Query().Get("client_id"))
}
