package awscheck_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/test/awscheck"
)

// testIssuer is an OIDC issuer built in the test: a P-256 key, and the discovery documents and
// key sets it publishes, which the front end fetches through Config.Fetch.
type testIssuer struct {
	key *ecdsa.PrivateKey
	kid string

	mu   sync.Mutex
	docs map[string][]byte // by URL
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return &testIssuer{key: key, kid: uniqueName("kid"), docs: map[string][]byte{}}
}

// publish serves iss's discovery document and key set.
func (i *testIssuer) publish(t *testing.T, iss string) {
	t.Helper()
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &i.key.PublicKey, KeyID: i.kid, Algorithm: string(jose.ES256), Use: "sig"},
	}})
	require.NoError(t, err)
	i.serve(iss+"/.well-known/jwks.json", jwks)
	i.serve(iss+"/.well-known/openid-configuration", mustJSON(t, map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/.well-known/jwks.json",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
	}))
}

func (i *testIssuer) serve(url string, body []byte) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if body == nil {
		delete(i.docs, url)
		return
	}
	i.docs[url] = body
}

// fetch is Config.Fetch: what the issuer publishes, or an error, as for an unreachable host.
func (i *testIssuer) fetch(_ context.Context, url string) ([]byte, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	body, ok := i.docs[url]
	if !ok {
		return nil, errors.New("dial tcp: lookup " + url + ": no such host")
	}
	return body, nil
}

// token signs claims with go-jose (ES256 over SHA-256 of the signing input, as real KMS signs).
func (i *testIssuer) token(t *testing.T, claims map[string]any, kid string, key *ecdsa.PrivateKey) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	require.NoError(t, err)
	jws, err := signer.Sign(mustJSON(t, claims))
	require.NoError(t, err)
	s, err := jws.CompactSerialize()
	require.NoError(t, err)
	return s
}

// motoToken signs claims the way the issuer's tokens come out of moto's KMS: ECDSA over
// SHA-256(SHA-256(signing input)).
func (i *testIssuer) motoToken(t *testing.T, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(mustJSON(t, map[string]string{"alg": "ES256", "typ": "JWT", "kid": i.kid})) + "." +
		enc.EncodeToString(mustJSON(t, claims))
	digest := sha256.Sum256([]byte(input))
	twice := sha256.Sum256(digest[:])
	r, s, err := ecdsa.Sign(rand.Reader, i.key, twice[:])
	require.NoError(t, err)
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + enc.EncodeToString(sig)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// webCustomer is a customer account with the support-gateway template's primary identity provider
// and gateway role.
type webCustomer struct {
	target  policy.Target
	admin   aws.Config
	roleARN string
}

func newWebCustomer(t *testing.T, e env) webCustomer {
	t.Helper()
	c := webCustomer{target: policy.Target{Partition: "aws", AccountID: uniqueAccount()}}
	var err error
	c.admin, err = e.moto.Config(t.Context(), c.target.AccountID)
	require.NoError(t, err)
	_, err = iam.NewFromConfig(c.admin).CreateOpenIDConnectProvider(t.Context(), &iam.CreateOpenIDConnectProviderInput{
		Url:            aws.String(vendor.IssuerURL(c.target, 0)),
		ClientIDList:   []string{vendor.Audience(c.target)},
		ThumbprintList: []string{strings.Repeat("a", 40)},
	})
	require.NoError(t, err)
	c.roleARN = createRole(t, c.admin, vendor.GatewayRoleName(), "", vendor.WebIdentityTrust(c.target))
	return c
}

// claims are what the vendor's issuer puts in a token for c (internal/issuer: Mint).
func (c webCustomer) claims() map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": vendor.IssuerURL(c.target, 0),
		"sub": vendor.SubjectPrefix() + "abcdefghijklmnopqrstuvwxyz",
		"aud": vendor.Audience(c.target),
		"iat": now.Unix(),
		"nbf": now.Add(-issuer.NotBeforeSkew).Unix(),
		"exp": now.Add(issuer.MaxTokenLifetime).Unix(),
		"jti": uniqueName("jti"),
		"https://aws.amazon.com/tags": map[string]any{
			"principal_tags":      map[string][]string{vendor.SessionTagKey(): {"test"}},
			"transitive_tag_keys": []string{vendor.SessionTagKey()},
		},
	}
}

