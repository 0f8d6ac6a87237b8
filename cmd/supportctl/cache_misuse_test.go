package main

// Misuses of login, logout and the API URL a newcomer (or a slip of the keyboard) makes; each was
// found in review and failed before its fix.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/auth/localop"
)

// privateFile writes content to name in a fresh 0700 directory, mode 0600, as ~/.ssh or ~/.aws holds it.
func privateFile(t *testing.T, name, content string) string {
	dir := filepath.Join(t.TempDir(), "private")
	require.NoError(t, os.Mkdir(dir, 0o700))
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// SUPPORTCTL_TOKEN_FILE=~/.ssh/id_ed25519 supportctl logout deleted the SSH key and said
// "signed out: removed …", exit 0. logout must remove only what login writes: a token cache.
func TestLogoutRemovesOnlyATokenCache(t *testing.T) {
	key := privateFile(t, "id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\n")
	err := run(t.Context(), []string{"logout"}, env{"SUPPORTCTL_TOKEN_FILE": key}.getenv, io.Discard, io.Discard)
	assert.Error(t, err, "logout removed a file that is not a token cache")
	_, statErr := os.Stat(key)
	assert.NoError(t, statErr, "the SSH key is gone")
}

// SUPPORTCTL_TOKEN_FILE=~/.aws/credentials supportctl login … replaced the AWS credentials file with
// a token, exit 0. login must not replace a file that is not a token cache.
func TestLoginDoesNotReplaceANonTokenFile(t *testing.T) {
	op, err := localop.Start(localop.Config{Users: []localop.User{
		{Username: "alice", Email: "alice@doit.com", Password: "alice-pw", Groups: []string{"doit-engineers"}}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = op.Close() })
	const creds = "[default]\naws_access_key_id=AKIAEXAMPLE\n"
	path := privateFile(t, "credentials", creds)
	e := env{"SUPPORTCTL_TOKEN_FILE": path, "SUPPORTCTL_PASSWORD": "alice-pw"}
	err = run(t.Context(), []string{"login", "-issuer", op.Issuer(), "-client-id", op.ClientID(), "-user", "alice"}, e.getenv, io.Discard, io.Discard)
	assert.Error(t, err, "login replaced a file that is not a token cache")
	b, _ := os.ReadFile(path)
	assert.Equal(t, creds, string(b))
}

// make up's users have passwords; a newcomer who forgets SUPPORTCTL_PASSWORD is told "unknown user
// or wrong password". The message must name the unset variable.
func TestLoginWithoutThePasswordNamesTheVariable(t *testing.T) {
	op, err := localop.Start(localop.Config{Users: []localop.User{
		{Username: "alice", Email: "alice@doit.com", Password: "alice-pw", Groups: []string{"doit-engineers"}}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = op.Close() })
	e := env{"SUPPORTCTL_TOKEN_FILE": filepath.Join(t.TempDir(), "supportctl", "token.json")}
	err = run(t.Context(), []string{"login", "-issuer", op.Issuer(), "-client-id", op.ClientID(), "-user", "alice"}, e.getenv, io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SUPPORTCTL_PASSWORD")
}

// make up prints three loopback URLs; SUPPORT_API_URL set to the sign-in provider's, or to the API's
// with /v1, gets "supportctl: 404 page not found". A 404 that is not the API's {"error": …} must
// name SUPPORT_API_URL, as a connection error does.
func TestANonAPIServerIsNamedAsTheURL(t *testing.T) {
	notAPI := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notAPI.Close)
	path := filepath.Join(t.TempDir(), "supportctl", "token.json")
	require.NoError(t, saveToken(path, cachedToken{Issuer: "http://127.0.0.1:9998", Token: "tok", Expiry: time.Now().Add(time.Hour)}))
	for _, base := range []string{notAPI.URL, notAPI.URL + "/v1"} {
		e := env{"SUPPORT_API_URL": base, "SUPPORTCTL_TOKEN_FILE": path}
		err := run(t.Context(), []string{"broker", "list"}, e.getenv, io.Discard, io.Discard)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "SUPPORT_API_URL", base)
	}
}

// SUPPORTCTL_TOKEN_FILE=/dev/stdin answers "… is a symbolic link …; run: rm /dev/stdin". The fix it
// offers must not be to delete a path supportctl did not create.
func TestTheFixNeverRemovesADevice(t *testing.T) {
	e := env{"SUPPORT_API_URL": "http://127.0.0.1:1", "SUPPORTCTL_TOKEN_FILE": "/dev/stdin"}
	err := run(t.Context(), []string{"broker", "list"}, e.getenv, io.Discard, io.Discard)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "rm /dev/stdin")
}
