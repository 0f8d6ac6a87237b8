package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/test/cfntemplate"
)

// The committed templates' resources are created after what they refer to: the Hook last.
func TestCreationOrderOfTheCommittedTemplates(t *testing.T) {
	for path, want := range map[string][]string{
		"../../" + ManagementTemplate: {"AssumeableRole", "SupportBoundary", "CustomerPolicy", "Hook"},
		"../../" + GatewayTemplate:    {"PrimaryIdentityProvider", "StandbyIdentityProvider", "SupportGatewayRole", "Hook"},
	} {
		tpl, err := cfntemplate.Load(path)
		require.NoError(t, err)
		got, err := creationOrder(tpl)
		require.NoError(t, err)
		assert.Equal(t, want, got, path)
	}
}

func TestCreationOrderRefusesACycle(t *testing.T) {
	_, err := creationOrder(cfntemplate.Template{"Resources": map[string]any{
		"A": map[string]any{"Properties": map[string]any{"X": map[string]any{"Fn::GetAtt": []any{"B", "Arn"}}}},
		"B": map[string]any{"Properties": map[string]any{"X": map[string]any{"Fn::Sub": "${A}/x"}}},
	}})
	assert.ErrorContains(t, err, "cycle")
}

func TestParametersAreCheckedAgainstTheTemplate(t *testing.T) {
	tpl, err := cfntemplate.Load("../../" + ManagementTemplate)
	require.NoError(t, err)
	ok := map[string]string{"ExternalId": "ext-0123456789abcdef", "ServiceToken": HookTopic, "AccountNumberParameter": VendorAccount}
	got, err := parameters(tpl, ok)
	require.NoError(t, err)
	assert.Equal(t, "false", got["GrantDiagnosticToolAccess"], "defaulted")

	for name, change := range map[string][2]string{
		"missing":        {"ExternalId", ""},
		"not allowed":    {"GrantDiagnosticToolAccess", "yes"},
		"pattern":        {"AccountNumberParameter", "12345"},
		"not a template": {"Nope", "x"},
	} {
		given := map[string]string{}
		for k, v := range ok {
			given[k] = v
		}
		if change[1] == "" {
			delete(given, change[0])
		} else {
			given[change[0]] = change[1]
		}
		_, err := parameters(tpl, given)
		assert.Error(t, err, name)
	}
}

// The vendor's onboarding link opens the committed management template with its parameters.
func TestParseQuickCreateReadsTheOnboardingLink(t *testing.T) {
	link := hook.QuickCreateURL(hook.LinkConfig{TemplateURL: "https://doit-aws-ops-prod-templates.s3.amazonaws.com/doitmanagement.yaml",
		HookTopicARN: HookTopic, VendorAccountID: VendorAccount}, "ext-0123456789abcdef")
	in, err := ParseQuickCreate(link)
	require.NoError(t, err)
	assert.Equal(t, StackInput{Name: "doit-management-role", Template: ManagementTemplate, Parameters: map[string]string{
		"ExternalId": "ext-0123456789abcdef", "ServiceToken": HookTopic, "AccountNumberParameter": VendorAccount}}, in)

	_, err = ParseQuickCreate("https://console.aws.amazon.com/cloudformation/home#/stacks/quickcreate?templateURL=https%3A%2F%2Fevil.example%2Ft.yaml&stackName=x")
	assert.ErrorContains(t, err, "not one the vendor publishes")
}
