package localop_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/supportaccess/gateway/internal/auth/localop"
)

func start(t *testing.T) *localop.Server {
	t.Helper()
	users, err := localop.LoadUsers("testdata/users.yaml")
	require.NoError(t, err)
	s, err := localop.Start(localop.Config{Users: users})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// app is what the web console runs: a redirect URI on a loopback port, where the browser brings
// back the code (or the error) for the state it was sent with.
type app struct {
	conf     oauth2.Config
	callback chan url.Values
}

func newApp(t *testing.T, s *localop.Server) *app {
	t.Helper()
	a := &app{callback: make(chan url.Values, 1)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		a.callback <- r.URL.Query()
		_, _ = io.WriteString(w, "signed in")
	}))
	t.Cleanup(srv.Close)
	p, err := oidc.NewProvider(t.Context(), s.Issuer())
	require.NoError(t, err)
	a.conf = oauth2.Config{ClientID: s.ClientID(), Endpoint: p.Endpoint(), RedirectURL: srv.URL + "/callback",
		Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
	return a
}

// browser is a person's browser: it follows redirects and submits the sign-in form it is shown.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar}
}

var hiddenID = regexp.MustCompile(`name="authRequestID" value="([^"]*)"`)

// signIn opens authURL in a browser and submits the form with username and password; it returns
// the status of the last page the browser shows.
func signIn(t *testing.T, authURL, username, password string) int {
	t.Helper()
	b := browser(t)
	resp, err := b.Get(authURL)
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	m := hiddenID.FindSubmatch(page)
	if m == nil {
		return resp.StatusCode // no form: the provider refused the request itself
	}
	action := resp.Request.URL.ResolveReference(&url.URL{Path: "/login"})
	resp, err = b.PostForm(action.String(), url.Values{"authRequestID": {html.UnescapeString(string(m[1]))}, "username": {username}, "password": {password}})
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestAuthorizationCodeFlowWithPKCE runs the web console's flow with golang.org/x/oauth2's PKCE
// helpers: authorization request with an S256 challenge, the sign-in form, the redirect with the
// code, and the token request with the verifier; then what the provider refuses.
func TestAuthorizationCodeFlowWithPKCE(t *testing.T) {
	s := start(t)
	a := newApp(t, s)
	ctx := t.Context()

	verifier := oauth2.GenerateVerifier()
	authURL := a.conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier))
	require.Equal(t, http.StatusOK, signIn(t, authURL, "Alice", "alice-local"), "usernames are case-insensitive")
	got := <-a.callback
	require.Equal(t, "state-1", got.Get("state"))
	code := got.Get("code")
	require.NotEmpty(t, code)

	t.Run("the code without the verifier is refused", func(t *testing.T) {
		_, err := a.conf.Exchange(ctx, code)
		requireOAuthError(t, err, "invalid_request")
	})
	t.Run("the code with another verifier is refused", func(t *testing.T) {
		_, err := a.conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		requireOAuthError(t, err, "invalid_grant")
	})

	tok, err := a.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	rawID, _ := tok.Extra("id_token").(string)
	require.NotEmpty(t, rawID)
	p, err := oidc.NewProvider(ctx, s.Issuer())
	require.NoError(t, err)
	idTok, err := p.Verifier(&oidc.Config{ClientID: s.ClientID()}).Verify(ctx, rawID)
	require.NoError(t, err)
	var idClaims map[string]any
	require.NoError(t, idTok.Claims(&idClaims))
	assert.Equal(t, "alice", idClaims["sub"])
	assert.Equal(t, "alice", idClaims["preferred_username"])
	assert.Equal(t, "alice@doit.com", idClaims["email"])
	assert.Equal(t, true, idClaims["email_verified"])
	assert.Equal(t, []any{"doit-engineers"}, idClaims["cognito:groups"])

	access := claimsOf(t, tok.AccessToken)
	assert.Equal(t, s.Issuer(), access["iss"])
	assert.Equal(t, s.ClientID(), access["client_id"])
	assert.Equal(t, []any{s.ClientID()}, access["aud"])
	assert.Equal(t, []any{"doit-engineers"}, access["cognito:groups"])
	assert.Equal(t, "alice@doit.com", access["email"])

	t.Run("a code works once", func(t *testing.T) {
		_, err := a.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		requireOAuthError(t, err, "invalid_grant")
	})
	t.Run("no code challenge: refused", func(t *testing.T) {
		signIn(t, a.conf.AuthCodeURL("state-2"), "alice", "alice-local")
		got := <-a.callback
		assert.Equal(t, "invalid_request", got.Get("error"))
		assert.Empty(t, got.Get("code"))
	})
	t.Run("plain code challenge: refused", func(t *testing.T) {
		signIn(t, a.conf.AuthCodeURL("state-3", oauth2.SetAuthURLParam("code_challenge", verifier),
			oauth2.SetAuthURLParam("code_challenge_method", "plain")), "alice", "alice-local")
		got := <-a.callback
		assert.Equal(t, "invalid_request", got.Get("error"))
	})
	t.Run("wrong password: the form again, no code", func(t *testing.T) {
		assert.Equal(t, http.StatusUnauthorized, signIn(t, a.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "alice", "nope"))
		assert.Empty(t, a.callback)
	})
	t.Run("unknown user: the form again, no code", func(t *testing.T) {
		assert.Equal(t, http.StatusUnauthorized, signIn(t, a.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "mallory", ""))
		assert.Empty(t, a.callback)
	})
	t.Run("an unregistered redirect URI is not redirected to", func(t *testing.T) {
		evil := a.conf
		evil.RedirectURL = "https://evil.example/callback"
		status := signIn(t, evil.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "alice", "alice-local")
		assert.Equal(t, http.StatusBadRequest, status)
	})
	t.Run("the web console's callback on any loopback port is registered, no other path", func(t *testing.T) {
		for path, want := range map[string]int{"/console/callback": http.StatusOK, "/elsewhere/callback": http.StatusBadRequest} {
			console := a.conf
			console.RedirectURL = "http://127.0.0.1:8080" + path
			resp, err := browser(t).Get(console.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, want, resp.StatusCode, path)
			if want == http.StatusOK {
				assert.Equal(t, "/login", resp.Request.URL.Path, "the sign-in form")
			}
		}
	})
	t.Run("another client ID is refused", func(t *testing.T) {
		other := a.conf
		other.ClientID = "other-client"
		status := signIn(t, other.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "alice", "alice-local")
		assert.Equal(t, http.StatusBadRequest, status)
	})
}

