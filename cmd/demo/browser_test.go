//go:build unix

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/auth/localop"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/test/sim"
)

// The browser suite's setting: a second account of acme's (so the log's account filter has
// something to leave out) and an account of globex's, the other tenant (its onboarding link only:
// erin's pages show it, and nothing of acme's).
const (
	browserUsersFile = "cmd/demo/testdata/browser-users.yaml"
	browserDir       = "test/browser"
	secondAccount    = "111122224444" // acme's, registered like customerAccount
	otherTenant      = "globex"
	otherAccount     = "444455556666" // globex's, onboarding pending
	pendingAccount   = "111122225555" // acme's, onboarding pending: bob configures it in the console
	// acme's organization's management account (StackSets never reach it), which bob gives the
	// support-gateway stack with the token he issues; then another account, once he revoked it
	gatewayAccount = "111122226666"
	lateAccount    = "111122227777"
	// browserRequiredEnv, set by make test, turns a missing browser, node or node module from a
	// skip into a failure.
	browserRequiredEnv = "SUPPORT_BROWSER_REQUIRED"
	// browserArtifactsEnv is where the screenshots, the accessibility report and the downloads go
	// (default .cache/browser under the repository's root); make screenshots copies the screenshots
	// into docs/console.
	browserArtifactsEnv = "BROWSER_ARTIFACTS"
	// setupTimeout bounds the stand-ins' start and the accounts' registration; flowTimeout the
	// browser's flows (test/browser/console.mjs bounds each of its steps and actions as well).
	setupTimeout = 2 * time.Minute
	flowTimeout  = 3 * time.Minute
)

// The customer console in a real browser, against the real server: test/browser/console.mjs drives
// Debian's chromium with Playwright through sign-in at the local OpenID Provider, the accounts
// page, approving, dismissing and revoking requests that alice makes with the real supportctl, the
// access log with its filters and downloads, another tenant's customer and an engineer refused
// everything, forged forms refused with nothing changed, and sign-out. axe-core checks every page
// it visits; each is saved as a screenshot.
func TestConsoleInABrowser(t *testing.T) {
	root, err := findRoot()
	require.NoError(t, err)
	node, chromium := browserTools(t, root)
	started := time.Now()

	bin := t.TempDir()
	built := make(chan error, 1)
	go func() { built <- buildSupportctl(t.Context(), root, bin) }()

	d := browserDemo(t, root)
	setup, cancelSetup := context.WithTimeout(t.Context(), setupTimeout)
	defer cancelSetup()
	for _, s := range []func(context.Context) error{d.startAWS, d.startVendor, d.invite, d.deployManagement, d.registered} {
		require.NoError(t, s(setup), "the demo's setup:\n%s", d.out)
	}
	require.NoError(t, registerAccount(setup, d, tenant, secondAccount), "acme's second account")
	_, err = hook.Link(setup, d.aws.Registry(), hook.LinkConfig{TemplateURL: managementLinkURL, HookTopicARN: sim.HookTopic,
		VendorAccountID: sim.VendorAccount}, otherTenant, otherAccount)
	require.NoError(t, err, "globex's onboarding link")
	_, err = hook.Link(setup, d.aws.Registry(), hook.LinkConfig{TemplateURL: managementLinkURL, HookTopicARN: sim.HookTopic,
		VendorAccountID: sim.VendorAccount}, tenant, pendingAccount)
	require.NoError(t, err, "acme's onboarding link for the account bob configures")
	require.NoError(t, <-built, "building supportctl")
	ctl := startControl(t, d)
	t.Logf("setup: %s", seconds(time.Since(started)))

	artifacts := os.Getenv(browserArtifactsEnv)
	if artifacts == "" {
		artifacts = filepath.Join(root, ".cache", "browser")
	}
	require.NoError(t, os.MkdirAll(artifacts, 0o755))
	// what an earlier run wrote, and only that: BROWSER_ARTIFACTS may name a directory of other files
	for _, pattern := range []string{"*.png", "*.csv", "*.jsonl", "axe.json"} {
		old, err := filepath.Glob(filepath.Join(artifacts, pattern))
		require.NoError(t, err)
		for _, f := range old {
			require.NoError(t, os.Remove(f))
		}
	}

	people := map[string]map[string]string{}
	for _, u := range d.users {
		people[u.Username] = map[string]string{"password": u.Password, "email": u.Email}
	}
	peopleJSON, err := json.Marshal(people)
	require.NoError(t, err)
	vendor := policy.DefaultVendor()
	env := map[string]string{
		"CONSOLE_URL":      d.vendor.consoleURL,
		"SUPPORT_API_URL":  d.vendor.apiURL,
		"OIDC_ISSUER":      d.vendor.op.Issuer(),
		"OIDC_CLIENT_ID":   d.vendor.op.ClientID(),
		"SUPPORTCTL":       filepath.Join(bin, "supportctl"),
		"CONTROL_URL":      ctl,
		"CHROMIUM":         chromium,
		"ARTIFACTS":        artifacts,
		"PEOPLE":           string(peopleJSON),
		"TENANT":           tenant,
		"ACCOUNT":          customerAccount,
		"SECOND_ACCOUNT":   secondAccount,
		"OTHER_TENANT":     otherTenant,
		"OTHER_ACCOUNT":    otherAccount,
		"PENDING_ACCOUNT":  pendingAccount,
		"GATEWAY_ACCOUNT":  gatewayAccount,
		"LATE_ACCOUNT":     lateAccount,
		"SUPPORT_ROLE_ARN": vendor.SupportRoleARN(policy.Target{Partition: "aws", AccountID: customerAccount}),
		"VENDOR":           vendor.Name,
	}
	flowStart := time.Now()
	out, err := runNode(t, node, filepath.Join(root, browserDir), env)
	t.Logf("browser flows: %s; the whole test: %s; artifacts in %s", seconds(time.Since(flowStart)), seconds(time.Since(started)), artifacts)
	if err != nil {
		t.Errorf("test/browser/console.mjs: %v\n%s", err, out)
		t.Logf("the API's log ends:\n%s", lastLines(filepath.Join(d.opts.logs, "api.log"), 30))
		return
	}
	t.Log(out)
	for _, png := range []string{"signin", "accounts", "requests", "request", "log", "log-filtered", "not-found", "signed-out",
		"configure", "organization", "organization-token"} {
		assert.FileExists(t, filepath.Join(artifacts, png+".png"), "every page's screenshot")
	}
}

