package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/test/moto"
)

var motoSrv moto.Shared

func TestMain(m *testing.M) { os.Exit(motoSrv.Run(m)) }

const cognitoPassword = "Correct-Horse-9"

// cognitoPool is a user pool on moto with an app client that allows the admin password flow.
type cognitoPool struct {
	client   *cip.Client
	id       string // us-east-1_xxx
	clientID string
	jwks     string // moto serves each pool's JWKS here, with no discovery document
}

// issuer is the pool's iss as Cognito writes it (moto too).
func (p cognitoPool) issuer() string {
	return "https://cognito-idp." + moto.Region + ".amazonaws.com/" + p.id
}

func (p cognitoPool) verifier(t *testing.T, mutate ...func(*auth.Config)) *auth.Verifier {
	t.Helper()
	cfg := auth.Config{Issuer: p.issuer(), Audience: p.clientID, JWKSURL: p.jwks, EngineerGroup: testEngineer, Logger: testLogger(t)}
	for _, m := range mutate {
		m(&cfg)
	}
	v, err := auth.NewVerifier(t.Context(), cfg)
	require.NoError(t, err)
	return v
}

func newCognitoPool(t *testing.T, name string) cognitoPool {
	t.Helper()
	ctx := t.Context()
	srv := motoSrv.Server(t)
	cfg, err := srv.Config(ctx, "")
	require.NoError(t, err)
	c := cip.NewFromConfig(cfg)
	pool, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String(name)})
	require.NoError(t, err)
	p := cognitoPool{client: c, id: aws.ToString(pool.UserPool.Id)}
	p.clientID = p.appClient(t, "console")
	p.jwks = srv.URL() + "/" + p.id + "/.well-known/jwks.json"
	for _, g := range []string{testEngineer, "tenant:acme", "tenant:globex"} {
		_, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: aws.String(p.id), GroupName: aws.String(g)})
		require.NoError(t, err)
	}
	return p
}

// appClient adds an app client that may sign in with the admin password flow and read e-mail.
func (p cognitoPool) appClient(t *testing.T, name string) string {
	t.Helper()
	out, err := p.client.CreateUserPoolClient(t.Context(), &cip.CreateUserPoolClientInput{
		UserPoolId: aws.String(p.id), ClientName: aws.String(name),
		ExplicitAuthFlows: []ciptypes.ExplicitAuthFlowsType{ciptypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth, ciptypes.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
		ReadAttributes:    []string{"email", "email_verified"},
	})
	require.NoError(t, err)
	return aws.ToString(out.UserPoolClient.ClientId)
}

// user creates a user with a verified e-mail, a permanent password and groups.
func (p cognitoPool) user(t *testing.T, username, email string, groups ...string) {
	t.Helper()
	ctx := t.Context()
	_, err := p.client.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: aws.String(p.id), Username: aws.String(username), MessageAction: ciptypes.MessageActionTypeSuppress,
		UserAttributes: []ciptypes.AttributeType{
			{Name: aws.String("email"), Value: aws.String(email)},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
		},
	})
	require.NoError(t, err)
	_, err = p.client.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
		UserPoolId: aws.String(p.id), Username: aws.String(username), Password: aws.String(cognitoPassword), Permanent: true,
	})
	require.NoError(t, err)
	for _, g := range groups {
		_, err := p.client.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{
			UserPoolId: aws.String(p.id), Username: aws.String(username), GroupName: aws.String(g),
		})
		require.NoError(t, err)
	}
}

// signIn is AdminInitiateAuth (ADMIN_USER_PASSWORD_AUTH) for clientID: the access and ID tokens.
func (p cognitoPool) signIn(t *testing.T, clientID, username string) (access, id string) {
	t.Helper()
	out, err := p.client.AdminInitiateAuth(t.Context(), &cip.AdminInitiateAuthInput{
		UserPoolId: aws.String(p.id), ClientId: aws.String(clientID), AuthFlow: ciptypes.AuthFlowTypeAdminUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": username, "PASSWORD": cognitoPassword},
	})
	require.NoError(t, err)
	require.NotNil(t, out.AuthenticationResult, "challenge %s", out.ChallengeName)
	return aws.ToString(out.AuthenticationResult.AccessToken), aws.ToString(out.AuthenticationResult.IdToken)
}

