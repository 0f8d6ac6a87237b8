package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/auth/localop"
	"github.com/supportaccess/gateway/internal/backend"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/internal/registry/registrytest"
)

// env is the CLI's environment for one person: their own token cache.
type env map[string]string

func (e env) getenv(k string) string { return e[k] }

// backendForTest starts what the CLI talks to: moto with the registry and broker tables made by the
// operator commands, a registered account of tenant acme with its signing key (as the hook leaves
// it), the local OpenID Provider with engineers alice and mallory and acme's customer bob, and the
// backend's server (backend.Server, as supportd serves it). It returns the server's URL, the
// provider.
func backendForTest(t *testing.T, account string) (string, *localop.Server) {
	t.Helper()
	srv := startMoto(t)
	ctx := t.Context()
	const signer = "arn:aws:iam::123456789012:role/DoiT-Support-Issuer"
	op, err := localop.Start(localop.Config{Users: []localop.User{
		{Username: "alice", Email: "alice@doit.com", Password: "alice-pw", Groups: []string{"doit-engineers"}},
		{Username: "mallory", Email: "mallory@doit.com", Password: "mallory-pw", Groups: []string{"doit-engineers"}},
		{Username: "bob", Email: "bob@acme.example", Password: "bob-pw", Groups: []string{"tenant:acme"}},
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = op.Close() })

	operator := env{"REGISTRY_TABLE": "onboardings", "BROKER_TABLE": "broker", "VENDOR_ACCOUNT_ID": "123456789012", "SIGNER_ROLE_ARN": signer,
		"OIDC_ISSUER": op.Issuer(), "OIDC_AUDIENCE": op.ClientID(), "OIDC_ENGINEER_GROUP": "doit-engineers"}
	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"create-table"}, operator.getenv, &out, io.Discard))
	require.NoError(t, run(ctx, []string{"broker", "create-table"}, operator.getenv, &out, io.Discard))
	assert.Equal(t, "created onboardings\ncreated broker\n", out.String())

	cfg, err := srv.Config(ctx, "")
	require.NoError(t, err)
	db := dynamodb.NewFromConfig(cfg)
	reg := &registry.Registry{DB: db, Table: "onboardings"}
	_, err = reg.StartOnboarding(ctx, "acme", account, "ext-1")
	require.NoError(t, err)
	registrytest.Put(t, reg, account, registry.Writes{Management: &registry.Onboarding{Status: registry.Registered, Tenant: "acme",
		ExternalID: "ext-1", RoleARN: "arn:aws:iam::" + account + ":role/DoiT_Management_Role_DO-NOT-DELETE",
		Owner: registry.Owner{StackID: "stack-1", LogicalID: "Hook"}}})
	iss, err := issuer.New(issuer.Config{Vendor: policy.DefaultVendor(), Partition: "aws", VendorAccount: "123456789012",
		SignerRoleARN: signer}, kms.NewFromConfig(cfg), &issuer.DynamoStore{DB: db, Table: "onboardings"})
	require.NoError(t, err)
	_, err = iss.CreateAccountKey(ctx, account)
	require.NoError(t, err)

	h, err := backend.Server(ctx, operator.getenv, cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	require.NoError(t, err)
	api := httptest.NewServer(h)
	t.Cleanup(api.Close)
	return api.URL, op
}

// signIn runs supportctl login for user, with a token cache of their own, and returns their shell.
func signIn(t *testing.T, apiURL string, op *localop.Server, user, password string, extra ...string) func(args ...string) (string, error) {
	t.Helper()
	e := env{"SUPPORT_API_URL": apiURL, "SUPPORTCTL_TOKEN_FILE": filepath.Join(t.TempDir(), "supportctl", "token.json"),
		"SUPPORTCTL_PASSWORD": password}
	for i := 0; i+1 < len(extra); i += 2 {
		e[extra[i]] = extra[i+1]
	}
	sh := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(t.Context(), args, e.getenv, &out, io.Discard)
		return out.String(), err
	}
	out, err := sh("login", "-issuer", op.Issuer(), "-client-id", op.ClientID(), "-user", user)
	require.NoError(t, err)
	assert.Regexp(t, `^signed in as \S+@\S+ at `+regexp.QuoteMeta(op.Issuer())+` until `, out, "who signed in, and where")
	return func(args ...string) (string, error) { return sh(append([]string{"broker"}, args...)...) }
}