// browserTools finds node, chromium and test/browser's node modules. A missing one skips the test,
// unless make test asked for it (SUPPORT_BROWSER_REQUIRED): then it fails, saying what to run.
func browserTools(t *testing.T, root string) (node, chromium string) {
	t.Helper()
	var missing []string
	node, err := exec.LookPath("node")
	if err == nil {
		var version []byte
		if version, err = exec.Command(node, "--version").Output(); err == nil {
			var major int
			if _, err = fmt.Sscanf(string(version), "v%d.", &major); err == nil && major < 20 {
				err = fmt.Errorf("node %s", strings.TrimSpace(string(version)))
			}
		}
	}
	if err != nil {
		missing = append(missing, fmt.Sprintf("node (Node.js 20 or later) on PATH (%v)", err))
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if fi, err := os.Stat(chromium); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		missing = append(missing, chromium+" (Debian's chromium; another with CHROMIUM=<path>)")
	}
	var pkg struct{ Dependencies map[string]string }
	raw, err := os.ReadFile(filepath.Join(root, browserDir, "package.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &pkg))
	require.NotEmpty(t, pkg.Dependencies)
	for name, want := range pkg.Dependencies {
		var got struct{ Version string }
		raw, err := os.ReadFile(filepath.Join(root, browserDir, "node_modules", name, "package.json"))
		if err == nil {
			err = json.Unmarshal(raw, &got)
		}
		if err != nil || got.Version != want {
			missing = append(missing, fmt.Sprintf("%s %s in %s/node_modules (found %q)", name, want, browserDir, got.Version))
		}
	}
	if len(missing) == 0 {
		return node, chromium
	}
	slices.Sort(missing)
	msg := "the browser suite needs " + strings.Join(missing, ", ") +
		": run make browser-deps (apt-get install chromium when it is missing, and npm ci in " + browserDir + ")"
	if os.Getenv(browserRequiredEnv) == "" {
		t.Skip(msg + "; skipped because " + browserRequiredEnv + " is unset (make test sets it)")
	}
	t.Fatal(msg)
	return "", ""
}

// browserDemo is the demo's state for the browser suite: its users, logs in a directory of the
// test's, the narration kept for a failure's message.
func browserDemo(t *testing.T, root string) *demo {
	t.Helper()
	users, err := localop.LoadUsers(filepath.Join(root, browserUsersFile))
	require.NoError(t, err)
	logs := t.TempDir()
	hookLog, err := os.Create(filepath.Join(logs, "hook.log"))
	require.NoError(t, err)
	apiLog, err := os.Create(filepath.Join(logs, "api.log"))
	require.NoError(t, err)
	out := &lockedBuffer{}
	d := &demo{story: story{out: out}, users: users, hookLog: hookLog, log: slog.New(slog.NewJSONHandler(apiLog, nil)),
		opts: options{root: root, usersFile: browserUsersFile, apiAddr: "127.0.0.1:0", opAddr: "127.0.0.1:0", logs: logs}}
	t.Cleanup(func() {
		assert.NoError(t, d.close(), "stopping the demo's backend and stand-ins")
		_, _ = hookLog.Close(), apiLog.Close()
	})
	return d
}

// registerAccount onboards account for tenant as the demo's first: the link, the customer's
// management-role stack from it, and the registration the hook makes.
func registerAccount(ctx context.Context, d *demo, tenant, account string) error {
	link, err := hook.Link(ctx, d.aws.Registry(), hook.LinkConfig{TemplateURL: managementLinkURL, HookTopicARN: sim.HookTopic,
		VendorAccountID: sim.VendorAccount}, tenant, account)
	if err != nil {
		return err
	}
	if _, err := d.aws.QuickCreate(ctx, account, link); err != nil {
		return err
	}
	o, _, err := d.aws.Registry().Get(ctx, account, registry.Management)
	if err != nil {
		return err
	}
	if o.Status != registry.Registered || o.Tenant != tenant {
		return fmt.Errorf("account %s is %s for tenant %q, want %s for %s", account, o.Status, o.Tenant, registry.Registered, tenant)
	}
	return nil
}

// buildSupportctl builds the engineer's CLI into dir.
func buildSupportctl(ctx context.Context, root, dir string) error {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "supportctl"), "./cmd/supportctl")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// runNode runs test/browser/console.mjs with env added to the test's environment, in its own
// process group (chromium is its child), killed whole at flowTimeout; it returns what the script
// printed, stdout and stderr together.
func runNode(t *testing.T, node, dir string, env map[string]string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), flowTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "console.mjs")
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	if cmd.Process != nil {
		// whatever the script left behind (a browser it could not close)
		if kerr := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); kerr != nil && !errors.Is(kerr, syscall.ESRCH) {
			t.Errorf("stopping what the browser suite started: %v", kerr)
		}
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w: not done within %s", err, flowTimeout)
	}
	return out.String(), err
}

