package console_test

import (
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/api"
	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/auth/localop"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/console"
	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/internal/registry/registrytest"
	"github.com/supportaccess/gateway/test/moto"
)

// The console runs as it is served: in the backend's handler tree (api.Handler) over HTTP on a
// loopback port, with the broker and the registry on moto's DynamoDB, signing people in at the
// local OpenID Provider through the authorization-code flow with PKCE. A test's browser is an HTTP client with a cookie jar that
// follows redirects one by one, answers the provider's sign-in form, and sends what a browser
// sends with a form (Origin, Sec-Fetch-Site).
var server moto.Shared

func TestMain(m *testing.M) { os.Exit(server.Run(m)) }

const (
	acmeAccount    = "111122223333" // acme's, the management-role stack registered
	acmeGateway    = "222233334444" // acme's, the support-gateway stack registered (an older template)
	acmePending    = "777788889999" // acme's, onboarding started
	globexAccount  = "444455556666" // globex's
	engineer       = "alice@doit.com"
	bob            = "tenant:acme/bob@acme.example"
	gina           = "tenant:globex/gina@globex.example"
	engineerGroup  = "doit-engineers"
	olderTemplate  = "2026.10.0"
	bobPassword    = "bob-pw"
	ginaPassword   = "gina-pw"
	alicePassword  = "alice-pw"
	justification  = "customer reports failing deploys since Monday"
	otherTicketFmt = "SUP-%d"
)

var users = []localop.User{
	{Username: "alice", Email: "alice@doit.com", Password: alicePassword, Groups: []string{engineerGroup}},
	{Username: "bob", Email: "bob@acme.example", Password: bobPassword, Groups: []string{"tenant:acme"}},
	{Username: "gina", Email: "gina@globex.example", Password: ginaPassword, Groups: []string{"tenant:globex"}},
	{Username: "dave", Email: "dave@example.com"},
}

// links are the console's quick-create settings in the tests.
var links = console.Links{
	Management: hook.LinkConfig{TemplateURL: "https://doit-aws-ops-prod-templates.s3.amazonaws.com/doitmanagement.yaml",
		HookTopicARN: "arn:aws:sns:us-east-1:123456789012:doit-support-gateway-hook", VendorAccountID: "123456789012"},
	GatewayTemplateURL:  "https://doit-support.s3.amazonaws.com/doit-support.json",
	StackSetTemplateURL: "https://doit-support.s3.amazonaws.com/doit-support-stackset.yaml",
}

// env is a console on a loopback port with everything behind it.
type env struct {
	t    *testing.T
	base string // http://127.0.0.1:port
	b    *broker.Broker
	reg  *registry.Registry
	op   *localop.Server
	logs *strings.Builder
}

var tickets atomic.Int64

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	srv := server.Server(t)
	cfg, err := srv.Config(ctx, "")
	require.NoError(t, err)
	db := dynamodb.NewFromConfig(cfg)
	reg := registrytest.New(t, srv)
	table := reg.Table + "-broker"
	require.NoError(t, broker.CreateTable(ctx, db, table))
	v := policy.DefaultVendor()
	registrytest.Put(t, reg, acmeAccount, registry.Writes{Management: &registry.Onboarding{Status: registry.Registered, Tenant: "acme",
		TemplateVersion: policy.TemplateVersion}})
	registrytest.Put(t, reg, acmeGateway, registry.Writes{Gateway: &registry.Onboarding{Status: registry.Registered, Tenant: "acme",
		TemplateVersion: olderTemplate, RoleARN: v.GatewayRoleARN(policy.Target{Partition: "aws", AccountID: acmeGateway})}})
	registrytest.Put(t, reg, acmePending, registry.Writes{Management: &registry.Onboarding{Status: registry.Pending, Tenant: "acme", ExternalID: "ext-1"}})
	registrytest.Put(t, reg, globexAccount, registry.Writes{Management: &registry.Onboarding{Status: registry.Registered, Tenant: "globex",
		TemplateVersion: policy.TemplateVersion}})
	b, err := broker.New(broker.Config{}, reg, nil, nil, db, table)
	require.NoError(t, err)

	op, err := localop.Start(localop.Config{Users: users, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = op.Close() })
	verifier, err := auth.NewVerifier(ctx, auth.Config{Issuer: op.Issuer(), Audience: op.ClientID(), EngineerGroup: engineerGroup,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)

	e := &env{t: t, b: b, reg: reg, op: op, logs: &strings.Builder{}}
	hs := httptest.NewUnstartedServer(nil)
	e.base = "http://" + hs.Listener.Addr().String()
	c, err := console.New(console.Config{URL: e.base + console.Prefix, Issuer: op.Issuer(), ClientID: op.ClientID(), Verifier: verifier,
		Broker: b, Audit: b.Audit(), Registry: reg, Vendor: v, Links: links, Logger: slog.New(slog.NewJSONHandler(e.logs, nil))})
	require.NoError(t, err)
	hs.Config.Handler = api.Handler(api.Config{Broker: api.SignedIn(b, verifier), Console: c, Logger: slog.New(slog.DiscardHandler)})
	hs.Start()
	t.Cleanup(hs.Close)
	return e
}