// The README's session, through the server: each person signs in, and acts only as themselves.
func TestBrokerCommandsThroughTheAPI(t *testing.T) {
	const account = "111122223333"
	apiURL, op := backendForTest(t, account)
	// a stand-in for AWS's console federation endpoint: what the console format needs of a session
	var federated map[string]string
	federation := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("Action") == "getSigninToken" {
			federated = nil
			_ = json.Unmarshal([]byte(r.URL.Query().Get("Session")), &federated)
			_, _ = w.Write([]byte(`{"SigninToken":"signin-token"}`))
		}
	}))
	t.Cleanup(federation.Close)
	alice := signIn(t, apiURL, op, "alice", "alice-pw", "FEDERATION_ENDPOINT", federation.URL)
	bob := signIn(t, apiURL, op, "bob", "bob-pw")
	mallory := signIn(t, apiURL, op, "mallory", "mallory-pw")

	out, err := alice("request", "-account", account, "-ticket", "SUP-9", "-justification", "slow queries", "-duration", "30m")
	require.NoError(t, err)
	var req broker.Request
	require.NoError(t, json.Unmarshal([]byte(out), &req), out)
	assert.Equal(t, broker.Pending, req.State)
	assert.Equal(t, "alice@doit.com", req.Engineer, "the engineer the token names")
	assert.Equal(t, int64(1800), req.DurationSeconds, "-duration 30m sent as the API reads it")

	_, err = alice("approve", "-id", req.ID)
	assert.ErrorContains(t, err, "refused: you cannot decide on your own request")
	assert.Equal(t, exitFailed, exitCode(err), "refused: exit code 1")
	out, err = bob("approve", "-id", req.ID)
	require.NoError(t, err)
	assert.Contains(t, out, `"state": "APPROVED"`)
	assert.Contains(t, out, `"decidedBy": "tenant:acme/bob@acme.example"`)

	_, err = mallory("credentials", "-id", req.ID)
	assert.ErrorContains(t, err, "there is no access request", "someone else's request is as good as none")
	_, err = alice("credentials", "-id", req.ID)
	assert.EqualError(t, err, "the API answered 500 Internal Server Error: internal error", "no subject key yet: a failure, never shown")
	var keyOut bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"issuer", "create-subject-key"},
		env{"REGISTRY_TABLE": "onboardings", "VENDOR_ACCOUNT_ID": "123456789012", "SIGNER_ROLE_ARN": "arn:aws:iam::123456789012:role/DoiT-Support-Issuer"}.getenv, &keyOut, io.Discard))
	assert.Regexp(t, `^alias/doit-support-issuer/subjects → \S+\n$`, keyOut.String())
	out, err = alice("credentials", "-id", req.ID, "-format", "env")
	require.NoError(t, err)
	assert.Regexp(t, `^export AWS_ACCESS_KEY_ID=\S+\nexport AWS_SECRET_ACCESS_KEY=\S+\nexport AWS_SESSION_TOKEN=\S+\n# expires `, out)
	assert.Contains(t, out, "session alice@doit.com-SUP-9 in arn:aws:iam::111122223333:role/doit-support/DoiT-Support")
	out, err = alice("credentials", "-id", req.ID)
	require.NoError(t, err)
	var creds broker.Credentials
	require.NoError(t, json.Unmarshal([]byte(out), &creds))
	assert.NotEmpty(t, creds.SecretAccessKey)
	assert.Equal(t, "alice@doit.com-SUP-9", creds.SessionName)
	out, err = alice("credentials", "-id", req.ID, "-format", "console")
	require.NoError(t, err)
	assert.Equal(t, federation.URL+"?Action=login&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2F&Issuer=&SigninToken=signin-token\n", out)
	assert.NotEmpty(t, federated["sessionId"])
	assert.NotEmpty(t, federated["sessionKey"])
	assert.NotEmpty(t, federated["sessionToken"], "the session from the API's JSON reaches the federation endpoint whole")

	out, err = bob("revoke", "-id", req.ID, "-reason", "the incident is closed")
	require.NoError(t, err)
	assert.Contains(t, out, `"state": "REVOKED"`)
	assert.Contains(t, out, `"decisionReason": "the incident is closed"`)
	_, err = alice("credentials", "-id", req.ID)
	assert.ErrorContains(t, err, "revoked")

	out, err = bob("pre-approve", "-account", account, "-max-duration", "20m")
	require.NoError(t, err)
	assert.Contains(t, out, `"maxDurationSeconds": 1200`)
	out, err = alice("request", "-account", account, "-ticket", "SUP-10", "-justification", "again")
	require.NoError(t, err)
	assert.Contains(t, out, `"state": "APPROVED"`)
	const unknown = "req-000000000000000000000000"
	_, err = bob("dismiss", "-id", unknown)
	assert.EqualError(t, err, "broker dismiss: -reason is required (see supportctl broker dismiss -h)", "a dismissal says why")
	_, err = bob("dismiss", "-id", unknown, "-reason", "not under contract")
	assert.EqualError(t, err, `there is no access request "`+unknown+`"`)
	assert.Equal(t, exitFailed, exitCode(err))
	_, err = bob("pre-approve", "-account", "999999999999", "-max-duration", "20m")
	assert.EqualError(t, err, "no account 999999999999 you can use")

	// what each side sees: the engineer her own requests, the customer its tenant's, one by ID
	out, err = alice("list")
	require.NoError(t, err)
	var mine []broker.Request
	require.NoError(t, json.Unmarshal([]byte(out), &mine), out)
	require.NotEmpty(t, mine)
	assert.Equal(t, "SUP-10", mine[0].Ticket, "newest first")
	for _, r := range mine {
		assert.Equal(t, "alice@doit.com", r.Engineer)
	}
	out, err = bob("list", "-state", "revoked", "-limit", "1")
	require.NoError(t, err)
	var revoked []broker.Request
	require.NoError(t, json.Unmarshal([]byte(out), &revoked), out)
	require.Len(t, revoked, 1)
	assert.Equal(t, req.ID, revoked[0].ID)
	out, err = bob("show", "-id", req.ID)
	require.NoError(t, err)
	assert.Contains(t, out, `"decisionReason": "the incident is closed"`)
	out, err = bob("pre-approvals")
	require.NoError(t, err)
	assert.Contains(t, out, `"maxDurationSeconds": 1200`)
	_, err = bob("list", "-state", "live")
	assert.EqualError(t, err, `broker list: -state live: give one of PENDING, APPROVED, DISMISSED, REVOKED or EXPIRED (see supportctl broker list -h)`)

	out, err = bob("audit", "-account", account)
	require.NoError(t, err, "a customer reads the audit of its own account")
	var types []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var e broker.Event
		require.NoError(t, json.Unmarshal([]byte(l), &e), l)
		types = append(types, string(e.Type))
		assert.NotContains(t, l, creds.SecretAccessKey)
		assert.NotContains(t, l, creds.SessionToken)
	}
	assert.Equal(t, []string{"REQUESTED", "REFUSED", "APPROVED", "REFUSED", "FAILED", "TOKEN_MINTED", "SESSION_ISSUED", "TOKEN_MINTED",
		"SESSION_ISSUED", "TOKEN_MINTED", "SESSION_ISSUED", "REVOKED", "REFUSED", "PRE_APPROVAL", "REQUESTED", "APPROVED"}, types)
	out, err = alice("audit", "-engineer", "mallory@doit.com")
	require.NoError(t, err)
	assert.Contains(t, out, "only the requester")
	out, err = alice("audit", "-engineer", "tenant:acme/bob@acme.example", "-since", "2000-01-01T00:00:00Z")
	require.NoError(t, err)
	assert.Contains(t, out, "no access request")
	_, err = bob("audit", "-engineer", "alice@doit.com")
	assert.EqualError(t, err, "refused: a customer can read the audit of its own accounts only (?account=)")

	_, err = alice("audit")
	assert.ErrorContains(t, err, "broker audit: give -account or -engineer (exactly one)")
	_, err = alice("request", "-account", account, "-ticket", strings.Repeat("9", 33), "-justification", "j")
	assert.ErrorContains(t, err, "the ticket is too long: at most 32 characters", "the whole ticket has to fit in the session name")
	_, err = alice("credentials", "-id", req.ID, "-format", "xml")
	assert.ErrorContains(t, err, "broker credentials: -format xml: give one of json, env or console")
	_, err = alice("approve")
	assert.ErrorContains(t, err, "broker approve: -id is required")
	_, err = alice("frobnicate")
	assert.ErrorContains(t, err, `unknown command "broker frobnicate"`)
	_, err = alice()
	assert.ErrorContains(t, err, "broker: which command?")
}

