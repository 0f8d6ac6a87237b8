package console_test

import (
	"html"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/console"
	"github.com/supportaccess/gateway/internal/registry"
)

// link is the link with data-testid testID on p, unescaped ("" if none).
func link(p page, testID string) string {
	m := regexp.MustCompile(`href="([^"]+)"[^>]*data-testid="` + testID + `"`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// The configure page of a pending account gives its quick-create link, with the ExternalId issued
// for it, explains the ExternalId, and shows the template; a new link replaces the ExternalId (the
// old link stops working) and is audited. An active account has no link to make.
func TestConfigureGivesThePendingAccountsLink(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	token := csrf(t, b.signIn("bob", bobPassword))

	accounts := b.get(console.Prefix + "accounts")
	assert.Contains(t, accounts.body, `href="/console/accounts/`+acmePending+`/configure"`)
	p := b.get(console.Prefix + "accounts/" + acmePending + "/configure")
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Contains(t, p.body, `data-status="pending-onboarding"`)
	assert.Contains(t, p.body, `data-testid="external-id-note"`)
	first := link(p, "quick-create")
	u, err := url.Parse(first)
	require.NoError(t, err)
	q, err := url.ParseQuery(strings.TrimPrefix(u.Fragment, "/stacks/quickcreate?"))
	require.NoError(t, err)
	assert.Equal(t, "ext-1", q.Get("param_ExternalId"), "the ExternalId issued for the account")
	assert.Equal(t, links.Management.TemplateURL, q.Get("templateURL"))
	assert.Equal(t, links.Management.HookTopicARN, q.Get("param_ServiceToken"))
	assert.Equal(t, "123456789012", q.Get("param_AccountNumberParameter"))
	assert.Equal(t, "us-east-1", u.Query().Get("region"))

	committed, err := os.ReadFile("../../templates/management-role.yaml")
	require.NoError(t, err)
	tpl := b.get(console.Prefix + "templates/management-role.yaml")
	require.Equal(t, http.StatusOK, tpl.status)
	assert.Equal(t, string(committed), tpl.body, "the template as committed (and published)")
	assert.Equal(t, http.StatusNotFound, b.get(console.Prefix+"templates/..%2Fconsole.go").status)
	assert.Equal(t, http.StatusNotFound, b.get(console.Prefix+"templates/nothing.yaml").status)

	p = b.post(console.Prefix+"accounts/"+acmePending+"/link", url.Values{"csrf": {token}}, nil)
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Contains(t, p.body, `data-testid="link-fresh"`)
	second := link(p, "quick-create")
	require.NotEmpty(t, second)
	assert.NotEqual(t, first, second)
	o, _, err := e.reg.Get(t.Context(), acmePending, registry.Management)
	require.NoError(t, err)
	assert.Contains(t, second, "param_ExternalId="+o.ExternalID, "the link carries the ExternalId now on record")
	assert.NotEqual(t, "ext-1", o.ExternalID, "the old link no longer works")
	var configured []broker.Event
	for _, ev := range e.events(broker.Filter{Account: acmePending}) {
		if ev.Type == broker.EventConfigured {
			configured = append(configured, ev)
		}
	}
	require.Len(t, configured, 1)
	assert.Equal(t, bob, configured[0].Actor)
	assert.Equal(t, "onboarding-link", configured[0].Action)
	assert.NotContains(t, configured[0].Reason+configured[0].Detail, o.ExternalID, "the ExternalId is not logged")

	// an active account: its page says so, and no link is made for it
	p = b.get(console.Prefix + "accounts/" + acmeAccount + "/configure")
	require.Equal(t, http.StatusOK, p.status)
	assert.NotContains(t, p.body, `data-testid="quick-create"`)
	assert.NotContains(t, p.body, `data-testid="new-link"`)
	p = b.post(console.Prefix+"accounts/"+acmeAccount+"/link", url.Values{"csrf": {token}}, nil)
	assert.Equal(t, http.StatusConflict, p.status)
	o, _, err = e.reg.Get(t.Context(), acmeAccount, registry.Management)
	require.NoError(t, err)
	assert.Equal(t, registry.Registered, o.Status, "nothing changed")
	// a gateway account points at the organization page
	p = b.get(console.Prefix + "accounts/" + acmeGateway + "/configure")
	assert.Contains(t, p.body, `data-testid="view-gateway-template"`)
	assert.Contains(t, p.body, `href="/console/organization"`)
}

// Another tenant's customer gets 404 for the configure page and the link of this tenant's
// accounts (and for accounts nobody knows), each refusal audited under the prober alone, and
// changes nothing.
func TestConfigureIsTheTenantsOnly(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	token := csrf(t, b.signIn("gina", ginaPassword))
	for _, account := range []string{acmePending, acmeAccount, "999999999999", "12345"} {
		p := b.get(console.Prefix + "accounts/" + account + "/configure")
		assert.Equal(t, http.StatusNotFound, p.status, account)
		assert.NotContains(t, p.body, "ext-1")
		assert.NotContains(t, p.body, "acme")
		p = b.post(console.Prefix+"accounts/"+account+"/link", url.Values{"csrf": {token}}, nil)
		assert.Equal(t, http.StatusNotFound, p.status, account)
	}
	o, _, err := e.reg.Get(t.Context(), acmePending, registry.Management)
	require.NoError(t, err)
	assert.Equal(t, "ext-1", o.ExternalID, "acme's link still works")
	assert.Equal(t, "acme", o.Tenant)
	refusals := 0
	for _, ev := range e.events(broker.Filter{Engineer: gina}) {
		if ev.Type == broker.EventRefused && strings.HasPrefix(ev.Action, "console ") {
			refusals++
			assert.Empty(t, ev.Account, "filed under the prober, not the account")
		}
	}
	assert.Equal(t, 6, refusals, "each refusal of a well-formed account ID is audited (3 accounts × page and link)")
	assert.Empty(t, e.events(broker.Filter{Account: acmePending}), "nothing under acme's account")
}

// The organization page issues a tenant token and shows it once, with quick-create links that
// carry it; it lists the tenant's tokens by ID (never the token) and revokes one. Another tenant
// can neither see nor revoke them.
func TestOrganizationTokens(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	token := csrf(t, b.signIn("bob", bobPassword))

	p := b.get(console.Prefix + "organization")
	require.Equal(t, http.StatusOK, p.status)
	assert.Contains(t, p.body, `data-testid="tokens-empty"`)
	assert.Contains(t, p.body, `data-testid="management-account-note"`)

	p = b.post(console.Prefix+"organization/tokens", url.Values{"csrf": {token}}, nil)
	require.Equal(t, http.StatusOK, p.status, p.body)
	m := regexp.MustCompile(`value="(tt-[0-9a-f]{64})"`).FindStringSubmatch(p.body)
	require.NotNil(t, m, "the token is shown: %s", p.body)
	issued := m[1]
	tenant, ok, err := e.reg.ResolveTenantToken(t.Context(), issued)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "acme", tenant)
	assert.Contains(t, link(p, "stackset-quick-create"), "param_TenantToken="+issued)
	assert.Contains(t, link(p, "stackset-quick-create"), "templateURL="+url.QueryEscape(links.StackSetTemplateURL))
	assert.Contains(t, link(p, "gateway-quick-create"), "param_TenantToken="+issued)
	id := registry.TokenHash(issued)[:registry.TokenIDLength]
	assert.Contains(t, p.body, `data-token="`+id+`"`)

	again := b.get(console.Prefix + "organization")
	assert.NotContains(t, again.body, issued, "shown once")
	assert.Contains(t, again.body, `data-token="`+id+`" data-revoked="false"`)

	// globex sees none of it, and cannot revoke it
	g := e.browser()
	gtoken := csrf(t, g.signIn("gina", ginaPassword))
	gp := g.get(console.Prefix + "organization")
	assert.NotContains(t, gp.body, id)
	gp = g.post(console.Prefix+"organization/tokens/"+id+"/revoke", url.Values{"csrf": {gtoken}}, nil)
	assert.Equal(t, http.StatusNotFound, gp.status)
	_, ok, err = e.reg.ResolveTenantToken(t.Context(), issued)
	require.NoError(t, err)
	assert.True(t, ok, "still live")

	p = b.post(console.Prefix+"organization/tokens/"+id+"/revoke", url.Values{"csrf": {token}}, nil)
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Equal(t, "/console/organization", p.url.Path)
	assert.Contains(t, p.body, "Revoked token "+id)
	assert.Contains(t, p.body, `data-token="`+id+`" data-revoked="true"`)
	_, ok, err = e.reg.ResolveTenantToken(t.Context(), issued)
	require.NoError(t, err)
	assert.False(t, ok, "revoked")
	p = b.post(console.Prefix+"organization/tokens/"+id+"/revoke", url.Values{"csrf": {token}}, nil)
	assert.Equal(t, http.StatusNotFound, p.status, "revoked once")

	var actions []string
	for _, ev := range e.events(broker.Filter{Engineer: bob}) {
		if ev.Type == broker.EventConfigured {
			actions = append(actions, ev.Action)
			assert.NotContains(t, ev.Reason+ev.Detail, issued, "never the token")
		}
	}
	assert.ElementsMatch(t, []string{"issue-tenant-token", "revoke-tenant-token"}, actions)
	assert.NotContains(t, e.logs.String(), issued, "never logged")
}

// A standing approval is set and removed from the requests page, as the broker's rules allow:
// another tenant's account is 404, a duration off the list changes nothing.
func TestStandingApprovalsFromThePage(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	token := csrf(t, b.signIn("bob", bobPassword))
	p := b.get(console.Prefix + "requests")
	assert.Contains(t, p.body, `<option value="`+acmeAccount+`">`)
	assert.NotContains(t, p.body, `<option value="`+acmePending+`">`, "only active accounts")

	standing := func() map[string]int64 {
		list, err := e.b.ListPreApprovals(t.Context(), bob, broker.PreApprovalQuery{})
		require.NoError(t, err)
		out := map[string]int64{}
		for _, p := range list {
			out[p.Account] = p.MaxDurationSeconds
		}
		return out
	}
	p = b.post(console.Prefix+"standing", url.Values{"csrf": {token}, "account": {acmeAccount}, "max": {"1800"}}, nil)
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Contains(t, p.body, "approves each request at once, for up to 30m")
	assert.Equal(t, map[string]int64{acmeAccount: 1800}, standing())

	for _, bad := range []string{"-1", "x", "7200", ""} {
		p = b.post(console.Prefix+"standing", url.Values{"csrf": {token}, "account": {acmeAccount}, "max": {bad}}, nil)
		assert.Contains(t, p.body, `data-testid="notice-error">Nothing was changed`, bad)
	}
	p = b.post(console.Prefix+"standing", url.Values{"csrf": {token}, "account": {acmeAccount}, "max": {"60"}}, nil)
	assert.Contains(t, p.body, "shorter than the minimum session", "the broker's rule")
	p = b.post(console.Prefix+"standing", url.Values{"csrf": {token}, "account": {globexAccount}, "max": {"900"}}, nil)
	assert.Equal(t, http.StatusNotFound, p.status)
	assert.Equal(t, map[string]int64{acmeAccount: 1800}, standing())

	p = b.post(console.Prefix+"standing", url.Values{"csrf": {token}, "account": {acmeAccount}, "max": {"0"}}, nil)
	assert.Contains(t, p.body, "Removed the standing approval of account "+acmeAccount)
	assert.Empty(t, standing())
}

// An unknown page keeps a signed-in customer's navigation; signing out redirects to the
// signed-out page (post/redirect/get), which a reload shows again without asking anything.
func TestUnknownPagesAndSignOutKeepTheirPlace(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	token := csrf(t, b.signIn("bob", bobPassword))
	p := b.get(console.Prefix + "nothing-here")
	assert.Equal(t, http.StatusNotFound, p.status)
	assert.Contains(t, p.body, `<nav aria-label="Console">`)
	assert.Contains(t, p.body, `Back to your accounts`)
	anon := e.browser().get(console.Prefix + "nothing-here")
	assert.Equal(t, http.StatusNotFound, anon.status)
	assert.NotContains(t, anon.body, `<nav aria-label="Console">`)

	p = b.post(console.Prefix+"signout", url.Values{"csrf": {token}}, nil)
	require.Equal(t, http.StatusOK, p.status)
	assert.Equal(t, "/console/signedout", p.url.Path)
	assert.Contains(t, p.body, "<h1>Signed out</h1>")
	assert.Equal(t, http.StatusOK, b.get(console.Prefix+"signedout").status)
	assert.Equal(t, "/login", b.get(console.Prefix+"accounts").url.Path, "the session ended: sent to sign in at the provider")
}

// A tenant has at most MaxLiveTenantTokens live tokens: past it, the page refuses to issue one and
// says to revoke one first; a revoked token frees its place.
func TestLiveTokensAreCapped(t *testing.T) {
	e := newEnv(t)
	var last registry.TenantToken
	for range console.MaxLiveTenantTokens {
		tok, _, err := e.reg.IssueTenantTokenBy(t.Context(), "acme", bob)
		require.NoError(t, err)
		last = tok
	}
	b := e.browser()
	token := csrf(t, b.signIn("bob", bobPassword))
	p := b.post(console.Prefix+"organization/tokens", url.Values{"csrf": {token}}, nil)
	assert.Equal(t, http.StatusConflict, p.status)
	assert.Contains(t, p.body, "revoke one it no longer uses first")
	list, err := e.reg.TenantTokens(t.Context(), "acme")
	require.NoError(t, err)
	assert.Len(t, list, console.MaxLiveTenantTokens, "none issued")

	_, err = e.reg.RevokeTenantToken(t.Context(), "acme", last.ID, bob)
	require.NoError(t, err)
	p = b.post(console.Prefix+"organization/tokens", url.Values{"csrf": {token}}, nil)
	assert.Equal(t, http.StatusOK, p.status, "a revoked token frees its place")
}
