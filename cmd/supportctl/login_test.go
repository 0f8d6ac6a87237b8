package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/auth/localop"
)

// Without -user, login is the native-app flow a real provider (Cognito's hosted UI) needs: it
// prints the authorization URL and takes the code on its loopback redirect. The test is the person
// at the browser, signing in on the local provider's form.
func TestLoginWithABrowser(t *testing.T) {
	op, err := localop.Start(localop.Config{Users: []localop.User{
		{Username: "bob", Email: "bob@acme.example", Password: "bob-pw", Groups: []string{"tenant:acme"}}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = op.Close() })
	path := filepath.Join(t.TempDir(), "supportctl", "token.json")
	e := env{"SUPPORTCTL_TOKEN_FILE": path}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"login", "-issuer", op.Issuer(), "-client-id", op.ClientID()}, e.getenv, pw, io.Discard)
		_ = pw.CloseWithError(err)
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	var authURL string
	for authURL == "" && lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "  "); ok {
			authURL = u
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	require.True(t, strings.HasPrefix(authURL, op.Issuer()+"/authorize?"), authURL)
	q, err := url.Parse(authURL)
	require.NoError(t, err)
	assert.Equal(t, "S256", q.Query().Get("code_challenge_method"))
	assert.Regexp(t, `^http://127\.0\.0\.1:[1-9][0-9]*/callback$`, q.Query().Get("redirect_uri"))

	// someone else's redirect (another state) is turned away, and login keeps waiting
	resp, err := http.Get(q.Query().Get("redirect_uri") + "?code=stolen&state=other")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)

	// the browser: the authorization request leads to the sign-in form; the form's POST redirects
	// through the provider to supportctl's loopback listener
	resp, err = http.Get(authURL)
	require.NoError(t, err)
	_ = resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	require.NotEmpty(t, id, resp.Request.URL.String())
	resp, err = http.PostForm(op.Issuer()+"/login", url.Values{"authRequestID": {id}, "username": {"bob"}, "password": {"bob-pw"}})
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(page), "Signed in")

	select {
	case err := <-done:
		require.NoError(t, err)
	case <-ctx.Done():
		t.Fatal("login did not finish")
	}
	tok, err := loadToken(path, time.Now())
	require.NoError(t, err)
	assert.Equal(t, op.Issuer(), tok.Issuer)
	assert.NotEmpty(t, tok.Token)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	for redirect, reason := range map[string]string{
		"http://example.com:8484/callback": "the host must be localhost or a loopback IP address",
		"https://127.0.0.1:8484/callback":  "want http://<loopback address>:<port>/<path>",
		"http://127.0.0.1/callback":        "want http://<loopback address>:<port>/<path>",
	} {
		err := run(t.Context(), []string{"login", "-issuer", op.Issuer(), "-client-id", op.ClientID(), "-redirect", redirect}, e.getenv, io.Discard, io.Discard)
		assert.ErrorContains(t, err, reason, redirect)
	}
}

// A bearer token or a password goes over https only, or plain http to a loopback address.
func TestTokensGoOverHTTPSOnly(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://api.example.com": true, "http://127.0.0.1:8080": true, "http://localhost:8080": true, "http://[::1]:8080": true,
		"http://api.example.com": false, "http://10.0.0.1:8080": false, "ftp://api.example.com": false,
		"https://user:pw@api.example.com": false, "api.example.com": false, "https://api.example.com/?x=1": false,
	} {
		err := checkSecureURL(raw)
		assert.Equal(t, ok, err == nil, "%s: %v", raw, err)
	}
	vars := env{"SUPPORT_API_URL": "http://api.example.com", "SUPPORTCTL_TOKEN_FILE": t.TempDir() + "/token.json"}
	err := run(t.Context(), []string{"broker", "list"}, vars.getenv, io.Discard, io.Discard)
	assert.EqualError(t, err, "broker list: SUPPORT_API_URL=http://api.example.com: tokens go over https only: give an https URL, "+
		"or http on a loopback address for a local server (no user, query or fragment) (see supportctl broker list -h)")
	assert.Equal(t, exitUsage, exitCode(err))
	err = run(t.Context(), []string{"login", "-issuer", "http://login.example.com", "-client-id", "c", "-user", "alice"},
		env{}.getenv, io.Discard, io.Discard)
	assert.ErrorContains(t, err, "login: -issuer http://login.example.com: tokens go over https only")
	assert.Equal(t, exitUsage, exitCode(err))
}