// startControl serves, on 127.0.0.1 until the test ends, what only Go can tell the browser suite:
//
//	GET  /state                the non-audit items of the registry's and the broker's tables, sorted
//	                           (a refused form must leave them as they were)
//	GET  /audit?principal=P    every audit event filed under person P, as the vendor reads them
//	                           (Detail included): a forged form's refusal is filed under its session's
//	                           principal, never under an account
//	POST /caller-identity      {AccessKeyId, SecretAccessKey, SessionToken} → {"Arn": …}: STS (moto)
//	                           on the session supportctl printed
//	POST /quick-create         {account, link} → {"created": bool, "error": …}: a customer opening a
//	                           quick-create link the console gave in account and creating the stack
//	                           (test/sim's CloudFormation, the hook behind it), once the hook's
//	                           invocations are over
func startControl(t *testing.T, d *demo) string {
	t.Helper()
	db := dynamodb.NewFromConfig(d.aws.Vendor())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) {
		items, err := tableItems(r.Context(), db, sim.RegistryTable, brokerTable)
		answer(w, items, err)
	})
	mux.HandleFunc("GET /audit", func(w http.ResponseWriter, r *http.Request) {
		log := &broker.AuditLog{DB: db, Table: brokerTable}
		events, err := log.List(r.Context(), broker.Filter{Engineer: r.URL.Query().Get("principal")})
		answer(w, events, err)
	})
	mux.HandleFunc("POST /caller-identity", func(w http.ResponseWriter, r *http.Request) {
		var c broker.Credentials
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		who, err := sts.NewFromConfig(aws.Config{Region: sim.Region, BaseEndpoint: aws.String(d.aws.MotoURL()),
			Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)}).
			GetCallerIdentity(r.Context(), &sts.GetCallerIdentityInput{})
		if err != nil {
			answer(w, nil, err)
			return
		}
		answer(w, map[string]string{"Arn": aws.ToString(who.Arn), "Account": aws.ToString(who.Account)}, nil)
	})
	mux.HandleFunc("POST /quick-create", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Account, Link string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := map[string]any{"created": true}
		// QuickCreate returns once the hook's invocations are over (a gateway's proof goes on after
		// CloudFormation has its answer), as a customer waits for the console to say the account is active
		if _, err := d.aws.QuickCreate(r.Context(), in.Account, in.Link); err != nil {
			out = map[string]any{"created": false, "error": err.Error()}
		}
		answer(w, out, nil)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("the control endpoint: %v", err)
		}
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

// answer writes v as JSON, or err as a 500.
func answer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// tableItem is one item of a table, its attributes as plain values.
type tableItem struct {
	Table string         `json:"table"`
	Attrs map[string]any `json:"attrs"`
}

// tableItems reads the tables whole (consistent scans), all but the broker's audit items, sorted by
// table and key.
func tableItems(ctx context.Context, db *dynamodb.Client, tables ...string) ([]tableItem, error) {
	var out []tableItem
	for _, table := range tables {
		p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("scanning %s: %w", table, err)
			}
			for _, raw := range page.Items {
				if pk, ok := raw["pk"].(*types.AttributeValueMemberS); ok && table == brokerTable && strings.HasPrefix(pk.Value, "AUDIT#") {
					continue
				}
				it := tableItem{Table: table}
				if err := attributevalue.UnmarshalMap(raw, &it.Attrs); err != nil {
					return nil, fmt.Errorf("decoding an item of %s: %w", table, err)
				}
				out = append(out, it)
			}
		}
	}
	key := func(it tableItem) string { return fmt.Sprint(it.Table, "\x00", it.Attrs["pk"], "\x00", it.Attrs["sk"]) }
	slices.SortFunc(out, func(a, b tableItem) int { return strings.Compare(key(a), key(b)) })
	return out, nil
}
