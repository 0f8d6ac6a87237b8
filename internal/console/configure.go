package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"strings"

	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/stacksets"
	"github.com/supportaccess/gateway/templates"
)

// Links are what the configure and organization pages link to: the published templates, and the
// settings of the management-role template's quick-create link.
type Links struct {
	// Management makes the management-role template's quick-create link (hook.QuickCreateURL). Its
	// HookTopicARN empty: the console makes no management link (the page says to ask the vendor).
	Management hook.LinkConfig
	// GatewayTemplateURL is the published support-gateway template; StackSetTemplateURL the
	// StackSet's ("": the page offers the template to upload instead of a quick-create link).
	GatewayTemplateURL  string
	StackSetTemplateURL string
}

// templateURL is what the StackSet template's TemplateURL parameter admits (its AllowedPattern): an
// https URL of an amazonaws.com host, as CloudFormation reads templates from S3.
var templateURL = regexp.MustCompile(`^https://[A-Za-z0-9.-]+\.amazonaws\.com/\S+$`)

// Validate says why l's links could not work: the management link's settings (hook.LinkConfig's
// rules) when it is configured, https URLs, and a support-gateway template the StackSet admits.
func (l Links) Validate() error {
	var problems []error
	if l.Management.HookTopicARN != "" {
		problems = append(problems, l.Management.Validate())
	}
	if l.GatewayTemplateURL != "" && !templateURL.MatchString(l.GatewayTemplateURL) {
		problems = append(problems, fmt.Errorf("the support-gateway template's URL %q is not one the StackSet's TemplateURL admits "+
			"(an https URL of an amazonaws.com host, as S3's)", l.GatewayTemplateURL))
	}
	for name, u := range map[string]string{"the support-gateway template's URL": l.GatewayTemplateURL,
		"the StackSet template's URL": l.StackSetTemplateURL, "the management template's URL": l.Management.TemplateURL} {
		if u != "" && !strings.HasPrefix(u, "https://") {
			problems = append(problems, errors.New(name+" must be https: CloudFormation reads templates from S3 over https"))
		}
	}
	return errors.Join(problems...)
}

// shownTemplate is a customer template the console shows before it is deployed, from the binary (the
// committed file, which the vendor publishes).
type shownTemplate struct {
	fs   fs.FS
	file string
	mime string
}

// shownTemplates are the templates under /console/templates/, by file name.
var shownTemplates = map[string]shownTemplate{
	templates.Management: {templates.Files, templates.Management, "text/yaml; charset=utf-8"},
	templates.Gateway:    {templates.Files, templates.Gateway, "application/json; charset=utf-8"},
	stacksets.StackSet:   {stacksets.Files, stacksets.StackSet, "text/yaml; charset=utf-8"},
}

// templateFile serves one customer template as text, for anyone (they are public: the vendor
// publishes them), as a download when ?download is set. The StackSet's names the support-gateway
// template its member stacks deploy: the configured one (Links.GatewayTemplateURL).
func (c *Console) templateFile(w http.ResponseWriter, r *http.Request) {
	t, ok := shownTemplates[r.PathValue("file")]
	if !ok {
		c.fail(w, r, nil, http.StatusNotFound, "There is no such template.")
		return
	}
	b, err := fs.ReadFile(t.fs, t.file)
	if err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "reading an embedded template", "file", t.file, "error", err)
		c.fail(w, r, nil, http.StatusInternalServerError, "The template could not be read.")
		return
	}
	if t.file == stacksets.StackSet && c.cfg.Links.GatewayTemplateURL != "" {
		b = bytes.ReplaceAll(b, []byte(hook.DefaultGatewayTemplateURL), []byte(c.cfg.Links.GatewayTemplateURL))
	}
	w.Header().Set("Content-Type", t.mime)
	if r.URL.Query().Has("download") {
		w.Header().Set("Content-Disposition", `attachment; filename="`+t.file+`"`)
	}
	_, _ = w.Write(b)
}

