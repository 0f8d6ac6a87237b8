package hook

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/policy"
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
	require.Error(t, err)
	for _, want := range []string{"VENDOR_ACCOUNT_ID", "template's URL is not configured", "HOOK_TOPIC_ARN: required"} {
		assert.Contains(t, err.Error(), want)
	}
	bad := linkConfig
	bad.HookTopicARN = "not-an-arn"
	_, err = Link(t.Context(), f.reg, bad, "t", acct)
	assert.ErrorContains(t, err, `onboarding link: HOOK_TOPIC_ARN: "not-an-arn" is not an ARN`)
	_, found, err := f.reg.Get(t.Context(), acct, registry.Management)
	require.NoError(t, err)
	assert.False(t, found, "nothing recorded")
}

// HOOK_TOPIC_ARN goes into the customer's quick-create link as the management template's
// ServiceToken: it is refused unless the template admits it (policy.ServiceTokenPattern) and the
// hook answers to it (the vendor account's topic or function), before anything is recorded.
func TestLinkConfigChecksTheHookTopic(t *testing.T) {
	tests := map[string]struct {
		arn     string
		wantErr string // "": accepted
	}{
		"the vendor's topic in us-east-1": {arn: topic},
		"the vendor's hook function":      {arn: "arn:aws:lambda:us-east-1:" + vendor + ":function:doit-support-gateway-hook"},
		"the function's alias":            {arn: "arn:aws:lambda:us-east-1:" + vendor + ":function:doit-support-gateway-hook:live"},
		"empty":                           {arn: "", wantErr: "HOOK_TOPIC_ARN: required"},
		"not an ARN":                      {arn: "not-an-arn", wantErr: `HOOK_TOPIC_ARN: "not-an-arn" is not an ARN`},
		"a topic name only":               {arn: "doit-support-gateway-hook", wantErr: "is not an ARN"},
		"a topic in another account": {arn: "arn:aws:sns:us-east-1:111111111111:doit-support-gateway-hook",
			wantErr: `is in account "111111111111", want VENDOR_ACCOUNT_ID "` + vendor + `"`},
		"a topic in another region": {arn: "arn:aws:sns:eu-west-1:" + vendor + ":doit-support-gateway-hook",
			wantErr: `is in "eu-west-1", want us-east-1`},
		"a topic in another partition": {arn: "arn:aws-us-gov:sns:us-gov-west-1:" + vendor + ":doit-support-gateway-hook",
			wantErr: `is in partition "aws-us-gov", want aws`},
		"another partition's name in us-east-1": {arn: "arn:aws-cn:sns:us-east-1:" + vendor + ":doit-support-gateway-hook",
			wantErr: `is in partition "aws-cn", want aws`},
		"a queue, not a topic": {arn: "arn:aws:sqs:us-east-1:" + vendor + ":doit-support-gateway-hook",
			wantErr: "is an ARN of sqs"},
		"a FIFO topic": {arn: "arn:aws:sns:us-east-1:" + vendor + ":doit-support-gateway-hook.fifo",
			wantErr: "does not name a standard SNS topic"},
		"a subscription, not a topic": {arn: topic + ":6b0e71bd-7e97-4d97-80ce-4a0994e55286",
			wantErr: "does not name a standard SNS topic"},
		"a Lambda layer, not a function": {arn: "arn:aws:lambda:us-east-1:" + vendor + ":layer:hook:1",
			wantErr: "does not name a Lambda function"},
		"$LATEST, which the template refuses": {arn: "arn:aws:lambda:us-east-1:" + vendor + ":function:hook:$LATEST",
			wantErr: "does not name a Lambda function"},
		"a space at the end": {arn: topic + " ", wantErr: "does not name a standard SNS topic"},
	}
	template := regexp.MustCompile(policy.ServiceTokenPattern)
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c := linkConfig
			c.HookTopicARN = tt.arn
			err := c.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.True(t, template.MatchString(tt.arn), "what the link accepts, the template admits")
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Contains(t, err.Error(), "HOOK_TOPIC_ARN: ", "the message names the variable")
		})
	}

	// the account is checked against VENDOR_ACCOUNT_ID, whatever it is
	c := linkConfig
	c.VendorAccountID = "12"
	c.HookTopicARN = "arn:aws:sns:us-east-1:12:doit-support-gateway-hook"
	err := c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `VENDOR_ACCOUNT_ID: "12" is not a 12-digit AWS account ID`)
	assert.Contains(t, err.Error(), "is not what the management template's ServiceToken admits")
}
