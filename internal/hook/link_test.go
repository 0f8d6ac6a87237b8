package hook

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/registry"
)

var linkConfig = LinkConfig{
	TemplateURL:     "https://doit-aws-ops-prod-templates.s3.amazonaws.com/doitmanagement.yaml",
	HookTopicARN:    topic,
	VendorAccountID: vendor,
}

func TestLinkRecordsAPendingOnboarding(t *testing.T) {
	f := newFixture(t)
	link, err := Link(t.Context(), f.reg, linkConfig, "tenant-1", acct)
	require.NoError(t, err)

	base, fragment, ok := strings.Cut(link, "#")
	require.True(t, ok)
	assert.Equal(t, "https://console.aws.amazon.com/cloudformation/home?region=us-east-1", base)
	path, query, ok := strings.Cut(fragment, "?")
	require.True(t, ok)
	assert.Equal(t, "/stacks/quickcreate", path)
	params, err := url.ParseQuery(query)
	require.NoError(t, err)
	assert.Equal(t, linkConfig.TemplateURL, params.Get("templateURL"))
	assert.Equal(t, "doit-management-role", params.Get("stackName"))
	assert.Equal(t, topic, params.Get("param_ServiceToken"))
	assert.Equal(t, vendor, params.Get("param_AccountNumberParameter"))

	o, found, err := f.reg.Get(t.Context(), acct, registry.Management)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, registry.Pending, o.Status)
	assert.Equal(t, "tenant-1", o.Tenant)
	assert.Equal(t, o.ExternalID, params.Get("param_ExternalId"), "the link carries the recorded ExternalId")

	again, err := Link(t.Context(), f.reg, linkConfig, "tenant-1", acct)
	require.NoError(t, err)
	assert.NotEqual(t, link, again, "a new link has a fresh ExternalId")
}

func TestLinkRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	_, err := Link(t.Context(), f.reg, linkConfig, "", acct)
	assert.ErrorContains(t, err, "tenant is empty")
	_, err = Link(t.Context(), f.reg, linkConfig, "t", "12345")
	assert.ErrorContains(t, err, "12-digit")
	_, err = Link(t.Context(), f.reg, LinkConfig{}, "t", acct)
	assert.ErrorContains(t, err, "must be configured")
	_, found, err := f.reg.Get(t.Context(), acct, registry.Management)
	require.NoError(t, err)
	assert.False(t, found, "nothing recorded")
}
