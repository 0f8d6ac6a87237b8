package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/console"
)

// Review: GATEWAY_TEMPLATE_URL names the published support-gateway template, and the console's
// single-account link uses it. The StackSet, though, deploys in every account of the chosen OUs
// whatever its TemplateURL parameter says, and the console neither passes it in the StackSet's
// quick-create link nor in the StackSet template it offers to download (the committed file, whose
// default is https://doit-support.s3.amazonaws.com/doit-support.json, in the group "leave as they
// are"). A vendor whose GATEWAY_TEMPLATE_URL is another (its own bucket, a new version path) has its
// customers deploy, organization-wide and with CAPABILITY_NAMED_IAM, whatever that other URL
// serves. Both of the page's ways must deploy the template GATEWAY_TEMPLATE_URL names.
func TestReviewTheStackSetDeploysTheConfiguredGatewayTemplate(t *testing.T) {
	const published = "https://other-vendor-templates.s3.amazonaws.com/v2026.11.0/support-gateway.json"
	saved := links
	links.GatewayTemplateURL = published
	t.Cleanup(func() { links = saved })
	e := newEnv(t)
	b := e.browser()
	token := csrf(t, b.signIn("bob", bobPassword))
	p := b.post(console.Prefix+"organization/tokens", url.Values{"csrf": {token}}, nil)
	require.Equal(t, http.StatusOK, p.status)

	assert.Contains(t, link(p, "gateway-quick-create"), "templateURL="+url.QueryEscape(published), "the one-account link: as configured")
	stackset := link(p, "stackset-quick-create")
	require.NotEmpty(t, stackset)
	assert.Contains(t, stackset, "param_TemplateURL="+url.QueryEscape(published), "the StackSet's member template: as configured")

	// without a published StackSet, the downloaded template is what the customer uploads
	links.StackSetTemplateURL = ""
	e = newEnv(t)
	b = e.browser()
	b.signIn("bob", bobPassword)
	tpl := b.get(console.Prefix + "templates/support-gateway-stackset.yaml?download")
	require.Equal(t, http.StatusOK, tpl.status)
	assert.True(t, strings.Contains(tpl.body, published), "the downloaded StackSet deploys the configured template, not %s",
		"https://doit-support.s3.amazonaws.com/doit-support.json")
}
