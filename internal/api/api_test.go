package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/api"
	"github.com/supportaccess/gateway/internal/auth"
)

// stubBroker echoes what reached it: the path (prefix stripped), the body it could read, or the
// error reading it gave.
func stubBroker() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "too big", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path, "method": r.Method, "body": string(body)})
	})
}

func stubIssuer() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"issuer":"for ` + r.PathValue("account") + `"}`))
	})
}

type fixture struct {
	h     http.Handler
	log   *bytes.Buffer
	ready error
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{log: &bytes.Buffer{}}
	f.h = api.Handler(api.Config{Broker: stubBroker(), Issuer: stubIssuer(),
		Ready:  func(context.Context) error { return f.ready },
		Logger: slog.New(slog.NewJSONHandler(f.log, nil))})
	return f
}

func (f *fixture) do(t *testing.T, method, target string, body io.Reader, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func TestRoutes(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		method, target string
		status         int
		body           string
	}{
		{"GET", "/healthz", 200, "ok\n"},
		{"GET", "/readyz", 200, `{"status":"ready"}` + "\n"},
		{"POST", "/v1/requests", 200, `{"body":"","method":"POST","path":"/requests"}` + "\n"},
		{"GET", "/v1/requests/req-1", 200, `{"body":"","method":"GET","path":"/requests/req-1"}` + "\n"},
		{"GET", "/accounts/111122223333/.well-known/jwks.json", 200, `{"issuer":"for 111122223333"}`},
		{"GET", "/accounts/111122223333/.well-known/openid-configuration", 200, `{"issuer":"for 111122223333"}`},
		{"POST", "/accounts/111122223333/.well-known/jwks.json", 405, ""},
		{"GET", "/requests", 404, ""},
		{"GET", "/", 404, ""},
		{"POST", "/healthz", 405, ""},
	} {
		w := f.do(t, c.method, c.target, nil, nil)
		assert.Equal(t, c.status, w.Code, "%s %s", c.method, c.target)
		if c.body != "" {
			assert.Equal(t, c.body, w.Body.String(), "%s %s", c.method, c.target)
		}
	}
}

// The console, when configured, gets every path below /console/ as it is, and /console itself;
// without one, those are 404 like any other unknown path.
func TestConsoleIsMountedWhenConfigured(t *testing.T) {
	console := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "console "+r.Method+" "+r.URL.Path)
	})
	h := api.Handler(api.Config{Broker: stubBroker(), Console: console, Logger: slog.New(slog.DiscardHandler)})
	for target, want := range map[string]string{"/console/": "console GET /console/", "/console": "console GET /console",
		"/console/requests/req-1": "console GET /console/requests/req-1"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		assert.Equal(t, want, w.Body.String())
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/console/signout", strings.NewReader("csrf=x")))
	assert.Equal(t, "console POST /console/signout", w.Body.String())

	f := newFixture(t) // no console
	for _, target := range []string{"/console/", "/console", "/console/accounts"} {
		assert.Equal(t, http.StatusNotFound, f.do(t, "GET", target, nil, nil).Code, target)
	}
}

// /readyz is public: why it is not ready goes to the log, not to the caller (AWS's errors name
// accounts, roles and tables).
func TestReadyzLogsWhyNot(t *testing.T) {
	f := newFixture(t)
	f.ready = errors.New("table support-gateway-broker: AccessDeniedException: User: arn:aws:sts::999988887777:assumed-role/x")
	w := f.do(t, "GET", "/readyz", nil, nil)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.JSONEq(t, `{"status":"not ready"}`, w.Body.String())
	assert.Contains(t, f.log.String(), "AccessDeniedException")
}

func TestBodiesAreLimited(t *testing.T) {
	f := newFixture(t)
	big := strings.Repeat("x", api.MaxBodyBytes+1)
	w := f.do(t, "POST", "/v1/requests", strings.NewReader(big), nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code, "declared length")
	assert.Contains(t, w.Body.String(), "over 65536 bytes")

	// a body of no declared length is cut where it passes the limit
	r := httptest.NewRequest("POST", "/v1/requests", io.MultiReader(strings.NewReader(big)))
	r.ContentLength = -1
	w = httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code, "streamed")

	w = f.do(t, "POST", "/v1/requests", strings.NewReader(strings.Repeat("x", api.MaxBodyBytes)), nil)
	assert.Equal(t, http.StatusOK, w.Code, "at the limit")
}

func TestPanicsAre500AndLogged(t *testing.T) {
	f := newFixture(t)
	w := f.do(t, "GET", "/v1/panic", nil, nil)
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.JSONEq(t, `{"error":"internal error"}`, w.Body.String(), "nothing of the panic is shown")
	assert.Contains(t, f.log.String(), `"panic":"boom"`)
}

// One JSON line per request, without the query string, the token or the body.
func TestAccessLogHoldsNoSecrets(t *testing.T) {
	f := newFixture(t)
	const token = "eyJhbGciOiJSUzI1NiJ9.secret-token-part.sig"
	w := f.do(t, "POST", "/v1/requests?code=secret-query-value", strings.NewReader(`{"password":"secret-body-value"}`),
		http.Header{"Authorization": {"Bearer " + token}, "Cookie": {"session=secret-cookie"}})
	require.Equal(t, http.StatusOK, w.Code)
	line := strings.TrimSpace(f.log.String())
	require.NotEmpty(t, line)
	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &entry), "one JSON line")
	assert.Equal(t, "POST", entry["method"])
	assert.Equal(t, "/v1/requests", entry["path"])
	assert.EqualValues(t, 200, entry["status"])
	for _, secret := range []string{"secret-token-part", "secret-query-value", "secret-body-value", "secret-cookie"} {
		assert.NotContains(t, line, secret)
	}

	// a caller's 16 KiB path is the caller's text: the line holds 200 bytes of it, and says so
	f.log.Reset()
	f.do(t, "GET", "/v1/"+strings.Repeat("p", 16<<10), nil, nil)
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(f.log.String())), &entry))
	assert.Equal(t, "/v1/"+strings.Repeat("p", auth.MaxDetailBytes-4)+"…[clipped, 16388 bytes]", entry["path"])
}

// The same tree in Lambda behind API Gateway (HTTP API, payload 2.0), through the adapter: the
// fixtures are events as API Gateway sends them.
func TestThroughTheAPIGatewayV2Adapter(t *testing.T) {
	f := newFixture(t)
	adapter := httpadapter.NewV2(f.h)
	for _, c := range []struct {
		fixture string
		status  int
		body    string
	}{
		{"apigw-v2-readyz.json", 200, `{"status":"ready"}` + "\n"},
		{"apigw-v2-broker-post.json", 200, `{"body":"{\"account\":\"111122223333\",\"ticket\":\"SUP-9\"}","method":"POST","path":"/requests"}` + "\n"},
	} {
		raw, err := os.ReadFile("testdata/" + c.fixture)
		require.NoError(t, err)
		var ev events.APIGatewayV2HTTPRequest
		require.NoError(t, json.Unmarshal(raw, &ev))
		resp, err := adapter.ProxyWithContext(t.Context(), ev)
		require.NoError(t, err, c.fixture)
		assert.Equal(t, c.status, resp.StatusCode, c.fixture)
		assert.Equal(t, c.body, resp.Body, c.fixture)

		// and the same answer over HTTP
		r := httptest.NewRequest(ev.RequestContext.HTTP.Method, ev.RawPath, strings.NewReader(ev.Body))
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		assert.Equal(t, resp.StatusCode, w.Code, c.fixture)
		assert.Equal(t, resp.Body, w.Body.String(), c.fixture)
	}
	assert.NotContains(t, f.log.String(), "secret-token-part", "the adapter's requests are logged the same way")
}
