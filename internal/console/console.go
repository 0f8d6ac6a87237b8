package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// Prefix is where the console is served: every page and action is below it.
const Prefix = "/console/"

// Broker is the part of the broker the console calls, each as the signed-in principal: the broker
// applies its rules (a customer sees and decides on its own tenant's requests only) and audits
// every refusal.
type Broker interface {
	ListRequests(ctx context.Context, who string, q broker.ListQuery) (broker.RequestPage, error)
	ReadRequest(ctx context.Context, who, id string) (broker.Request, error)
	ListPreApprovals(ctx context.Context, who string, q broker.PreApprovalQuery) ([]broker.PreApproval, error)
	Approve(ctx context.Context, who, id string) (broker.Request, error)
	Dismiss(ctx context.Context, who, id, reason string) (broker.Request, error)
	Revoke(ctx context.Context, who, id, reason string) (broker.Request, error)
	PreApprove(ctx context.Context, who, account string, maxDuration time.Duration) (broker.PreApproval, error)
	// MayActForCustomer refuses the vendor's staff, who never decide for or configure a customer.
	MayActForCustomer(who string) error
	ReadAudit(ctx context.Context, who string, f broker.Filter) ([]broker.Event, error)
}

var _ Broker = (*broker.Broker)(nil)

// Auditor records what the console refuses on its own (a forged form): the broker's audit log.
type Auditor interface {
	Record(ctx context.Context, e broker.Event) error
}

var _ Auditor = (*broker.AuditLog)(nil)

// Registry is the part of the registry the accounts, configure and organization pages use.
type Registry interface {
	TenantAccounts(ctx context.Context, tenant string) ([]registry.AccountState, error)
	Account(ctx context.Context, account string) (registry.AccountState, error)
	StartOnboarding(ctx context.Context, tenant, account, externalID string) (registry.Onboarding, error)
	IssueTenantTokenBy(ctx context.Context, tenant, by string) (registry.TenantToken, string, error)
	TenantTokens(ctx context.Context, tenant string) ([]registry.TenantToken, error)
	RevokeTenantToken(ctx context.Context, tenant, id, by string) (registry.TenantToken, error)
}

var _ Registry = (*registry.Registry)(nil)

// Verifier verifies an ID token as the API verifies bearer tokens (auth.Verifier).
type Verifier interface {
	Verify(ctx context.Context, raw string) (auth.Identity, error)
}

var _ Verifier = (*auth.Verifier)(nil)

// MaxSessionLifetime bounds a session whatever the ID token's lifetime: a provider configured to
// issue day-long ID tokens does not make day-long console sessions.
const MaxSessionLifetime = 8 * time.Hour

// LogWindow is how far back the access log page reads: the broker keeps events 30 days.
const LogWindow = broker.Retention

// Config is what the console is built from.
type Config struct {
	// URL is the console's public address, ending in Prefix: https://support.example.com/console/,
	// or http on a loopback address (local runs). The redirect URI is URL + "callback", which the
	// OpenID Provider's app client must list; cookies are Secure unless URL is http.
	URL string
	// Issuer is the OpenID Provider whose discovery document gives the authorization and token
	// endpoints (auth.Config.Issuer); ClientID is its app client (auth.Config.Audience), public:
	// PKCE protects the code, no client secret.
	Issuer   string
	ClientID string
	// Verifier checks the ID token (the API's auth.Verifier).
	Verifier Verifier
	Broker   Broker
	Audit    Auditor
	Registry Registry
	// Vendor names the vendor on the pages and the support roles of the accounts.
	Vendor policy.Vendor
	// Links are the templates and quick-create settings the configure and organization pages use.
	Links Links
	// HTTPClient talks to the OpenID Provider; nil: a client with a 10-second timeout.
	HTTPClient *http.Client
	// Logger gets one line per sign-in, refusal and failure; slog.Default() if nil.
	Logger *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Console serves the console's pages (New).
type Console struct {
	cfg      Config
	base     *url.URL // cfg.URL, parsed
	origin   string   // scheme://host of base: what a same-origin form's Origin header says
	secure   bool     // https: Secure, __Host- cookies and HSTS
	sessions *sessions
	provider *provider
	pages    pages
	mux      *http.ServeMux
}

// New checks cfg and returns the console. It does not reach the OpenID Provider: its endpoints
// are discovered at the first sign-in.
func New(cfg Config) (*Console, error) {
	var problems []error
	base, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		problems = append(problems, errors.New("the console's URL is required"))
	case err != nil:
		problems = append(problems, fmt.Errorf("the console's URL %q: %w", cfg.URL, err))
	case base.Path != Prefix || base.RawQuery != "" || base.Fragment != "":
		problems = append(problems, fmt.Errorf("the console's URL %q must be its host's %s, where the console is served", cfg.URL, Prefix))
	}
	if err == nil && cfg.URL != "" {
		if uerr := auth.CheckURL("the console's URL", strings.TrimSuffix(cfg.URL, Prefix)); uerr != nil {
			problems = append(problems, uerr)
		}
	}
	if cfg.Issuer == "" || cfg.ClientID == "" {
		problems = append(problems, errors.New("the OpenID Provider's issuer and client ID are required"))
	}
	if cfg.Verifier == nil || cfg.Broker == nil || cfg.Audit == nil || cfg.Registry == nil {
		problems = append(problems, errors.New("the verifier, the broker, its audit log and the registry are required"))
	}
	if verr := cfg.Vendor.Validate(); verr != nil {
		problems = append(problems, verr)
	}
	if lerr := cfg.Links.Validate(); lerr != nil {
		problems = append(problems, lerr)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("console: %w", errors.Join(problems...))
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Console{cfg: cfg, base: base, origin: base.Scheme + "://" + base.Host, secure: base.Scheme == "https",
		sessions: newSessions(), provider: &provider{issuer: cfg.Issuer, client: cfg.HTTPClient}}
	c.pages, err = loadPages()
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	c.mux = http.NewServeMux()
	c.routes()
	return c, nil
}

// ServeHTTP serves the console's paths (below Prefix; "/console" redirects to it), each response
// with the security headers.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.securityHeaders(w.Header())
	c.mux.ServeHTTP(w, r)
}