// The finding: the engineer who asked approved her own request with -as tenant:acme/security-officer,
// and took another engineer's session with credentials -as bob@doit.com, and the audit showed the
// forged names. Now no flag or variable names anyone: the identity is the signed-in token's, and the
// CLI cannot act as a customer.
func TestNoOneActsAsSomeoneElseFromTheCLI(t *testing.T) {
	const account = "111122223333"
	apiURL, op := backendForTest(t, account)
	alice := signIn(t, apiURL, op, "alice", "alice-pw", "SUPPORT_PRINCIPAL", "tenant:acme/security-officer")
	mallory := signIn(t, apiURL, op, "mallory", "mallory-pw", "SUPPORT_PRINCIPAL", "alice@doit.com")
	bob := signIn(t, apiURL, op, "bob", "bob-pw")

	out, err := alice("request", "-account", account, "-ticket", "SUP-9", "-justification", "slow queries", "-duration", "30m")
	require.NoError(t, err)
	var req broker.Request
	require.NoError(t, json.Unmarshal([]byte(out), &req), out)
	assert.Equal(t, "alice@doit.com", req.Engineer, "SUPPORT_PRINCIPAL is ignored")

	for _, args := range [][]string{
		{"approve", "-id", req.ID, "-as", "tenant:acme/security-officer"},
		{"credentials", "-id", req.ID, "-as", "alice@doit.com"},
		{"request", "-as", "bob@doit.com", "-account", account, "-ticket", "SUP-1", "-justification", "j"},
	} {
		_, err := mallory(args...)
		assert.ErrorContains(t, err, "flag provided but not defined: -as", "%q", args)
	}
	_, err = alice("approve", "-id", req.ID)
	assert.ErrorContains(t, err, "refused: you cannot decide on your own request", "SUPPORT_PRINCIPAL=tenant:acme/… does not make her a customer")
	out, err = bob("approve", "-id", req.ID)
	require.NoError(t, err, "acme's customer, with a customer's token")
	assert.Contains(t, out, `"decidedBy": "tenant:acme/bob@acme.example"`)
	_, err = mallory("credentials", "-id", req.ID)
	assert.ErrorContains(t, err, "there is no access request", "SUPPORT_PRINCIPAL=alice@doit.com does not give mallory alice's session")

	out, err = alice("audit", "-account", account)
	require.NoError(t, err)
	actors := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var e broker.Event
		require.NoError(t, json.Unmarshal([]byte(l), &e), l)
		actors[e.Actor] = true
	}
	assert.Equal(t, map[string]bool{"alice@doit.com": true, "tenant:acme/bob@acme.example": true, "mallory@doit.com": true}, actors,
		"the audit names only who signed in")
}

