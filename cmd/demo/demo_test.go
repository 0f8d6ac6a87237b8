package main

import (
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// make demo's program tells the whole story: every step passes, each is timed, and nothing it
// started is left running (run returns only once it has stopped everything).
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, nil, &out)
	require.NoError(t, err, out.String())
	assert.Contains(t, out.String(), "demo: all 14 steps passed")
	assert.Regexp(t, `(?m)^ +\d+\.\d\ds  total \(wall time\)$`, out.String())
	assert.NotContains(t, out.String(), "param_ExternalId=ext-0", "the link's ExternalId is not printed whole")
}

// A failure stops the demo and names the step and the reason: here acme's customer has no tenant
// group, so the API does not let him see, let alone approve, the request.
func TestDemoFailureNamesTheStep(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users.yaml")
	require.NoError(t, os.WriteFile(users, []byte(`users:
  - {username: alice, email: alice@doit.com, password: a, groups: [doit-engineers]}
  - {username: bob, email: bob@acme.example, password: b}
`), 0o600))
	var out bytes.Buffer
	err := run(t.Context(), []string{"-users", users}, &out)
	require.Error(t, err)
	assert.Regexp(t, `^step 7 \(The customer \(bob of acme\) signs in and approves\): 403 Forbidden: `, err.Error())
	assert.Contains(t, out.String(), "FAILED after")
	assert.Contains(t, out.String(), "logs: ")
	logs := regexp.MustCompile(`logs: (\S+)`).FindStringSubmatch(out.String())
	require.Len(t, logs, 2)
	assert.FileExists(t, filepath.Join(logs[1], "hook.log"), "kept for the reader")
	require.NoError(t, os.RemoveAll(logs[1]))
}

// lockedBuffer is a bytes.Buffer the test reads while run writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// make up's program serves until interrupted, and what it prints works: the API answers at the
// printed URL, and the export block is valid shell that sets supportctl's settings.
func TestUpServesUntilInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out lockedBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-up", "-api-addr", "127.0.0.1:0", "-op-addr", "127.0.0.1:0"}, &out) }()
	deadline := time.After(3 * time.Minute)
	for !strings.Contains(out.String(), "Ctrl-C stops everything.") {
		select {
		case err := <-done:
			t.Fatalf("run ended before it was ready: %v\n%s", err, out.String())
		case <-deadline:
			t.Fatalf("not ready within 3 minutes:\n%s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	printed := out.String()
	api := regexp.MustCompile(`export SUPPORT_API_URL=(\S+)`).FindStringSubmatch(printed)
	require.Len(t, api, 2, printed)
	resp, err := http.Get(api[1] + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	var exports []string
	for _, line := range strings.Split(printed, "\n") {
		if strings.HasPrefix(line, "export ") {
			exports = append(exports, line)
		}
	}
	sh := exec.Command("bash", "-euc", strings.Join(exports, "\n")+"\nenv")
	sh.Env = []string{"PATH=" + os.Getenv("PATH")}
	env, err := sh.Output()
	require.NoError(t, err)
	for _, v := range []string{"SUPPORT_API_URL", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "REGISTRY_TABLE", "BROKER_TABLE",
		"VENDOR_ACCOUNT_ID", "SIGNER_ROLE_ARN", "HOOK_TOPIC_ARN"} {
		assert.Regexp(t, `(?m)^`+v+`=\S+$`, string(env))
	}
	consoleLine := regexp.MustCompile(`console \(customers\)\s+(\S+)\s+sign in as bob \(password bob-local\), a customer of acme`).FindStringSubmatch(printed)
	require.Len(t, consoleLine, 2, printed)
	assert.Equal(t, api[1]+"/console/", consoleLine[1])
	resp, err = http.Get(consoleLine[1])
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(page), `data-testid="sign-in"`, "the console's sign-in page")
	accounts := signInToConsole(t, consoleLine[1], "bob", "bob-local")
	assert.Contains(t, accounts, `data-account="111122223333" data-status="active"`, "the customer printed signs in and sees the registered account")
	for _, who := range []string{"alice", "bob", "carol", "dave"} {
		assert.Contains(t, printed, "  "+who+" ", "the users are listed")
	}
	assert.Contains(t, printed, "password alice-local")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("run did not stop within a minute of the interrupt")
	}
	_, err = http.Get(api[1] + "/healthz")
	assert.Error(t, err, "the API stopped")
}

// signInToConsole signs username in to the console at consoleURL as a browser does, answering the
// local provider's form, and returns the page it lands on (the accounts page).
func signInToConsole(t *testing.T, consoleURL, username, password string) string {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar, Timeout: time.Minute}
	resp, err := browser.Get(consoleURL + "signin")
	require.NoError(t, err)
	form, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	id := regexp.MustCompile(`name="authRequestID" value="([^"]*)"`).FindSubmatch(form)
	require.NotNil(t, id, "the provider's sign-in form: %s", form)
	resp, err = browser.PostForm(resp.Request.URL.ResolveReference(&url.URL{Path: "/login"}).String(),
		url.Values{"authRequestID": {html.UnescapeString(string(id[1]))}, "username": {username}, "password": {password}})
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", page)
	require.Equal(t, "/console/accounts", resp.Request.URL.Path)
	return string(page)
}
