package auth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/auth"
)

const (
	testClient   = "client-1"
	testEngineer = "doit-engineers"
)

// testIssuer is an OpenID Provider reduced to what a verifier reads: a discovery document and a
// JWKS with one RSA key (kid rsa-1) and one P-256 key (kid ec-1), served on 127.0.0.1, and the
// private keys, to sign tokens with any claims, header or key a test needs.
type testIssuer struct {
	srv      *httptest.Server
	rsa      *rsa.PrivateKey
	ec       *ecdsa.PrivateKey
	jwksDown atomic.Bool // answer 500 on the JWKS
	fetches  atomic.Int32
	delay    atomic.Int64 // how long the JWKS takes to answer, in nanoseconds

	mu      sync.Mutex
	rotated []jose.JSONWebKey // keys published since, by rotate
}

// rotate publishes a new RSA key under kid and returns it.
func (ti *testIssuer) rotate(t *testing.T, kid string) *rsa.PrivateKey {
	k := rsaKey(t)
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.rotated = append(ti.rotated, jose.JSONWebKey{Key: k.Public(), KeyID: kid, Algorithm: "RS256", Use: "sig"})
	return k
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	ti := &testIssuer{rsa: rsaKey(t)}
	var err error
	ti.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": ti.url(), "jwks_uri": ti.jwksURL()})
	})
	mux.HandleFunc("GET /jwks.json", func(w http.ResponseWriter, r *http.Request) {
		ti.fetches.Add(1)
		time.Sleep(time.Duration(ti.delay.Load()))
		if ti.jwksDown.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		ti.mu.Lock()
		keys := append([]jose.JSONWebKey{
			{Key: ti.rsa.Public(), KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
			{Key: ti.ec.Public(), KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
		}, ti.rotated...)
		ti.mu.Unlock()
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: keys})
	})
	ti.srv = httptest.NewServer(mux)
	t.Cleanup(ti.srv.Close)
	return ti
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

func (ti *testIssuer) url() string     { return ti.srv.URL }
func (ti *testIssuer) jwksURL() string { return ti.srv.URL + "/jwks.json" }

// claims is a valid ID token's claims for an engineer, now; over replaces or (nil) deletes.
func (ti *testIssuer) claims(over map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss":              ti.url(),
		"aud":              testClient,
		"sub":              "0f1e2d3c-user-alice",
		"token_use":        "id",
		"iat":              now.Unix(),
		"exp":              now.Add(time.Hour).Unix(),
		"cognito:username": "Alice",
		"email":            "Alice@DoiT.com",
		"email_verified":   true,
		"cognito:groups":   []string{testEngineer},
	}
	maps.Copy(c, over)
	for k, v := range over {
		if v == nil {
			delete(c, k)
		}
	}
	return c
}

// sign is a compact JWS of claims (a map, or raw bytes) with alg, key and kid.
func sign(t *testing.T, alg jose.SignatureAlgorithm, key crypto.PrivateKey, kid string, claims any) string {
	t.Helper()
	payload, ok := claims.([]byte)
	if !ok {
		var err error
		payload, err = json.Marshal(claims)
		require.NoError(t, err)
	}
	var signingKey any = key
	if kid != "" {
		signingKey = jose.JSONWebKey{Key: key, KeyID: kid}
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: signingKey}, (&jose.SignerOptions{}).WithType("JWT"))
	require.NoError(t, err)
	obj, err := s.Sign(payload)
	require.NoError(t, err)
	tok, err := obj.CompactSerialize()
	require.NoError(t, err)
	return tok
}

// token is an RS256 token of the issuer's key with claims(over).
func (ti *testIssuer) token(t *testing.T, over map[string]any) string {
	return sign(t, jose.RS256, ti.rsa, "rsa-1", ti.claims(over))
}

func (ti *testIssuer) config(t *testing.T, mutate ...func(*auth.Config)) auth.Config {
	c := auth.Config{Issuer: ti.url(), Audience: testClient, JWKSURL: ti.jwksURL(), EngineerGroup: testEngineer, Logger: testLogger(t)}
	for _, m := range mutate {
		m(&c)
	}
	return c
}

func (ti *testIssuer) verifier(t *testing.T, mutate ...func(*auth.Config)) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(context.Background(), ti.config(t, mutate...))
	require.NoError(t, err)
	return v
}

// fakeClock is a clock a test moves on (Config.Now).
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testLogger writes to the test's output, shown when it fails or runs with -v.
func testLogger(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }

// requireReason asserts err is an *auth.Error of reason want.
func requireReason(t *testing.T, want auth.Reason, err error) {
	t.Helper()
	require.Error(t, err)
	var ae *auth.Error
	require.ErrorAs(t, err, &ae, "every refusal is an *auth.Error")
	require.Equal(t, want, ae.Reason, "error: %v", err)
}
