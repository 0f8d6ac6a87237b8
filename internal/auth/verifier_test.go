package auth_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/auth"
)

// TestVerifyClaimsToIdentity: how claims become an Identity and its principal.
func TestVerifyClaimsToIdentity(t *testing.T) {
	ti := newTestIssuer(t)
	v := ti.verifier(t)
	cases := map[string]struct {
		over      map[string]any
		want      auth.Identity
		principal string
		refused   auth.Reason // an engineer is named only by a verified e-mail
	}{
		"engineer, ID token: the verified e-mail, lower-cased": {
			want:      auth.Identity{Subject: "0f1e2d3c-user-alice", Username: "Alice", Email: "Alice@DoiT.com", Engineer: true, Issuer: ti.url()},
			principal: "alice@doit.com",
		},
		"engineer, Cognito access token: no e-mail, so no name (never the username)": {
			over: map[string]any{"aud": nil, "client_id": testClient, "token_use": "access", "cognito:username": nil,
				"username": "Alice@DoiT.com", "email": nil, "email_verified": nil},
			refused: auth.EngineerWithoutEmail,
		},
		"engineer, unverified e-mail: no name (a username bob@doit.com is not bob)": {
			over:    map[string]any{"email_verified": false, "cognito:username": "bob@doit.com"},
			refused: auth.EngineerWithoutEmail,
		},
		"customer, unverified e-mail: refused, never named by sub (a staff member in a tenant group would go unseen)": {
			over:    map[string]any{"cognito:username": "carol", "email": "carol@doit.com", "email_verified": false, "cognito:groups": []string{"tenant:acme"}},
			refused: auth.CustomerWithoutEmail,
		},
		"customer, Cognito access token: refused (no e-mail; the ID token names them)": {
			over: map[string]any{"aud": nil, "client_id": testClient, "token_use": "access", "email": nil, "email_verified": nil,
				"cognito:groups": []string{"tenant:acme"}},
			refused: auth.CustomerWithoutEmail,
		},
		"engineer, e-mail without email_verified: no name": {
			over:    map[string]any{"email_verified": nil},
			refused: auth.EngineerWithoutEmail,
		},
		`engineer, email_verified as the string "true"`: {
			over:      map[string]any{"email_verified": "true"},
			want:      auth.Identity{Subject: "0f1e2d3c-user-alice", Username: "Alice", Email: "Alice@DoiT.com", Engineer: true, Issuer: ti.url()},
			principal: "alice@doit.com",
		},
		"engineer, OIDC preferred_username, no token_use": {
			over: map[string]any{"token_use": nil, "cognito:username": nil, "preferred_username": "al",
				"cognito:groups": []string{"other", testEngineer}},
			want:      auth.Identity{Subject: "0f1e2d3c-user-alice", Username: "al", Email: "Alice@DoiT.com", Engineer: true, Issuer: ti.url()},
			principal: "alice@doit.com",
		},
		"customer of acme: the verified e-mail, never the username": {
			over:      map[string]any{"cognito:username": "Bob", "email": "bob@acme.example", "cognito:groups": []string{"tenant:acme"}},
			want:      auth.Identity{Subject: "0f1e2d3c-user-alice", Username: "Bob", Email: "bob@acme.example", Tenant: "acme", Issuer: ti.url()},
			principal: "tenant:acme/bob@acme.example",
		},
		"customer without a username: the verified e-mail; the tenant as its group spells it": {
			over:      map[string]any{"cognito:username": nil, "email": "Bob@Acme.example", "cognito:groups": []string{"tenant:Acme"}},
			want:      auth.Identity{Subject: "0f1e2d3c-user-alice", Email: "Bob@Acme.example", Tenant: "Acme", Issuer: ti.url()},
			principal: "tenant:Acme/bob@acme.example",
		},
		"groups as one string": {
			over:      map[string]any{"cognito:groups": "tenant:acme"},
			want:      auth.Identity{Subject: "0f1e2d3c-user-alice", Username: "Alice", Email: "Alice@DoiT.com", Tenant: "acme", Issuer: ti.url()},
			principal: "tenant:acme/alice@doit.com",
		},
		"engineer and customer: an engineer only, never an approver": {
			over:      map[string]any{"cognito:groups": []string{"tenant:acme", testEngineer, "tenant:globex"}},
			want:      auth.Identity{Subject: "0f1e2d3c-user-alice", Username: "Alice", Email: "Alice@DoiT.com", Engineer: true, Issuer: ti.url()},
			principal: "alice@doit.com",
		},
		"aud a list that contains the client, azp the client": {
			over:      map[string]any{"aud": []string{"other", testClient}, "azp": testClient},
			want:      auth.Identity{Subject: "0f1e2d3c-user-alice", Username: "Alice", Email: "Alice@DoiT.com", Engineer: true, Issuer: ti.url()},
			principal: "alice@doit.com",
		},
		"nbf and iat within the leeway": {
			over:      map[string]any{"nbf": time.Now().Add(30 * time.Second).Unix(), "iat": time.Now().Add(30 * time.Second).Unix()},
			want:      auth.Identity{Subject: "0f1e2d3c-user-alice", Username: "Alice", Email: "Alice@DoiT.com", Engineer: true, Issuer: ti.url()},
			principal: "alice@doit.com",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			id, err := v.Verify(t.Context(), ti.token(t, tc.over))
			if tc.refused != "" {
				requireReason(t, tc.refused, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, id)
			assert.Equal(t, tc.principal, id.Principal())
		})
	}
	t.Run("ES256", func(t *testing.T) {
		id, err := v.Verify(t.Context(), sign(t, jose.ES256, ti.ec, "ec-1", ti.claims(nil)))
		require.NoError(t, err)
		assert.Equal(t, "alice@doit.com", id.Principal())
	})
	t.Run("configured claim names", func(t *testing.T) {
		v := ti.verifier(t, func(c *auth.Config) { c.GroupsClaim, c.EngineerGroup, c.TenantGroupPrefix = "groups", "eng", "org=" })
		id, err := v.Verify(t.Context(), ti.token(t, map[string]any{"groups": []string{"org=acme"}}))
		require.NoError(t, err)
		assert.Equal(t, "tenant:acme/alice@doit.com", id.Principal())
		id, err = v.Verify(t.Context(), ti.token(t, map[string]any{"groups": []string{"eng", "org=acme"}}))
		require.NoError(t, err)
		assert.True(t, id.Engineer)
		_, err = v.Verify(t.Context(), ti.token(t, nil)) // cognito:groups is not the configured claim
		requireReason(t, auth.NoRole, err)
	})
}