// supportctl login caches the token for its user alone: 0600 in a 0700 directory; a cache others can
// read is refused, an expired or refused token asks for a new sign-in, logout removes it.
func TestLoginCachesTheTokenForTheUserAlone(t *testing.T) {
	op, err := localop.Start(localop.Config{Users: []localop.User{
		{Username: "alice", Email: "alice@doit.com", Password: "alice-pw", Groups: []string{"doit-engineers"}}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = op.Close() })
	// the API refuses every token: what a token the server does not accept looks like to the CLI
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="the token has expired: sign in again"`)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"the token has expired: sign in again"}`))
	}))
	t.Cleanup(api.Close)
	home := t.TempDir()
	e := env{"XDG_CONFIG_HOME": home, "SUPPORT_API_URL": api.URL, "SUPPORTCTL_PASSWORD": "alice-pw"}
	sh := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(t.Context(), args, e.getenv, &out, io.Discard)
		return out.String(), err
	}
	path := filepath.Join(home, "supportctl", "token.json")

	_, err = sh("broker", "audit", "-account", "111122223333")
	assert.EqualError(t, err, "not signed in or the token expired: run supportctl login")
	_, err = sh("login", "-issuer", op.Issuer(), "-client-id", op.ClientID(), "-user", "alice", "-password", "x")
	assert.ErrorContains(t, err, "flag provided but not defined: -password", "a password never goes on the command line")
	e["SUPPORTCTL_PASSWORD"] = "wrong"
	_, err = sh("login", "-issuer", op.Issuer(), "-client-id", op.ClientID(), "-user", "alice")
	assert.ErrorContains(t, err, "unknown user or wrong password")
	assert.NoFileExists(t, path)
	e["SUPPORTCTL_PASSWORD"] = "alice-pw"
	out, err := sh("login", "-issuer", op.Issuer(), "-client-id", op.ClientID(), "-user", "alice")
	require.NoError(t, err)
	assert.Contains(t, out, "token cached in "+path)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	info, err = os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")

	_, err = sh("broker", "audit", "-account", "111122223333")
	assert.EqualError(t, err, "not signed in or the token expired: run supportctl login (the token has expired: sign in again)", "a 401 says what to do")

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = sh("broker", "audit", "-account", "111122223333")
	assert.ErrorContains(t, err, "is open to others (mode 0644, want 0600)")

	out, err = sh("logout")
	require.NoError(t, err)
	assert.Equal(t, "signed out alice@doit.com: removed "+path+"\n", out, "a cache open to others is removed all the same")
	assert.NoFileExists(t, path)
	out, err = sh("logout")
	assert.NoError(t, err, "signed out already")
	assert.Equal(t, "not signed in: no token cached in "+path+"\n", out)

	// a token past its expiry is not sent
	var stale bytes.Buffer
	require.NoError(t, json.NewEncoder(&stale).Encode(cachedToken{Issuer: op.Issuer(), Token: "t", Expiry: time.Now().Add(-time.Minute)}))
	require.NoError(t, os.WriteFile(path, stale.Bytes(), 0o600))
	_, err = sh("broker", "audit", "-account", "111122223333")
	assert.EqualError(t, err, "not signed in or the token expired: run supportctl login")

	// a directory others can write to is refused: they could swap the file
	shared := filepath.Join(t.TempDir(), "shared")
	require.NoError(t, os.Mkdir(shared, 0o777))
	require.NoError(t, os.Chmod(shared, 0o777))
	e["SUPPORTCTL_TOKEN_FILE"] = filepath.Join(shared, "token.json")
	_, err = sh("login", "-issuer", op.Issuer(), "-client-id", op.ClientID(), "-user", "alice")
	assert.ErrorContains(t, err, "others can write to "+shared+" (mode 0777)")
}