// request makes a pending request of engineer's for account.
func (e *env) request(account string) broker.Request {
	e.t.Helper()
	r, err := e.b.Request(e.t.Context(), engineer, account, fmt.Sprintf(otherTicketFmt, tickets.Add(1)), justification, 45*time.Minute)
	require.NoError(e.t, err)
	return r
}

// state is request id's state now.
func (e *env) state(id string) broker.State {
	e.t.Helper()
	r, err := e.b.Get(e.t.Context(), id)
	require.NoError(e.t, err)
	return r.Status(time.Now())
}

// events are the audit events of filter f, as the vendor reads them.
func (e *env) events(f broker.Filter) []broker.Event {
	e.t.Helper()
	list, err := e.b.Audit().List(e.t.Context(), f)
	require.NoError(e.t, err)
	return list
}

// securityHeaders are what every response of the console carries.
var securityHeaders = map[string]string{
	"Content-Security-Policy":      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Content-Type-Options":       "nosniff",
	"X-Frame-Options":              "DENY",
	"Referrer-Policy":              "same-origin",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
}

// browser is one person's browser.
type browser struct {
	e      *env
	client *http.Client
	// visited are the URLs of every request, redirects included, in order.
	visited []*url.URL
	// responses are every response of the console, redirects included.
	responses []*http.Response
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(e.t, err)
	return &browser{e: e, client: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is what the browser shows after a request and its redirects.
type page struct {
	status int
	url    *url.URL
	header http.Header
	body   string
}

// do sends req as a browser does and follows redirects (as GETs) to the last answer. Each answer
// of the console must carry the security headers.
func (b *browser) do(req *http.Request) page {
	t := b.e.t
	t.Helper()
	for range 10 {
		if req.Method == http.MethodPost && strings.HasPrefix(req.URL.String(), b.e.base) {
			for k, v := range map[string]string{"Origin": b.e.base, "Sec-Fetch-Site": "same-origin"} {
				if _, set := req.Header[k]; !set {
					req.Header.Set(k, v)
				}
			}
		}
		b.visited = append(b.visited, req.URL)
		resp, err := b.client.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		if strings.HasPrefix(req.URL.String(), b.e.base) {
			b.responses = append(b.responses, resp)
			for k, v := range securityHeaders {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s %s answered %s with %s %q, want %q", req.Method, req.URL.Path, resp.Status, k, got, v)
				}
			}
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			return page{status: resp.StatusCode, url: req.URL, header: resp.Header, body: string(body)}
		}
		next, err := req.URL.Parse(loc)
		require.NoError(t, err)
		req, err = http.NewRequestWithContext(t.Context(), http.MethodGet, next.String(), nil)
		require.NoError(t, err)
	}
	t.Fatalf("more than 10 redirects from %s", req.URL)
	return page{}
}

// get opens path (below the console's base, or a whole URL).
func (b *browser) get(path string) page {
	b.e.t.Helper()
	if !strings.HasPrefix(path, "http") {
		path = b.e.base + path
	}
	req, err := http.NewRequestWithContext(b.e.t.Context(), http.MethodGet, path, nil)
	require.NoError(b.e.t, err)
	return b.do(req)
}

// post submits form to path, with the headers set (Origin and Sec-Fetch-Site default to a
// same-origin browser's).
func (b *browser) post(path string, form url.Values, header map[string]string) page {
	b.e.t.Helper()
	req, err := http.NewRequestWithContext(b.e.t.Context(), http.MethodPost, b.e.base+path, strings.NewReader(form.Encode()))
	require.NoError(b.e.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return b.do(req)
}

var (
	authRequestID = regexp.MustCompile(`name="authRequestID" value="([^"]*)"`)
	csrfToken     = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// signIn signs username in from the console's sign-in link, answering the provider's form, and
// returns the page the browser ends on.
func (b *browser) signIn(username, password string) page {
	b.e.t.Helper()
	return b.answer(b.get(console.Prefix+"signin"), username, password)
}

// answer answers the provider's sign-in form, form, as username, and returns the page the browser
// ends on.
func (b *browser) answer(form page, username, password string) page {
	t := b.e.t
	t.Helper()
	require.Equal(t, http.StatusOK, form.status, form.body)
	m := authRequestID.FindStringSubmatch(form.body)
	require.NotNil(t, m, "the provider's sign-in form: %s", form.body)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.e.op.Issuer()+"/login",
		strings.NewReader(url.Values{"authRequestID": {html.UnescapeString(m[1])}, "username": {username}, "password": {password}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// csrf is the CSRF token of the forms on p.
func csrf(t *testing.T, p page) string {
	t.Helper()
	m := csrfToken.FindStringSubmatch(p.body)
	require.NotNil(t, m, "no form with a CSRF token on %s:\n%s", p.url, p.body)
	return html.UnescapeString(m[1])
}
