package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/console"
)

// Review: the access log's type filter now offers "Configured", and docs/backend.md says issuing a
// link or a token and revoking a token are audited as CONFIGURED events. But the log reads only
// the partitions of the tenant's usable accounts: a token's events have no account (filed under
// the person alone), and a new link is only ever made for an account that is pending or removed,
// whose partition the log does not read (and the broker refuses a customer's read of). So a
// customer never sees, in its own access log, who issued or revoked the organization's tenant
// tokens (credentials that bind accounts to it), nor who replaced an ExternalId: the filter is
// always empty.
func TestReviewConfiguredEventsReachTheCustomersLog(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	token := csrf(t, b.signIn("bob", bobPassword))
	require.Equal(t, http.StatusOK, b.post(console.Prefix+"organization/tokens", url.Values{"csrf": {token}}, nil).status)
	require.Equal(t, http.StatusOK, b.post(console.Prefix+"accounts/"+acmePending+"/link", url.Values{"csrf": {token}}, nil).status)

	p := b.get(console.Prefix + "log?type=CONFIGURED")
	require.Equal(t, http.StatusOK, p.status)
	rows := regexp.MustCompile(`data-testid="event" data-event="[^"]+" data-type="CONFIGURED"`).FindAllString(p.body, -1)
	assert.Len(t, rows, 2, "the token issued and the new link, in acme's access log")
}