// TestVerifyRefusals is the refusal matrix on tokens signed here: each refusal has its reason.
func TestVerifyRefusals(t *testing.T) {
	ti := newTestIssuer(t)
	v := ti.verifier(t)
	now := time.Now()
	otherKey := rsaKey(t)
	good := ti.token(t, nil)
	parts := strings.Split(good, ".")
	pubDER, err := x509.MarshalPKIXPublicKey(ti.rsa.Public())
	require.NoError(t, err)
	b64 := base64.RawURLEncoding.EncodeToString
	payload, err := json.Marshal(ti.claims(nil))
	require.NoError(t, err)

	cases := map[string]struct {
		token string
		want  auth.Reason
	}{
		"not a JWT":                 {"not-a-jwt", auth.Malformed},
		"two parts":                 {parts[0] + "." + parts[1], auth.Malformed},
		"too long":                  {ti.token(t, map[string]any{"pad": strings.Repeat("x", auth.MaxTokenLength)}), auth.Malformed},
		"five parts (a JWE)":        {good + ".x.y", auth.Malformed},
		"header not base64url":      {"%%%." + parts[1] + "." + parts[2], auth.Malformed},
		"header not JSON":           {b64([]byte("alg")) + "." + parts[1] + "." + parts[2], auth.Malformed},
		"signature not base64url":   {parts[0] + "." + parts[1] + ".%%%", auth.Malformed},
		"payload not a JSON object": {sign(t, jose.RS256, ti.rsa, "rsa-1", []byte(`"just a string"`)), auth.Malformed},
		"alg none":                  {b64([]byte(`{"alg":"none"}`)) + "." + b64(payload) + ".", auth.Algorithm},
		"HS256 keyed with the issuer's public key": {sign(t, jose.HS256, pubDER, "rsa-1", ti.claims(nil)), auth.Algorithm},
		"RS384":                                       {sign(t, jose.RS384, ti.rsa, "rsa-1", ti.claims(nil)), auth.Algorithm},
		"PS256":                                       {sign(t, jose.PS256, ti.rsa, "rsa-1", ti.claims(nil)), auth.Algorithm},
		"another issuer":                              {ti.token(t, map[string]any{"iss": "https://evil.example"}), auth.Issuer},
		"issuer plus a slash":                         {ti.token(t, map[string]any{"iss": ti.url() + "/"}), auth.Issuer},
		"no issuer":                                   {ti.token(t, map[string]any{"iss": nil}), auth.Issuer},
		"token_use refresh":                           {ti.token(t, map[string]any{"token_use": "refresh"}), auth.TokenUse},
		"aud another client":                          {ti.token(t, map[string]any{"aud": "client-2"}), auth.Audience},
		"aud a list without the client":               {ti.token(t, map[string]any{"aud": []string{"a", "b"}}), auth.Audience},
		"access token of another client":              {ti.token(t, map[string]any{"aud": nil, "token_use": "access", "client_id": "client-2"}), auth.Audience},
		"aud another client, client_id ours":          {ti.token(t, map[string]any{"aud": "client-2", "client_id": testClient}), auth.Audience},
		"neither aud nor client_id":                   {ti.token(t, map[string]any{"aud": nil}), auth.Audience},
		"an ID token with aud [] and our client_id":   {ti.token(t, map[string]any{"aud": []string{}, "client_id": testClient, "token_use": "id"}), auth.Audience},
		"an ID token with aud null and our client_id": {ti.token(t, map[string]any{"aud": nil, "client_id": testClient}), auth.Audience},
		"expired":                                     {ti.token(t, map[string]any{"exp": now.Add(-time.Second).Unix()}), auth.Expired},
		"no exp":                                      {ti.token(t, map[string]any{"exp": nil}), auth.Claims},
		"exp a string":                                {ti.token(t, map[string]any{"exp": "tomorrow"}), auth.Claims},
		"nbf past the leeway":                         {ti.token(t, map[string]any{"nbf": now.Add(2 * time.Minute).Unix()}), auth.NotYetValid},
		"iat past the leeway":                         {ti.token(t, map[string]any{"iat": now.Add(2 * time.Minute).Unix()}), auth.NotYetValid},
		"no sub":                                      {ti.token(t, map[string]any{"sub": nil}), auth.Claims},
		"groups a number":                             {ti.token(t, map[string]any{"cognito:groups": 7}), auth.Claims},
		"aud a number":                                {ti.token(t, map[string]any{"aud": 7}), auth.Claims},
		"tampered signature":                          {flipSignatureByte(t, good), auth.Signature},
		"tampered payload": {
			parts[0] + "." + b64(mustJSON(t, ti.claims(map[string]any{"cognito:groups": []string{testEngineer, "x"}}))) + "." + parts[2],
			auth.Signature,
		},
		"unknown kid":                               {sign(t, jose.RS256, otherKey, "rsa-2", ti.claims(nil)), auth.UnknownKey},
		"known kid, another key":                    {sign(t, jose.RS256, otherKey, "rsa-1", ti.claims(nil)), auth.Signature},
		"no kid, another key":                       {sign(t, jose.RS256, otherKey, "", ti.claims(nil)), auth.Signature},
		"ES256 header, the RSA key's kid":           {sign(t, jose.ES256, ti.ec, "rsa-1", ti.claims(nil)), auth.Signature},
		"no username, no verified e-mail":           {ti.token(t, map[string]any{"cognito:username": nil, "email_verified": false}), auth.NoUser},
		"no role":                                   {ti.token(t, map[string]any{"cognito:groups": []string{"staff"}}), auth.NoRole},
		"no groups claim":                           {ti.token(t, map[string]any{"cognito:groups": nil}), auth.NoRole},
		"the engineer group's name in another case": {ti.token(t, map[string]any{"cognito:groups": []string{"DoiT-Engineers"}}), auth.NoRole},
		"two tenants":                               {ti.token(t, map[string]any{"cognito:groups": []string{"tenant:acme", "tenant:globex"}}), auth.TenantAmbiguous},
		"an empty tenant":                           {ti.token(t, map[string]any{"cognito:groups": []string{"tenant:"}}), auth.TenantInvalid},
		"a tenant with a slash":                     {ti.token(t, map[string]any{"cognito:groups": []string{"tenant:acme/x"}}), auth.TenantInvalid},
		"a tenant with a space":                     {ti.token(t, map[string]any{"cognito:groups": []string{"tenant:ac me"}}), auth.TenantInvalid},
		"an engineer named like a customer":         {ti.token(t, map[string]any{"email": "tenant:acme/x"}), auth.NoUser},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			id, err := v.Verify(t.Context(), tc.token)
			requireReason(t, tc.want, err)
			assert.Zero(t, id)
			assert.NotContains(t, err.Error(), tc.token, "the error never holds the token")
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// flipSignatureByte changes one byte of the token's signature (not its last base64url character,
// whose low bits may be padding that decodes to the same bytes).
func flipSignatureByte(t *testing.T, tok string) string {
	t.Helper()
	i := strings.LastIndex(tok, ".")
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	require.NoError(t, err)
	sig[len(sig)/2] ^= 0x01
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// TestVerifyAuthorizedParty: OpenID Connect Core 1.0 §3.1.3.7, items 4 and 5: a token with several
// audiences must name the client it was issued to in azp, and an azp, when present, must be the
// configured client. A Cognito access token (client_id, no aud) is unaffected.
func TestVerifyAuthorizedParty(t *testing.T) {
	ti := newTestIssuer(t)
	v := ti.verifier(t)
	access := map[string]any{"aud": nil, "client_id": testClient, "token_use": "access"}
	cases := map[string]struct {
		over map[string]any
		want auth.Reason // "" accepted
	}{
		"one audience, no azp":                      {map[string]any{"azp": nil}, ""},
		"one audience, azp the client":              {map[string]any{"azp": testClient}, ""},
		"one audience as a list, no azp":            {map[string]any{"aud": []string{testClient}}, ""},
		"one audience, azp another client":          {map[string]any{"azp": "client-2"}, auth.Audience},
		"one audience, azp empty":                   {map[string]any{"azp": ""}, auth.Audience},
		"two audiences, no azp":                     {map[string]any{"aud": []string{testClient, "client-2"}}, auth.Audience},
		"two audiences, azp the client":             {map[string]any{"aud": []string{"client-2", testClient}, "azp": testClient}, ""},
		"two audiences, azp the other":              {map[string]any{"aud": []string{testClient, "client-2"}, "azp": "client-2"}, auth.Audience},
		"two audiences, azp null":                   {map[string]any{"aud": []string{testClient, "client-2"}, "azp": json.RawMessage("null")}, auth.Audience},
		"azp a number":                              {map[string]any{"azp": 7}, auth.Claims},
		"Cognito access token":                      {access, ""},
		"Cognito access token, azp another client":  {merge(access, map[string]any{"azp": "client-2"}), auth.Audience},
		"Cognito access token, azp the same client": {merge(access, map[string]any{"azp": testClient}), ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), ti.token(t, merge(tc.over, map[string]any{"cognito:groups": []string{"tenant:acme"}})))
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			requireReason(t, tc.want, err)
		})
	}
}