// configurePage is the configure page's data: one account's way to support access.
type configurePage struct {
	Account Account
	// Link is the quick-create link of the account's pending onboarding ("": none); Fresh says it
	// was made just now.
	Link  string
	Fresh bool
	// CanLink says the customer may make a new management link here (the account's management
	// onboarding is pending or ended, and the vendor configured links).
	CanLink bool
	// LinksReady says the vendor configured management links in the console.
	LinksReady bool
	// ManagementTemplate and GatewayTemplate are the published templates' URLs.
	ManagementTemplate, GatewayTemplate string
	ExternalIDDoc                       string
}

// accountID is an AWS account ID: 12 digits.
var accountID = regexp.MustCompile(`^\d{12}$`)

// ExternalIDDoc is AWS's page on what an ExternalId is for.
const ExternalIDDoc = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html"

// tenantsAccount is account as s's tenant sees it, or a 404 answered (and the refusal audited under
// the session's principal only: the account may be anyone's).
func (c *Console) tenantsAccount(w http.ResponseWriter, r *http.Request, s *session, action string) (registry.AccountState, Account, bool) {
	id := r.PathValue("id")
	if !accountID.MatchString(id) {
		c.fail(w, r, s, http.StatusNotFound, "There is no such account.")
		return registry.AccountState{}, Account{}, false
	}
	st, err := c.cfg.Registry.Account(r.Context(), id)
	if err != nil {
		c.failed(w, r, s, err)
		return registry.AccountState{}, Account{}, false
	}
	a, ok := AccountView(st, s.tenant, c.cfg.Vendor)
	if !ok {
		c.refuse(r, s, action, "not one of the tenant's accounts", "account "+id)
		c.fail(w, r, s, http.StatusNotFound, "There is no such account among your organization's.")
		return registry.AccountState{}, Account{}, false
	}
	return st, a, true
}

// configureData is the configure page of account a (state st) for tenant.
func (c *Console) configureData(st registry.AccountState, a Account, tenant string) configurePage {
	l := c.cfg.Links
	p := configurePage{Account: a, LinksReady: l.Management.HookTopicARN != "", ManagementTemplate: l.Management.TemplateURL,
		GatewayTemplate: l.GatewayTemplateURL, ExternalIDDoc: ExternalIDDoc}
	m := st.Management
	if p.LinksReady && m != nil && m.Tenant == tenant && m.Status == registry.Pending && m.ExternalID != "" {
		p.Link = hook.QuickCreateURL(l.Management, m.ExternalID)
	}
	p.CanLink = p.LinksReady && m != nil && m.Tenant == tenant && (m.Status == registry.Pending || m.Status == registry.Deregistered) &&
		(a.Status == PendingOnboarding || a.Status == Removed) && !namesAnother(st, tenant)
	return p
}

// namesAnother reports whether a record of the account names another tenant than tenant: as its
// tenant (a registration, ended or not), as the tenant a claim asks for, or in a conflict. A link
// would bind the account to tenant again, over what another organization did since: only an
// operator decides that (supportctl onboard).
func namesAnother(st registry.AccountState, tenant string) bool {
	for _, o := range []*registry.Onboarding{st.Management, st.Gateway} {
		if o != nil && ((o.Tenant != "" && o.Tenant != tenant) || (o.ClaimTenant != "" && o.ClaimTenant != tenant)) {
			return true
		}
	}
	c := st.Conflict
	return c != nil && ((c.Tenant != "" && c.Tenant != tenant) || (c.Claimant != "" && c.Claimant != tenant))
}

// staffRefused refuses action, and says so, when s's person is one of the vendor's staff, who
// never decide for or configure a customer (the broker's rule, BROKER_STAFF_DOMAINS).
func (c *Console) staffRefused(w http.ResponseWriter, r *http.Request, s *session, action string) bool {
	err := c.cfg.Broker.MayActForCustomer(s.principal)
	if err == nil {
		return false
	}
	c.refuse(r, s, action, "the vendor's staff never configure a customer", err.Error())
	c.fail(w, r, s, http.StatusForbidden, "Nothing was changed: "+err.Error()+".")
	return true
}

