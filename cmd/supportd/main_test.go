package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/auth/localop"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/test/moto"
)

// The server as a platform team runs it, against moto and the local OpenID Provider: the health
// routes answer without a token; the broker's API answers only a verified token, and takes the
// caller from it; a header naming someone is nobody; it shuts down when told to.
func TestServerSignsInEveryCaller(t *testing.T) {
	srv := moto.StartForTest(t)
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": srv.URL(), "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
		"AWS_SECRET_ACCESS_KEY": "testing", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"} {
		t.Setenv(k, v)
	}
	cfg, err := srv.Config(t.Context(), "")
	require.NoError(t, err)
	db := dynamodb.NewFromConfig(cfg)
	_, err = db.CreateTable(t.Context(), registry.TableInput("onboardings"))
	require.NoError(t, err)
	require.NoError(t, broker.CreateTable(t.Context(), db, "broker"))

	op, err := localop.Start(localop.Config{Users: []localop.User{
		{Username: "alice", Email: "alice@doit.com", Password: "pw", Groups: []string{"doit-engineers"}},
		{Username: "bob", Email: "bob@acme.example", Password: "pw", Groups: []string{"tenant:acme"}},
		{Username: "dave", Email: "dave@example.com", Password: "pw"},
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = op.Close() })
	token := func(user string) string {
		tok, err := localop.Login(t.Context(), op.Issuer(), op.ClientID(), user, "pw")
		require.NoError(t, err)
		return tok.AccessToken
	}

	env := map[string]string{"REGISTRY_TABLE": "onboardings", "BROKER_TABLE": "broker", "LISTEN_ADDR": "127.0.0.1:0",
		"OIDC_ISSUER": op.Issuer(), "OIDC_AUDIENCE": op.ClientID(), "OIDC_ENGINEER_GROUP": "doit-engineers"}
	var logs bytes.Buffer
	ctx, stop := context.WithCancel(t.Context())
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, slog.New(slog.NewJSONHandler(&logs, nil)), addr, nil)
	}()
	base := "http://" + <-addr

	call := func(method, path, bearer, body string, header ...string) (int, http.Header, string) {
		req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, resp.Header, string(b)
	}
	status, _, _ := call("GET", "/healthz", "", "")
	assert.Equal(t, 200, status)
	status, _, body := call("GET", "/readyz", "", "")
	assert.Equal(t, 200, status, body)

	request := `{"account":"111122223333","ticket":"SUP-9","justification":"slow queries","duration":"30m"}`
	alice := token("alice")
	for _, c := range []struct {
		name, bearer string
		header       []string
		status       int
		body         string
	}{
		{name: "no token", status: 401},
		{name: "a header naming an engineer is nobody", header: []string{"X-Support-Principal", "alice@doit.com"}, status: 401},
		{name: "tampered token", bearer: alice[:len(alice)-4] + "AAAA", status: 401, body: "invalid_token"},
		{name: "signed in without a role", bearer: token("dave"), status: 403},
		{name: "a customer cannot request access", bearer: token("bob"), status: 403, body: "only a support engineer"},
		{name: "the engineer, for an account nobody registered", bearer: alice, status: 404, body: "no account 111122223333 you can use"},
	} {
		status, h, got := call("POST", "/v1/requests", c.bearer, request, c.header...)
		assert.Equal(t, c.status, status, "%s: %s", c.name, got)
		if c.status == 401 {
			assert.Contains(t, h.Get("WWW-Authenticate"), "Bearer", c.name)
		}
		if c.body != "" {
			assert.Contains(t, got+h.Get("WWW-Authenticate"), c.body, c.name)
		}
	}
	// the refusal the broker made is audited under the engineer the token names
	b, err := broker.New(broker.Config{}, nil, nil, nil, db, "broker")
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, b.Audit().Export(t.Context(), &out, broker.Filter{Engineer: "alice@doit.com"}))
	var ev map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.SplitN(out.String(), "\n", 2)[0]), &ev), out.String())
	assert.Equal(t, "REFUSED", ev["type"])
	assert.Equal(t, "alice@doit.com", ev["actor"])

	for _, secret := range []string{alice, "slow queries"} {
		assert.NotContains(t, logs.String(), secret, "the access log holds no token and no body")
	}
	stop()
	select {
	case err := <-done:
		assert.NoError(t, err, "a graceful shutdown")
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop")
	}
}