// merge is a copy of a with b's entries over it.
func merge(a, b map[string]any) map[string]any {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]any{}
	}
	maps.Copy(out, b)
	return out
}

// TestVerifyChecksClaimsBeforeFetchingKeys: a token for another issuer, client or time is refused
// without a JWKS fetch; only a token whose claims pass reaches the keys.
func TestVerifyChecksClaimsBeforeFetchingKeys(t *testing.T) {
	ti := newTestIssuer(t)
	v := ti.verifier(t)
	for _, over := range []map[string]any{{"iss": "https://evil.example"}, {"aud": "client-2"}, {"exp": time.Now().Add(-time.Hour).Unix()}} {
		_, err := v.Verify(t.Context(), sign(t, jose.RS256, rsaKey(t), "unknown", ti.claims(over)))
		require.Error(t, err)
	}
	assert.Zero(t, ti.fetches.Load(), "no JWKS fetch for a token refused by its claims")
	_, err := v.Verify(t.Context(), ti.token(t, nil))
	require.NoError(t, err)
	assert.Equal(t, int32(1), ti.fetches.Load())
	_, err = v.Verify(t.Context(), ti.token(t, nil))
	require.NoError(t, err)
	assert.Equal(t, int32(1), ti.fetches.Load(), "keys are cached")
}