// configure is the configure page of account {id}: how to give the vendor support access to it.
func (c *Console) configure(w http.ResponseWriter, r *http.Request, s *session) {
	st, a, ok := c.tenantsAccount(w, r, s, "configure")
	if !ok {
		return
	}
	c.render(w, r, s, http.StatusOK, "configure", "Configure "+a.ID, "accounts", c.configureData(st, a, s.tenant))
}

// newLink makes a new quick-create link for account {id}, whose management onboarding is the
// tenant's and pending or ended: a fresh ExternalId replaces the old one (the older link stops
// working). It never moves an account between tenants (registry.StartOnboarding refuses).
func (c *Console) newLink(w http.ResponseWriter, r *http.Request, s *session) {
	st, a, ok := c.tenantsAccount(w, r, s, "onboarding-link")
	if !ok || c.staffRefused(w, r, s, "onboarding-link") {
		return
	}
	if !c.configureData(st, a, s.tenant).CanLink {
		c.refuse(r, s, "onboarding-link", "the account's onboarding is not pending or ended, or names another organization", "account "+a.ID)
		c.fail(w, r, s, http.StatusConflict, "A new link is only made for an account whose onboarding is pending, or whose stack was deleted "+
			"and that no other organization has registered since. Ask "+c.cfg.Vendor.Name+" support.")
		return
	}
	_, err := hook.Link(r.Context(), c.cfg.Registry, c.cfg.Links.Management, s.tenant, a.ID)
	if errors.Is(err, registry.ErrOtherTenant) || errors.Is(err, registry.ErrAlreadyRegistered) {
		c.refuse(r, s, "onboarding-link", "refused by the registry", err.Error())
		c.fail(w, r, s, http.StatusConflict, "No link was made: the account changed meanwhile. Reload the accounts page.")
		return
	}
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.audit(r, broker.Event{Type: broker.EventConfigured, Action: "onboarding-link", Actor: s.principal, Tenant: s.tenant, Account: a.ID,
		Reason: "a new management-role link (ExternalId) was made; the older link stops working"})
	st, err = c.cfg.Registry.Account(r.Context(), a.ID)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	a, _ = AccountView(st, s.tenant, c.cfg.Vendor)
	p := c.configureData(st, a, s.tenant)
	p.Fresh = true
	c.render(w, r, s, http.StatusOK, "configure", "Configure "+a.ID, "accounts", p)
}

// organizationPage is the organization page's data: the StackSet, the tenant's tokens, and the
// management account.
type organizationPage struct {
	Tokens []registry.TenantToken
	// Token is a token issued just now, shown this once, with its quick-create links.
	Token, StackSetLink, GatewayLink  string
	StackSetTemplate, GatewayTemplate string // the published templates' URLs ("": not configured)
}

// organization is the organization page.
func (c *Console) organization(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderOrganization(w, r, s, "")
}

// renderOrganization renders the organization page, with token (issued just now) if not "".
func (c *Console) renderOrganization(w http.ResponseWriter, r *http.Request, s *session, token string) {
	tokens, err := c.cfg.Registry.TenantTokens(r.Context(), s.tenant)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	l := c.cfg.Links
	p := organizationPage{Tokens: tokens, Token: token, StackSetTemplate: l.StackSetTemplateURL, GatewayTemplate: l.GatewayTemplateURL}
	if token != "" {
		if l.StackSetTemplateURL != "" {
			params := [][2]string{{"TenantToken", token}}
			if l.GatewayTemplateURL != "" {
				params = append(params, [2]string{"TemplateURL", l.GatewayTemplateURL})
			}
			p.StackSetLink = hook.QuickCreate(l.Management.ConsoleURL, l.StackSetTemplateURL, c.stackName("support-gateway-stackset"), params...)
		}
		if l.GatewayTemplateURL != "" {
			params := [][2]string{{"TenantToken", token}}
			if l.Management.HookTopicARN != "" {
				params = append(params, [2]string{"ServiceToken", l.Management.HookTopicARN})
			}
			p.GatewayLink = hook.QuickCreate(l.Management.ConsoleURL, l.GatewayTemplateURL, c.stackName("support-gateway"), params...)
		}
	}
	c.render(w, r, s, http.StatusOK, "organization", "Organization", "organization", p)
}

