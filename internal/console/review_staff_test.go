package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/auth/localop"
	"github.com/supportaccess/gateway/internal/console"
	"github.com/supportaccess/gateway/internal/registry"
)

// Review: the vendor's staff never decide for a customer (BROKER_STAFF_DOMAINS, docs/backend.md):
// the broker refuses a staff address in a tenant group for approve, dismiss, revoke and
// pre-approve. The console's new actions go to the registry directly, around that rule: a staff
// member in acme's group issues a tenant token for acme (and can then bind any account of their
// own to acme), revokes acme's tokens and replaces the ExternalId of acme's pending onboarding.
func TestReviewStaffCannotConfigureForACustomer(t *testing.T) {
	saved := users
	users = append(slices.Clone(users), localop.User{Username: "eve", Email: "eve@doit.com", Password: "eve-pw",
		Groups: []string{"tenant:acme"}})
	t.Cleanup(func() { users = saved })
	e := newEnv(t)

	// acme's own token, issued by bob
	_, acmeToken, err := e.reg.IssueTenantTokenBy(t.Context(), "acme", bob)
	require.NoError(t, err)
	id := registry.TokenHash(acmeToken)[:registry.TokenIDLength]

	b := e.browser()
	token := csrf(t, b.signIn("eve", "eve-pw"))

	// the broker's rule, as it stands: eve cannot set a standing approval
	p := b.post(console.Prefix+"standing", url.Values{"csrf": {token}, "account": {acmeAccount}, "max": {"1800"}}, nil)
	assert.Contains(t, p.body, "the vendor&#39;s staff never decide for a customer", "the broker refuses staff")

	p = b.post(console.Prefix+"organization/tokens", url.Values{"csrf": {token}}, nil)
	assert.Equal(t, http.StatusForbidden, p.status, "a staff member issuing a tenant token for a customer")
	assert.NotRegexp(t, regexp.MustCompile(`value="tt-[0-9a-f]{64}"`), p.body, "no token shown to staff")

	p = b.post(console.Prefix+"organization/tokens/"+id+"/revoke", url.Values{"csrf": {token}}, nil)
	assert.Equal(t, http.StatusForbidden, p.status, "a staff member revoking a customer's token")
	_, live, err := e.reg.ResolveTenantToken(t.Context(), acmeToken)
	require.NoError(t, err)
	assert.True(t, live, "acme's token is still live")

	p = b.post(console.Prefix+"accounts/"+acmePending+"/link", url.Values{"csrf": {token}}, nil)
	assert.Equal(t, http.StatusForbidden, p.status, "a staff member replacing a customer's ExternalId")
	o, _, err := e.reg.Get(t.Context(), acmePending, registry.Management)
	require.NoError(t, err)
	assert.Equal(t, "ext-1", o.ExternalID, "acme's link still works")

	list, err := e.reg.TenantTokens(t.Context(), "acme")
	require.NoError(t, err)
	assert.Len(t, list, 1, "no token issued by staff")
}