// TestCognitoTokens: moto's Cognito access and ID tokens, per user, to a principal or a refusal.
func TestCognitoTokens(t *testing.T) {
	p := newCognitoPool(t, "vendor")
	// Engineers' usernames are their e-mail addresses, so access tokens (no e-mail) and ID tokens
	// name the same principal (README).
	p.user(t, "Alice@DoiT.com", "alice@doit.com", testEngineer)
	p.user(t, "Bob", "bob@acme.example", "tenant:acme")
	p.user(t, "carol@doit.com", "carol@doit.com", "tenant:acme", testEngineer)
	p.user(t, "dave", "dave@example.com")
	p.user(t, "erin", "erin@example.com", "tenant:acme", "tenant:globex")
	v := p.verifier(t)

	// Principals come from what the user cannot choose: their verified e-mail, so only the ID token
	// names anyone (a Cognito access token carries no e-mail). A customer's access token is refused
	// too: named by sub, a staff member in a tenant group would decide for the customer unseen.
	cases := map[string]map[string]struct {
		principal string
		tenant    string
		reason    auth.Reason
		status    int
	}{
		"Alice@DoiT.com": {"id": {principal: "alice@doit.com"}, "access": {reason: auth.EngineerWithoutEmail, status: 401}},
		"Bob":            {"id": {principal: "tenant:acme/bob@acme.example", tenant: "acme"}, "access": {reason: auth.CustomerWithoutEmail, status: 401}},
		"carol@doit.com": {"id": {principal: "carol@doit.com"}, "access": {reason: auth.EngineerWithoutEmail, status: 401}}, // both roles: an engineer only
		"dave":           {"id": {reason: auth.NoRole, status: 403}, "access": {reason: auth.NoRole, status: 403}},
		"erin":           {"id": {reason: auth.TenantAmbiguous, status: 403}, "access": {reason: auth.TenantAmbiguous, status: 403}},
	}
	for username, byKind := range cases {
		access, idTok := p.signIn(t, p.clientID, username)
		for kind, tok := range map[string]string{"access": access, "id": idTok} {
			tc := byKind[kind]
			t.Run(username+"/"+kind, func(t *testing.T) {
				id, err := v.Verify(t.Context(), tok)
				if tc.reason != "" {
					requireReason(t, tc.reason, err)
					assert.Equal(t, tc.status, err.(*auth.Error).Status())
					return
				}
				require.NoError(t, err)
				assert.Equal(t, tc.principal, id.Principal())
				assert.Equal(t, tc.tenant, id.Tenant)
				assert.Equal(t, tc.tenant == "", id.Engineer)
				assert.Equal(t, p.issuer(), id.Issuer)
				assert.NotEmpty(t, id.Subject)
				assert.Equal(t, username, id.Username)
				if kind == "access" {
					assert.Empty(t, id.Email, "Cognito access tokens carry no e-mail")
				} else {
					assert.NotEmpty(t, id.Email, "moto's ID token: email, email_verified \"true\"")
				}
			})
		}
	}
}

// TestCognitoOnlyIssuerTellsPoolsApart: moto signs every pool's tokens with one bundled key, so
// another pool's token verifies against this pool's JWKS; the exact iss check is what refuses it.
func TestCognitoOnlyIssuerTellsPoolsApart(t *testing.T) {
	a, b := newCognitoPool(t, "vendor-a"), newCognitoPool(t, "vendor-b")
	b.user(t, "alice@doit.com", "alice@doit.com", testEngineer)
	access, idTok := b.signIn(t, b.clientID, "alice@doit.com")
	assert.Equal(t, fetch(t, a.jwks), fetch(t, b.jwks), "one key for every pool")

	// Pool A's keys verify pool B's tokens: with pool B's issuer and client, pool A's JWKS accepts them
	// (the access token gets as far as naming its engineer, which only an ID token's e-mail does).
	v := b.verifier(t, func(c *auth.Config) { c.JWKSURL = a.jwks })
	_, err := v.Verify(t.Context(), idTok)
	require.NoError(t, err)
	_, err = v.Verify(t.Context(), access)
	requireReason(t, auth.EngineerWithoutEmail, err)
	// A verifier for pool A that even names pool B's client refuses them for their issuer alone.
	v = a.verifier(t, func(c *auth.Config) { c.Audience = b.clientID })
	for _, tok := range []string{access, idTok} {
		_, err = v.Verify(t.Context(), tok)
		requireReason(t, auth.Issuer, err)
	}
}