// TestVerifyKeysUnavailable: when the JWKS cannot be fetched the answer is 503 (try again), not
// 401 (sign in again), until a fetch succeeds; the next fetch is tried once JWKSRefetchInterval has
// passed, and then the same token passes.
func TestVerifyKeysUnavailable(t *testing.T) {
	ti := newTestIssuer(t)
	clock := newFakeClock()
	v := ti.verifier(t, func(c *auth.Config) { c.Now = clock.Now })
	tok := ti.token(t, nil)
	ti.jwksDown.Store(true)
	_, err := v.Verify(t.Context(), tok)
	requireReason(t, auth.KeysUnavailable, err)
	assert.Equal(t, http.StatusServiceUnavailable, err.(*auth.Error).Status())
	ti.jwksDown.Store(false)
	_, err = v.Verify(t.Context(), tok)
	requireReason(t, auth.KeysUnavailable, err) // within the interval: no fetch, the failed one's answer
	assert.Equal(t, int32(1), ti.fetches.Load())
	clock.Advance(auth.DefaultJWKSRefetchInterval)
	_, err = v.Verify(t.Context(), tok)
	require.NoError(t, err)
	assert.Equal(t, int32(2), ti.fetches.Load())

	t.Run("a failed fetch leaves the keys held", func(t *testing.T) {
		ti.jwksDown.Store(true)
		t.Cleanup(func() { ti.jwksDown.Store(false) })
		clock.Advance(auth.DefaultJWKSRefetchInterval)
		_, err := v.Verify(t.Context(), sign(t, jose.RS256, rsaKey(t), "rsa-9", ti.claims(nil)))
		requireReason(t, auth.KeysUnavailable, err) // it may be a key published since
		_, err = v.Verify(t.Context(), tok)
		require.NoError(t, err)
	})
	t.Run("the JWKS host is gone", func(t *testing.T) {
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		v := ti.verifier(t, func(c *auth.Config) { c.JWKSURL = gone.URL + "/jwks.json" })
		_, err := v.Verify(t.Context(), tok)
		requireReason(t, auth.KeysUnavailable, err)
	})
	t.Run("the JWKS has no usable key", func(t *testing.T) {
		empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"keys":[{"kty":"OKP","crv":"Ed448","x":"AA"},{"kty":"oct","k":"c2VjcmV0"}]}`))
		}))
		t.Cleanup(empty.Close)
		v := ti.verifier(t, func(c *auth.Config) { c.JWKSURL = empty.URL })
		_, err := v.Verify(t.Context(), tok)
		requireReason(t, auth.KeysUnavailable, err)
		assert.ErrorContains(t, err, "no public signing key")
	})
}

// TestVerifierClock: exp has no leeway; nbf and iat have Config.Leeway.
func TestVerifierClock(t *testing.T) {
	ti := newTestIssuer(t)
	now := time.Now().Truncate(time.Second)
	tok := ti.token(t, map[string]any{"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	at := func(d time.Duration) *auth.Verifier {
		return ti.verifier(t, func(c *auth.Config) { c.Now = func() time.Time { return now.Add(d) } })
	}
	for d, want := range map[time.Duration]auth.Reason{
		-61 * time.Second:            auth.NotYetValid,
		-60 * time.Second:            "",
		0:                            "",
		time.Hour - time.Millisecond: "",
		time.Hour:                    auth.Expired,
		2 * time.Hour:                auth.Expired,
	} {
		_, err := at(d).Verify(t.Context(), tok)
		assert.Equal(t, want, auth.ReasonOf(err), "at iat%+v: %v", d, err)
	}
}

// TestNewVerifierConfig: a configuration that would accept the wrong tokens is refused up front.
func TestNewVerifierConfig(t *testing.T) {
	ti := newTestIssuer(t)
	cases := map[string]struct {
		mutate func(*auth.Config)
		want   string
	}{
		"no issuer":                       {func(c *auth.Config) { c.Issuer = "" }, "Issuer is required"},
		"http issuer off loopback":        {func(c *auth.Config) { c.Issuer = "http://idp.example" }, "must be https"},
		"http JWKS off loopback":          {func(c *auth.Config) { c.JWKSURL = "http://10.0.0.1/jwks.json" }, "must be https"},
		"a relative JWKS URL":             {func(c *auth.Config) { c.JWKSURL = "/jwks.json" }, "absolute URL"},
		"no audience":                     {func(c *auth.Config) { c.Audience = " " }, "Audience"},
		"no engineer group":               {func(c *auth.Config) { c.EngineerGroup = "" }, "EngineerGroup is required"},
		"engineer group a tenant group":   {func(c *auth.Config) { c.EngineerGroup = "tenant:doit" }, "must not start with"},
		"leeway too long":                 {func(c *auth.Config) { c.Leeway = time.Hour }, "Leeway"},
		"JWKS refetch interval too short": {func(c *auth.Config) { c.JWKSRefetchInterval = time.Millisecond }, "JWKSRefetchInterval"},
		"JWKS refetch interval too long":  {func(c *auth.Config) { c.JWKSRefetchInterval = 2 * time.Hour }, "JWKSRefetchInterval"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := auth.NewVerifier(t.Context(), ti.config(t, tc.mutate))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestNewVerifierDiscovery: without JWKSURL the keys are found through the discovery document,
// whose issuer must be the configured one.
func TestNewVerifierDiscovery(t *testing.T) {
	ti := newTestIssuer(t)
	v, err := auth.NewVerifier(t.Context(), ti.config(t, func(c *auth.Config) { c.JWKSURL = "" }))
	require.NoError(t, err)
	assert.Equal(t, ti.jwksURL(), v.JWKSURL())
	_, err = v.Verify(t.Context(), ti.token(t, nil))
	require.NoError(t, err)

	t.Run("issuer mismatch", func(t *testing.T) {
		_, err := auth.NewVerifier(t.Context(), ti.config(t, func(c *auth.Config) {
			c.JWKSURL, c.Issuer = "", "http://localhost:"+strings.TrimPrefix(ti.url(), "http://127.0.0.1:")
		}))
		require.ErrorContains(t, err, "discovering")
	})
	t.Run("issuer unreachable", func(t *testing.T) {
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := auth.NewVerifier(ctx, ti.config(t, func(c *auth.Config) { c.JWKSURL, c.Issuer = "", gone.URL }))
		require.ErrorContains(t, err, "discovering")
	})
}
