package console

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// After sign-in the browser goes back to a page of the console, never anywhere else.
func TestReturnPath(t *testing.T) {
	for next, want := range map[string]string{
		"":                                  "/console/accounts",
		"/console/requests":                 "/console/requests",
		"/console/log?account=111122223333": "/console/log?account=111122223333",
		"/console/":                         "/console/",
		"https://evil.example/console/":     "/console/accounts",
		"//evil.example/console/":           "/console/accounts",
		"/\\evil.example/console/":          "/console/accounts",
		"/console/../v1/requests":           "/console/accounts",
		"/console//evil":                    "/console/accounts",
		"/v1/requests":                      "/console/accounts",
		"javascript:alert(1)":               "/console/accounts",
		"/console/\r\nSet-Cookie: x=y":      "/console/accounts",
	} {
		assert.Equal(t, want, returnPath(next), "next %q", next)
	}
}

// fakeVerifier accepts any token as a customer's (the signature checks are the auth package's).
type fakeVerifier struct{}

func (fakeVerifier) Verify(context.Context, string) (auth.Identity, error) {
	return auth.Identity{Tenant: "acme", Email: "bob@acme.example"}, nil
}

// The ID token must carry this sign-in's nonce, by its exact name; its exp bounds the session.
func TestVerifyChecksTheNonce(t *testing.T) {
	c := &Console{cfg: Config{Verifier: fakeVerifier{}}}
	token := func(claims map[string]any) string {
		b, err := json.Marshal(claims)
		require.NoError(t, err)
		return "e30." + base64.RawURLEncoding.EncodeToString(b) + ".c2ln"
	}
	exp := time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC)
	_, got, err := c.verify(t.Context(), token(map[string]any{"nonce": "n-1", "exp": exp.Unix()}), "n-1")
	require.NoError(t, err)
	assert.Equal(t, exp, got)
	for name, claims := range map[string]map[string]any{
		"another nonce":           {"nonce": "n-2", "exp": exp.Unix()},
		"no nonce":                {"exp": exp.Unix()},
		"the nonce in other case": {"Nonce": "n-1", "exp": exp.Unix()},
		"a nonce that is no text": {"nonce": 1, "exp": exp.Unix()},
		"no exp":                  {"nonce": "n-1"},
	} {
		_, _, err := c.verify(t.Context(), token(claims), "n-1")
		assert.Error(t, err, name)
	}
	_, _, err = c.verify(t.Context(), "", "n-1")
	assert.Error(t, err, "no ID token")
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 0: "0s", 45 * time.Second: "45s", 15 * time.Minute: "15m", time.Hour: "1h",
		90 * time.Minute: "1h 30m", 3*time.Hour - time.Second: "2h 59m", 61 * time.Second: "1m 1s", 26 * time.Hour: "1d 2h",
	} {
		assert.Equal(t, want, humanDuration(d), "%s", d)
	}
}

// The sessions are bounded: past the bound, the entry closest to its end goes first, the expired
// ones before it.
func TestSessionsAreBounded(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	m := map[string]time.Time{"expired": now.Add(-time.Second), "soon": now.Add(time.Minute), "later": now.Add(time.Hour)}
	evict(m, now, 3, func(t time.Time) time.Time { return t })
	assert.Equal(t, map[string]time.Time{"soon": now.Add(time.Minute), "later": now.Add(time.Hour)}, m, "the expired one made room")
	m["third"] = now.Add(2 * time.Hour)
	evict(m, now, 3, func(t time.Time) time.Time { return t })
	assert.NotContains(t, m, "soon", "full: the one closest to its end goes")
	assert.Len(t, m, 2)

	ss := newSessions()
	s := ss.start(session{principal: "tenant:acme/bob@acme.example", expires: now.Add(time.Hour)}, now)
	assert.NotEqual(t, s.id, s.csrf)
	_, ok := ss.get(s.id, now.Add(time.Hour))
	assert.False(t, ok, "expired at its end")
	state := ss.begin(pendingSignIn{verifier: "v"}, now)
	_, ok = ss.finish(state, now.Add(pendingLifetime))
	assert.False(t, ok, "a sign-in expires")
	state = ss.begin(pendingSignIn{verifier: "v"}, now)
	p, ok := ss.finish(state, now)
	assert.True(t, ok)
	assert.Equal(t, "v", p.verifier)
	_, ok = ss.finish(state, now)
	assert.False(t, ok, "once only")
}

// A cell a spreadsheet would run as a formula is written as text.
func TestCSVRowDefusesFormulas(t *testing.T) {
	row := CSVRow(broker.Event{ID: "evt-1", Type: broker.EventDismissed, Reason: "=HYPERLINK(\"x\")", Ticket: "+1", Actor: "@me",
		Engineer: "-x", Account: "111122223333"})
	assert.Equal(t, "'=HYPERLINK(\"x\")", row[9])
	assert.Equal(t, "'+1", row[8])
	assert.Equal(t, "'@me", row[4])
	assert.Equal(t, "'-x", row[6])
	assert.Equal(t, "111122223333", row[5])
	assert.Len(t, row, len(CSVHeader))
}

// failingRegistry and failingBroker fail as DynamoDB does, naming the vendor's resources.
type failingRegistry struct{ Registry }

var errRegistry = errors.New("reading the records: operation error DynamoDB: Scan, arn:aws:dynamodb:us-east-1:123456789012:table/registry: ResourceNotFoundException")

func (failingRegistry) TenantAccounts(context.Context, string) ([]registry.AccountState, error) {
	return nil, errRegistry
}

func (failingRegistry) Account(context.Context, string) (registry.AccountState, error) {
	return registry.AccountState{}, errRegistry
}

func (failingRegistry) TenantTokens(context.Context, string) ([]registry.TenantToken, error) {
	return nil, errRegistry
}

type failingBroker struct{ Broker }

func (failingBroker) ListRequests(context.Context, string, broker.ListQuery) (broker.RequestPage, error) {
	return broker.RequestPage{}, errors.New("querying ByTenant: arn:aws:dynamodb:us-east-1:123456789012:table/broker: throttled")
}

// A failure behind a page is a 500 page that says nothing was changed and nothing of the error,
// which names the vendor's resources; the log has it.
func TestFailuresAreLoggedNotShown(t *testing.T) {
	var logs strings.Builder
	c, err := New(Config{URL: "http://127.0.0.1:8080/console/", Issuer: "http://127.0.0.1:1", ClientID: "client", Verifier: fakeVerifier{},
		Broker: failingBroker{}, Audit: &broker.AuditLog{}, Registry: failingRegistry{}, Vendor: policy.DefaultVendor(),
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	require.NoError(t, err)
	s := c.sessions.start(session{principal: "tenant:acme/bob@acme.example", tenant: "acme", email: "bob@acme.example",
		expires: time.Now().Add(time.Hour)}, time.Now())
	for _, path := range []string{"/console/accounts", "/console/requests", "/console/log", "/console/organization",
		"/console/accounts/111122223333/configure"} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: s.id})
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		assert.Equal(t, http.StatusInternalServerError, w.Code, path)
		assert.Contains(t, w.Body.String(), "Something went wrong on our side, and nothing was changed", path)
		assert.NotContains(t, w.Body.String(), "arn:aws", path)
		assert.Equal(t, ContentSecurityPolicy, w.Header().Get("Content-Security-Policy"))
	}
	assert.Contains(t, logs.String(), "table/registry")
	assert.Contains(t, logs.String(), "table/broker")
}