func fetch(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// TestCognitoRefusalMatrix: each way a request can fail, over HTTP through Require, against
// moto's Cognito: its status, WWW-Authenticate value and reason.
func TestCognitoRefusalMatrix(t *testing.T) {
	p := newCognitoPool(t, "vendor")
	p.user(t, "alice@doit.com", "alice@doit.com", testEngineer)
	other := p.appClient(t, "another-app")
	otherPool := newCognitoPool(t, "another-pool")
	otherPool.user(t, "alice@doit.com", "alice@doit.com", testEngineer)

	access, idTok := p.signIn(t, p.clientID, "alice@doit.com")
	otherAccess, otherID := p.signIn(t, other, "alice@doit.com")
	otherPoolAccess, _ := otherPool.signIn(t, otherPool.clientID, "alice@doit.com")
	// A token as moto would sign it, but with a key of ours under another key ID.
	unknownKid := sign(t, jose.RS256, rsaKey(t), "not-in-the-jwks", payloadOf(t, access))

	serve := func(v *auth.Verifier) *httptest.Server {
		s := httptest.NewServer(auth.Require(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, _ := auth.FromContext(r.Context())
			_, _ = io.WriteString(w, id.Principal())
		})))
		t.Cleanup(s.Close)
		return s
	}
	now := serve(p.verifier(t))
	later := serve(p.verifier(t, func(c *auth.Config) { c.Now = func() time.Time { return time.Now().Add(2 * time.Hour) } }))

	const invalid = `Bearer error="invalid_token", error_description=`
	cases := map[string]struct {
		srv       *httptest.Server
		header    string
		status    int
		challenge string
	}{
		"access token (no e-mail)":         {now, "Bearer " + access, 401, invalid + `"an engineer token must carry a verified e-mail: send the ID token"`},
		"ID token":                         {now, "Bearer " + idTok, 200, ""},
		"no header":                        {now, "", 401, "Bearer"},
		"Basic scheme":                     {now, "Basic YWxpY2U6cHc=", 401, "Bearer"},
		"malformed":                        {now, "Bearer not.a.jwt", 401, invalid + `"the token is not a signed JWT: sign in again"`},
		"expired (two hours on)":           {later, "Bearer " + access, 401, invalid + `"the token has expired: sign in again"`},
		"tampered signature":               {now, "Bearer " + flipSignatureByte(t, access), 401, invalid + `"the token signature does not verify with the issuer keys"`},
		"another pool (same key)":          {now, "Bearer " + otherPoolAccess, 401, invalid + `"the token is from another issuer: sign in with the configured identity provider"`},
		"another app client, access token": {now, "Bearer " + otherAccess, 401, invalid + `"the token was issued to another client: sign in through this application"`},
		"another app client, ID token":     {now, "Bearer " + otherID, 401, invalid + `"the token was issued to another client: sign in through this application"`},
		"unknown kid":                      {now, "Bearer " + unknownKid, 401, invalid + `"the token is signed with a key the issuer does not publish: sign in again"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, tc.srv.URL+"/requests", nil)
			require.NoError(t, err)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.status, resp.StatusCode, "%s", body)
			assert.Equal(t, tc.challenge, resp.Header.Get("WWW-Authenticate"))
			if tc.status == 200 {
				assert.Equal(t, "alice@doit.com", string(body))
				return
			}
			var refusal struct{ Error string }
			require.NoError(t, json.Unmarshal(body, &refusal))
			assert.NotEmpty(t, refusal.Error)
			if i := strings.Index(tc.challenge, "error_description="); i >= 0 {
				assert.Equal(t, strings.Trim(tc.challenge[i+len("error_description="):], `"`), refusal.Error)
			}
		})
	}
}

// payloadOf is a token's claims, unverified: to sign them again with another key.
func payloadOf(t *testing.T, tok string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	require.NoError(t, err)
	return b
}