func requireOAuthError(t *testing.T, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, code, re.ErrorCode, "%s", re.Body)
}

func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	require.Len(t, parts, 3, "a JWT access token")
	b, err := base64URL(parts[1])
	require.NoError(t, err)
	var c map[string]any
	require.NoError(t, json.Unmarshal(b, &c))
	return c
}

// TestLogin: the CLI's way to a token: the same flow, the program answering the form.
func TestLogin(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	tok, err := localop.Login(ctx, s.Issuer(), s.ClientID(), "bob", "bob-local")
	require.NoError(t, err)
	assert.Equal(t, []any{"tenant:acme"}, claimsOf(t, tok.AccessToken)["cognito:groups"])
	assert.NotEmpty(t, tok.Extra("id_token"))

	tok, err = localop.Login(ctx, s.Issuer(), s.ClientID(), "carol", "")
	require.NoError(t, err, "a user without a password signs in with the username alone")
	assert.Equal(t, "carol", claimsOf(t, tok.AccessToken)["sub"])

	_, err = localop.Login(ctx, s.Issuer(), s.ClientID(), "bob", "wrong")
	require.ErrorContains(t, err, "unknown user or wrong password")
	_, err = localop.Login(ctx, s.Issuer(), s.ClientID(), "bob", "")
	require.ErrorContains(t, err, "unknown user or wrong password", "a user with a password needs it")
	_, err = localop.Login(ctx, s.Issuer(), "other-client", "bob", "bob-local")
	require.ErrorContains(t, err, "not at the sign-in form")
}

func TestLoadUsers(t *testing.T) {
	users, err := localop.LoadUsers("testdata/users.json")
	require.NoError(t, err, "JSON is YAML")
	assert.Equal(t, []localop.User{{Username: "erin", Email: "erin@globex.example", Groups: []string{"tenant:globex"}}}, users)

	dir := t.TempDir()
	for name, body := range map[string]string{
		"a typo in a field":   "users:\n  - username: a\n    group: [x]\n",
		"a username twice":    "users:\n  - username: a\n  - username: A\n",
		"no username":         "users:\n  - email: a@b.c\n",
		"no users":            "users: []\n",
		"an empty file":       "",
		"an empty group":      "users:\n  - username: a\n    groups: ['']\n",
		"not a list of users": "users: alice\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
			require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
			_, err := localop.LoadUsers(p)
			require.Error(t, err)
		})
	}
}

func TestStartListensOnLoopbackOnly(t *testing.T) {
	users := []localop.User{{Username: "a"}}
	for _, addr := range []string{"0.0.0.0:0", ":0", "localhost:0", "192.0.2.1:0"} {
		_, err := localop.Start(localop.Config{Addr: addr, Users: users})
		require.ErrorContains(t, err, "loopback", addr)
	}
	s, err := localop.Start(localop.Config{Addr: "[::1]:0", Users: users})
	if err == nil { // a machine without IPv6 cannot listen there; that is not the refusal tested
		assert.True(t, strings.HasPrefix(s.Issuer(), "http://[::1]:"))
		require.NoError(t, s.Close())
	}
}

func TestDiscovery(t *testing.T) {
	s := start(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p, err := oidc.NewProvider(ctx, s.Issuer())
	require.NoError(t, err)
	var doc struct {
		JWKS       string   `json:"jwks_uri"`
		Methods    []string `json:"code_challenge_methods_supported"`
		GrantTypes []string `json:"grant_types_supported"`
		Algs       []string `json:"id_token_signing_alg_values_supported"`
	}
	require.NoError(t, p.Claims(&doc))
	assert.True(t, strings.HasPrefix(doc.JWKS, s.Issuer()+"/"))
	assert.Contains(t, doc.Methods, "S256")
	assert.Equal(t, []string{"RS256"}, doc.Algs)
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
