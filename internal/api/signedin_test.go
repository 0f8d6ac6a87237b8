package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/api"
	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/test/moto"
)

// The broker's audit log is DynamoDB: the sign-in audit runs against moto, started on first use.
var motoSrv moto.Shared

func TestMain(m *testing.M) { os.Exit(motoSrv.Run(m)) }

// countingDB is the broker's DynamoDB client, counting every call.
type countingDB struct {
	broker.DynamoAPI
	calls atomic.Int32
}

func (c *countingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.calls.Add(1)
	return c.DynamoAPI.GetItem(ctx, in, opts...)
}

func (c *countingDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.calls.Add(1)
	return c.DynamoAPI.Query(ctx, in, opts...)
}

func (c *countingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.calls.Add(1)
	return c.DynamoAPI.TransactWriteItems(ctx, in, opts...)
}

// idp is an identity provider reduced to one RSA key (kid k1) served as a JWKS.
type idp struct {
	key  *rsa.PrivateKey
	jwks *httptest.Server
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	p := &idp{key: key}
	p.jwks = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	}))
	t.Cleanup(p.jwks.Close)
	return p
}

// token is an ID token for oidcClient, signed with key under kid, for a user with a verified
// e-mail address in groups.
func (p *idp) token(t *testing.T, key *rsa.PrivateKey, kid, email string, groups ...string) string {
	t.Helper()
	return signClaims(t, key, kid, map[string]any{"iss": oidcIssuer, "aud": oidcClient, "sub": "sub-" + email,
		"exp": time.Now().Add(time.Hour).Unix(), "email": email, "email_verified": true, "cognito:groups": groups})
}

// signClaims is a JWT of claims, signed RS256 with key under kid.
func signClaims(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	require.NoError(t, err)
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	obj, err := signer.Sign(payload)
	require.NoError(t, err)
	tok, err := obj.CompactSerialize()
	require.NoError(t, err)
	return tok
}

// TestSignedInAuditsForbiddenOnly: a caller whose token verifies but who has no role (403) leaves
// one REFUSED event in the broker's audit log, under the verified principal; a caller without a
// verified token (401) leaves none, nor any DynamoDB call (anyone could send those, each a write),
// only the log line of the refusal, which holds no token.
func TestSignedInAuditsForbiddenOnly(t *testing.T) {
	cfg, err := motoSrv.Server(t).Config(t.Context(), "")
	require.NoError(t, err)
	client := dynamodb.NewFromConfig(cfg)
	require.NoError(t, broker.CreateTable(t.Context(), client, "broker-signin"))
	db := &countingDB{DynamoAPI: client}
	b, err := broker.New(broker.Config{}, nil, nil, nil, db, "broker-signin")
	require.NoError(t, err)

	p := newIDP(t)
	var logs bytes.Buffer
	v, err := auth.NewVerifier(t.Context(), auth.Config{Issuer: oidcIssuer, Audience: oidcClient, JWKSURL: p.jwks.URL,
		EngineerGroup: "doit-engineers", Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	require.NoError(t, err)
	h := api.SignedIn(b, v)
	do := func(token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/audit?engineer=alice@doit.com", nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	forger, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	unauthenticated := map[string]string{
		"no token":     "",
		"not a JWT":    "not-a-jwt",
		"forged key":   p.token(t, forger, "k1", "alice@doit.com", "doit-engineers"),
		"made-up kid":  p.token(t, forger, "k9", "alice@doit.com", "doit-engineers"),
		"another user": p.token(t, forger, "", "dave@example.com"),
	}
	for name, tok := range unauthenticated {
		logs.Reset()
		w := do(tok)
		assert.Equal(t, http.StatusUnauthorized, w.Code, name)
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		assert.Len(t, lines, 1, "%s: one log line: %s", name, logs.String())
		if tok != "" {
			assert.NotContains(t, logs.String(), tok[strings.LastIndex(tok, ".")+1:], "%s: no signature text", name)
		}
	}
	assert.Zero(t, db.calls.Load(), "a 401 calls DynamoDB not once")

	w := do(p.token(t, p.key, "k1", "Dave@Example.com", "staff"))
	require.Equal(t, http.StatusForbidden, w.Code, "%s", w.Body)
	assert.Equal(t, int32(1), db.calls.Load(), "a 403 is one write")
	events, err := b.Audit().List(t.Context(), broker.Filter{Engineer: "dave@example.com"})
	require.NoError(t, err)
	require.Len(t, events, 1)
	e := events[0]
	assert.Equal(t, broker.EventRefused, e.Type)
	assert.Equal(t, "dave@example.com", e.Actor)
	assert.Equal(t, "sign-in", e.Action)
	assert.Contains(t, e.Reason, "not in the engineer group or a tenant group")
	assert.Contains(t, e.Detail, `"staff"`)

	// the same caller again within RefusalAuditInterval: refused as before, logged, not written again;
	// another caller's first refusal is written
	for range 5 {
		w = do(p.token(t, p.key, "k1", "dave@example.com", "staff"))
		require.Equal(t, http.StatusForbidden, w.Code, "%s", w.Body)
	}
	events, err = b.Audit().List(t.Context(), broker.Filter{Engineer: "dave@example.com"})
	require.NoError(t, err)
	assert.Len(t, events, 1, "one write per principal per interval")
	w = do(p.token(t, p.key, "k1", "erin@example.com", "staff"))
	require.Equal(t, http.StatusForbidden, w.Code, "%s", w.Body)
	events, err = b.Audit().List(t.Context(), broker.Filter{Engineer: "erin@example.com"})
	require.NoError(t, err)
	assert.Len(t, events, 1)
}