func assumeWithWebIdentity(ctx context.Context, cfg aws.Config, roleARN, token string, edit ...func(*sts.AssumeRoleWithWebIdentityInput)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(roleARN),
		RoleSessionName:  aws.String("engineer"),
		WebIdentityToken: aws.String(token),
	}
	for _, e := range edit {
		e(in)
	}
	return sts.NewFromConfig(cfg).AssumeRoleWithWebIdentity(ctx, in)
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	setup := newEnv(t)
	a, b := newWebCustomer(t, setup), newWebCustomer(t, setup)
	// A role whose trust is the gateway role's without sts:TagSession.
	trust := vendor.WebIdentityTrust(a.target)
	for i := range trust.Statement {
		trust.Statement[i].Action = policy.Strings{"sts:AssumeRoleWithWebIdentity"}
	}
	noTagSession := createRole(t, a.admin, uniqueName("no-tag-session"), "", trust)
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	iss := vendor.IssuerURL(a.target, 0)
	provider := vendor.ProviderARN(a.target, 0)

	type token struct{ kid, key string } // "": the issuer's own
	tests := map[string]struct {
		role   string
		claims func(map[string]any)
		token  token
		idp    func(*testIssuer) // what the IdP serves differently
		policy string
		want   *apiError // nil: admitted
		reason string    // in the decision's Reason
	}{
		"the issuer's token": {role: a.roleARN, reason: "allowed by statement PrimaryIssuer"},
		"no identity provider for the issuer": {role: a.roleARN,
			claims: func(c map[string]any) { c["iss"] = vendor.IssuerURL(a.target, 1) }, // the standby: no provider created
			want:   &apiError{400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for " + vendor.IssuerURL(a.target, 1)},
			reason: "no identity provider"},
		"another account's audience": {role: a.roleARN,
			claims: func(c map[string]any) { c["aud"] = vendor.Audience(b.target) },
			want:   &apiError{400, "InvalidIdentityToken", "Incorrect token audience"}, reason: "client IDs"},
		"a sub that names no engineer": {role: a.roleARN,
			claims: func(c map[string]any) { c["sub"] = vendor.SubjectPrefix() + "alice" },
			want:   &apiError{403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
			reason: "condition StringLike " + strings.TrimPrefix(iss, "https://") + ":sub not met"},
		"expired": {role: a.roleARN,
			claims: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() },
			want:   &apiError{status: 400, code: "ExpiredTokenException"}, reason: "token expired"},
		"not yet valid": {role: a.roleARN,
			claims: func(c map[string]any) { c["nbf"] = time.Now().Add(10 * time.Minute).Unix() },
			want:   &apiError{status: 400, code: "InvalidIdentityToken"}, reason: "in the future"},
		"signed by another key": {role: a.roleARN, token: token{key: "other"},
			want: &apiError{status: 400, code: "InvalidIdentityToken"}, reason: "signature does not verify"},
		"unknown kid": {role: a.roleARN, token: token{kid: "unknown"},
			want: &apiError{status: 400, code: "InvalidIdentityToken"}, reason: `kid "unknown" is not in the issuer's JWKS`},
		"IdP unreachable": {role: a.roleARN,
			idp:  func(i *testIssuer) { i.serve(iss+"/.well-known/openid-configuration", nil) },
			want: &apiError{status: 400, code: "IDPCommunicationError"}, reason: "no such host"},
		"JWKS unreachable": {role: a.roleARN,
			idp:  func(i *testIssuer) { i.serve(iss+"/.well-known/jwks.json", nil) },
			want: &apiError{status: 400, code: "IDPCommunicationError"}, reason: "fetching the JWKS"},
		"discovery names another issuer": {role: a.roleARN,
			idp: func(i *testIssuer) {
				i.serve(iss+"/.well-known/openid-configuration", mustJSON(t, map[string]string{"issuer": iss + "/", "jwks_uri": iss + "/.well-known/jwks.json"}))
			},
			want: &apiError{status: 400, code: "InvalidIdentityToken"}, reason: "is not the token's iss"},
		"session tags without sts:TagSession": {role: noTagSession,
			want: &apiError{403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"}, reason: "does not allow sts:TagSession"},
		"no session tags, no sts:TagSession needed": {role: noTagSession,
			claims: func(c map[string]any) { delete(c, "https://aws.amazon.com/tags") }, reason: "allowed by statement PrimaryIssuer"},
		"a session tag the trust does not allow": {role: a.roleARN,
			claims: func(c map[string]any) {
				c["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string][]string{vendor.SessionTagKey(): {"x"}, "Admin": {"true"}}}
			},
			want:   &apiError{403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
			reason: "condition ForAllValues:StringEquals aws:TagKeys not met"},
		"account A's token on account B's role": {role: b.roleARN,
			want:   &apiError{400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for " + iss},
			reason: "no identity provider arn:aws:iam::" + b.target.AccountID + ":oidc-provider/" + strings.TrimPrefix(iss, "https://")},
		"a role that does not exist": {role: "arn:aws:iam::" + a.target.AccountID + ":role/" + uniqueName("missing"),
			want: &apiError{403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"}, reason: "no role"},
		"an inline session policy over 2048 characters": {role: a.roleARN,
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` +
				strings.Repeat("b", 2048) + `"}]}`,
			want: &apiError{status: 400, code: "PackedPolicyTooLarge"}, reason: "inline session policy"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			idp := newTestIssuer(t)
			idp.publish(t, iss)
			idp.publish(t, vendor.IssuerURL(a.target, 1))
			if tt.idp != nil {
				tt.idp(idp)
			}
			e := newEnv(t, func(c *awscheck.Config) { c.Fetch = idp.fetch })
			claims := a.claims()
			if tt.claims != nil {
				tt.claims(claims)
			}
			kid, key := idp.kid, idp.key
			if tt.token.kid != "" {
				kid = tt.token.kid
			}
			if tt.token.key != "" {
				key = otherKey
			}
			tok := idp.token(t, claims, kid, key)
			edit := func(in *sts.AssumeRoleWithWebIdentityInput) {
				if tt.policy != "" {
					in.Policy = aws.String(tt.policy)
				}
			}

			out, err := assumeWithWebIdentity(t.Context(), e.as(aws.AnonymousCredentials{}), tt.role, tok, edit)
			d := e.lastDecision(t)
			assert.Contains(t, d.Reason, tt.reason)
			assert.NotContains(t, d.String(), tok, "the token is never in a decision")
			if tt.want == nil {
				require.NoError(t, err)
				assert.True(t, d.Allowed)
				assert.Equal(t, provider, d.Principal)
				// The credentials work against moto, and the front end knows whose they are.
				session := e.asSession(&sts.AssumeRoleOutput{Credentials: out.Credentials})
				id, err := sts.NewFromConfig(session).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
				require.NoError(t, err)
				assert.Equal(t, aws.ToString(out.AssumedRoleUser.Arn), aws.ToString(id.Arn))
				missing := "arn:aws:iam::" + a.target.AccountID + ":role/" + uniqueName("missing")
				_, err = assumeRole(t.Context(), session, missing)
				assert.Equal(t, "User: "+aws.ToString(out.AssumedRoleUser.Arn)+" is not authorized to perform: sts:AssumeRole on resource: "+missing,
					apiErrorOf(t, err).message, "a later call with the credentials is the role's session")
				return
			}
			got := apiErrorOf(t, err)
			if tt.want.message == "" {
				got.message = ""
			}
			assert.Equal(t, *tt.want, got)
			assert.False(t, d.Allowed)
			direct := e.as(aws.AnonymousCredentials{})
			direct.BaseEndpoint = aws.String(e.moto.URL())
			_, err = assumeWithWebIdentity(t.Context(), direct, tt.role, tok, edit)
			assert.NoError(t, err, "moto alone admits the call")
		})
	}
}

// TestMotoDigest: with Config.MotoDigest the front end verifies tokens signed through moto's KMS
// (over the double hash), and no longer plain ES256 tokens; without it, the reverse.
func TestMotoDigest(t *testing.T) {
	setup := newEnv(t)
	c := newWebCustomer(t, setup)
	idp := newTestIssuer(t)
	idp.publish(t, vendor.IssuerURL(c.target, 0))
	plain := idp.token(t, c.claims(), idp.kid, idp.key)
	viaMoto := idp.motoToken(t, c.claims())

	for _, motoDigest := range []bool{false, true} {
		e := newEnv(t, func(cfg *awscheck.Config) { cfg.Fetch, cfg.MotoDigest = idp.fetch, motoDigest })
		anonymous := e.as(aws.AnonymousCredentials{})
		_, errPlain := assumeWithWebIdentity(t.Context(), anonymous, c.roleARN, plain)
		_, errMoto := assumeWithWebIdentity(t.Context(), anonymous, c.roleARN, viaMoto)
		if motoDigest {
			assert.Equal(t, "InvalidIdentityToken", apiErrorOf(t, errPlain).code)
			assert.NoError(t, errMoto)
		} else {
			assert.NoError(t, errPlain)
			assert.Equal(t, "InvalidIdentityToken", apiErrorOf(t, errMoto).code)
		}
	}
}