// A list or read that finds nothing says so on stderr, naming what it looked for; stdout stays what
// a script parses (an empty JSON array, or no lines), and the exit code is 0.
func TestBrokerSaysWhenNothingMatched(t *testing.T) {
	const account = "111122223333"
	apiURL, op := backendForTest(t, account)
	e := env{"SUPPORT_API_URL": apiURL, "SUPPORTCTL_TOKEN_FILE": filepath.Join(t.TempDir(), "supportctl", "token.json"),
		"SUPPORTCTL_PASSWORD": "bob-pw"}
	sh := func(args ...string) (string, string, error) {
		var out, notes bytes.Buffer
		err := run(t.Context(), args, e.getenv, &out, &notes)
		return out.String(), notes.String(), err
	}
	_, _, err := sh("login", "-issuer", op.Issuer(), "-client-id", op.ClientID(), "-user", "bob")
	require.NoError(t, err)

	for _, tc := range []struct {
		args       []string
		out, notes string
	}{
		{[]string{"broker", "list"}, "[]\n", "supportctl: no access requests matched (any you can see)\n"},
		{[]string{"broker", "list", "-state", "pending", "-account", account}, "[]\n",
			"supportctl: no access requests matched (state PENDING, account " + account + ")\n"},
		{[]string{"broker", "pre-approvals"}, "[]\n", "supportctl: no standing approvals matched (any you can see)\n"},
		{[]string{"broker", "audit", "-account", account, "-since", "2026-01-01T00:00:00Z"}, "",
			"supportctl: no audit events matched (account " + account + ", since 2026-01-01T00:00:00Z)\n"},
	} {
		out, notes, err := sh(tc.args...)
		require.NoError(t, err, "%q", tc.args)
		assert.Equal(t, tc.out, out, "%q", tc.args)
		assert.Equal(t, tc.notes, notes, "%q", tc.args)
	}

	// removing a standing approval says so: the record it prints has a maximum of 0
	_, notes, err := sh("broker", "pre-approve", "-account", account, "-max-duration", "20m")
	require.NoError(t, err)
	assert.Empty(t, notes)
	out, notes, err := sh("broker", "pre-approve", "-account", account, "-max-duration", "0")
	require.NoError(t, err)
	assert.Contains(t, out, `"maxDurationSeconds": 0`)
	assert.Equal(t, "supportctl: removed the standing approval of account "+account+": its requests wait for a decision\n", notes)
}