func (c *Console) routes() {
	handle := c.mux.HandleFunc
	handle("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
	})
	handle("GET /console/{$}", c.home)
	handle("GET /console/static/console.css", c.stylesheet)
	handle("GET /console/signin", c.signIn)
	handle("GET /console/callback", c.callback)
	handle("POST /console/signout", c.form("sign-out", c.signOut))
	handle("GET /console/accounts", c.page(c.accounts))
	handle("GET /console/requests", c.page(c.requests))
	handle("GET /console/requests/{id}", c.page(c.request))
	for _, action := range []string{"approve", "dismiss", "revoke"} {
		handle("POST /console/requests/{id}/"+action, c.form(action, c.decide(action)))
	}
	handle("GET /console/accounts/{id}/configure", c.page(c.configure))
	handle("POST /console/accounts/{id}/link", c.form("onboarding-link", c.newLink))
	handle("GET /console/organization", c.page(c.organization))
	handle("POST /console/organization/tokens", c.form("issue-tenant-token", c.issueToken))
	handle("POST /console/organization/tokens/{id}/revoke", c.form("revoke-tenant-token", c.revokeToken))
	handle("POST /console/standing", c.form("pre-approve", c.standing))
	handle("GET /console/templates/{file}", c.templateFile)
	handle("GET /console/static/console.js", c.script)
	handle("GET /console/log", c.page(c.log))
	handle("GET /console/log.csv", c.page(c.logCSV))
	handle("GET /console/log.jsonl", c.page(c.logJSONLines))
	handle("GET /console/signedout", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, nil, http.StatusOK, "signedout", "Signed out", "", nil)
	})
	handle("GET /console/", func(w http.ResponseWriter, r *http.Request) {
		s, _ := c.session(r) // a signed-in customer keeps the navigation
		c.fail(w, r, s, http.StatusNotFound, "There is no such page.")
	})
}

// home sends a signed-in customer to the accounts page, and anyone else to the sign-in page.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.session(r); ok {
		http.Redirect(w, r, Prefix+"accounts", http.StatusSeeOther)
		return
	}
	c.render(w, r, nil, http.StatusOK, "signin", "Sign in", "", nil)
}

// page wraps a GET handler for signed-in customers: anyone else is sent to sign in, and back here
// after.
func (c *Console) page(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.session(r)
		if !ok {
			http.Redirect(w, r, Prefix+"signin?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusSeeOther)
			return
		}
		h(w, r, s)
	}
}

// now is the console's clock, in UTC to the second.
func (c *Console) now() time.Time { return c.cfg.Now().UTC().Truncate(time.Second) }

// statusOf is the HTTP status of a broker error: its refusals by class, anything else 500.
func statusOf(err error) int {
	var refusal *broker.Refusal
	switch {
	case !errors.As(err, &refusal):
		return http.StatusInternalServerError
	case errors.Is(err, broker.ErrNotFound), errors.Is(err, broker.ErrAccountUnavailable):
		return http.StatusNotFound
	case errors.Is(err, broker.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, broker.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, broker.ErrConflict):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// failed answers a broker error: its refusal's reason (written for the caller) with its status, or
// for a failure, which may name the vendor's AWS resources, a 500 page that says nothing of it
// (the error is logged).
func (c *Console) failed(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status := statusOf(err)
	if status == http.StatusInternalServerError {
		c.cfg.Logger.ErrorContext(r.Context(), "console request failed", "method", r.Method, "path", r.URL.Path,
			"principal", s.principal, "error", err)
		c.fail(w, r, s, status, "Something went wrong on our side, and nothing was changed. Try again in a minute.")
		return
	}
	c.fail(w, r, s, status, err.Error())
}