// stackName is the vendor's stack name for what: doit-support-gateway.
func (c *Console) stackName(what string) string {
	return strings.ToLower(c.cfg.Vendor.Name) + "-" + what
}

// MaxLiveTenantTokens bounds a tenant's live tokens: one or two are all a StackSet rotation needs,
// and each is an item every token list scans.
const MaxLiveTenantTokens = 10

// issueToken issues a tenant token and shows it this once (only its hash is stored).
func (c *Console) issueToken(w http.ResponseWriter, r *http.Request, s *session) {
	if c.staffRefused(w, r, s, "issue-tenant-token") {
		return
	}
	tokens, err := c.cfg.Registry.TenantTokens(r.Context(), s.tenant)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	live := 0
	for _, t := range tokens {
		if t.RevokedAt.IsZero() {
			live++
		}
	}
	if live >= MaxLiveTenantTokens {
		c.refuse(r, s, "issue-tenant-token", fmt.Sprintf("the tenant has %d live tokens, the most it may have", live), "")
		c.fail(w, r, s, http.StatusConflict, fmt.Sprintf("Your organization has %d live tokens, the most it may have: revoke one it no longer uses first.", live))
		return
	}
	t, token, err := c.cfg.Registry.IssueTenantTokenBy(r.Context(), s.tenant, s.principal)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.audit(r, broker.Event{Type: broker.EventConfigured, Action: "issue-tenant-token", Actor: s.principal, Tenant: s.tenant,
		Reason: "tenant token " + t.ID + " issued"})
	c.cfg.Logger.InfoContext(r.Context(), "console: tenant token issued", "principal", s.principal, "token_id", t.ID)
	c.renderOrganization(w, r, s, token)
}

// revokeToken revokes the tenant's token {id}: stacks can no longer register accounts with it.
func (c *Console) revokeToken(w http.ResponseWriter, r *http.Request, s *session) {
	if c.staffRefused(w, r, s, "revoke-tenant-token") {
		return
	}
	id := r.PathValue("id")
	t, err := c.cfg.Registry.RevokeTenantToken(r.Context(), s.tenant, id, s.principal)
	if errors.Is(err, registry.ErrNoSuchToken) {
		c.refuse(r, s, "revoke-tenant-token", "not one of the tenant's live tokens", "token "+clip(id))
		c.fail(w, r, s, http.StatusNotFound, "Your organization has no live token with that ID.")
		return
	}
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.audit(r, broker.Event{Type: broker.EventConfigured, Action: "revoke-tenant-token", Actor: s.principal, Tenant: s.tenant,
		Reason: "tenant token " + t.ID + " revoked"})
	c.sessions.tell(s.id, notice{Text: "Revoked token " + t.ID + ": no new stack can register an account with it. " +
		"Accounts it registered keep support access."})
	http.Redirect(w, r, Prefix+"organization", http.StatusSeeOther)
}

// audit records e, even if the caller hangs up (what it records happened); a failure is logged.
func (c *Console) audit(r *http.Request, e broker.Event) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), auditTimeout)
	defer cancel()
	if err := c.cfg.Audit.Record(ctx, e); err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "recording a console event failed", "type", e.Type, "action", e.Action,
			"principal", e.Actor, "error", err)
	}
}

// refuse logs and audits a refusal of the console's own (not the broker's): a REFUSED event of
// action "console <action>" by the session's principal, filed under that principal alone (the
// account or token it named may be anyone's: the detail names it, which only the vendor reads).
func (c *Console) refuse(r *http.Request, s *session, action, reason, detail string) {
	c.cfg.Logger.WarnContext(r.Context(), "console refused", "action", action, "principal", s.principal, "reason", reason)
	c.audit(r, broker.Event{Type: broker.EventRefused, Action: "console " + action, Actor: s.principal, Tenant: s.tenant,
		Reason: reason, Detail: clip(detail)})
}
