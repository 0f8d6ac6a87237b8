package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/test/cfntemplate"
	"gopkg.in/yaml.v3"
)

var (
	synthOnce  sync.Once
	synthFiles map[string][]byte
	synthErr   error
)

// synthesized returns the templates the app synthesizes now, synthesizing once per test binary.
func synthesized(t *testing.T) map[string][]byte {
	t.Helper()
	synthOnce.Do(func() { synthFiles, synthErr = synthesize(t.TempDir()) })
	require.NoError(t, synthErr)
	return synthFiles
}

func synthesize(outdir string) (map[string][]byte, error) {
	context, err := readContext("../cdk.json")
	if err != nil {
		return nil, err
	}
	cfg, err := ConfigFromContext(context)
	if err != nil {
		return nil, err
	}
	return Export(NewApp(cfg, context, outdir).Synth(nil))
}

// template is one synthesized template, parsed.
func template(t *testing.T, path string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, yaml.Unmarshal(synthesized(t)[path], &m))
	return m
}

func TestCommittedTemplatesAreCurrent(t *testing.T) {
	for path, want := range synthesized(t) {
		got, err := os.ReadFile(filepath.Join("..", path))
		require.NoError(t, err, "the template %s is not committed: run `make templates`", path)
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the CDK app synthesizes (%s): run `make templates` and commit the result",
				path, firstDifference(got, want))
		}
	}
}

func firstDifference(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d: committed %q, synthesized %q", i+1, x, y)
		}
	}
	return "same lines, different bytes"
}

func TestSynthesisIsReproducible(t *testing.T) {
	again, err := synthesize(t.TempDir())
	require.NoError(t, err)
	for path, first := range synthesized(t) {
		assert.Equal(t, string(first), string(again[path]), path)
	}
}

func TestTemplatesAreStandalone(t *testing.T) {
	for _, p := range Templates {
		t.Run(p.path, func(t *testing.T) {
			text := string(synthesized(t)[p.path])
			for _, banned := range []string{"CDKMetadata", "BootstrapVersion", "aws:cdk", "cdk-nag", "Transform", "AssetParameters"} {
				assert.NotContains(t, text, banned)
			}
			tpl := template(t, p.path)
			assert.Equal(t, "2010-09-09", tpl["AWSTemplateFormatVersion"])
			assert.LessOrEqual(t, len(tpl["Description"].(string)), 1024, "CloudFormation's limit on Description")
			for id, r := range tpl["Resources"].(map[string]any) {
				assert.NotContains(t, r, "Metadata", "resource %s", id)
			}
		})
	}
}

// Seed 000's template must update in place: same parameters, outputs, logical IDs, types and every
// property whose change would replace a resource.
func TestManagementRoleUpdatesSeedStacksInPlace(t *testing.T) {
	tpl := template(t, "templates/management-role.yaml")
	params, resources, outputs := tpl["Parameters"].(map[string]any), tpl["Resources"].(map[string]any), tpl["Outputs"].(map[string]any)
	for _, name := range []string{"AccountNumberParameter", "ServiceToken"} {
		require.Contains(t, params, name)
		assert.Equal(t, "String", params[name].(map[string]any)["Type"])
	}
	for id, typ := range map[string]string{"AssumeableRole": "AWS::IAM::Role", "CustomerPolicy": "AWS::IAM::Policy", "Hook": "Custom::Hook"} {
		require.Contains(t, resources, id)
		assert.Equal(t, typ, resources[id].(map[string]any)["Type"], id)
	}
	role := props(resources, "AssumeableRole")
	assert.Equal(t, "DoiT_Management_Role_DO-NOT-DELETE", role["RoleName"])
	assert.NotContains(t, role, "Path", "a Path would replace the seed's role")
	pol := props(resources, "CustomerPolicy")
	assert.Equal(t, "DoiT_Customer_Policy_DO-NOT-DELETE", pol["PolicyName"])
	assert.Equal(t, []any{map[string]any{"Ref": "AssumeableRole"}}, pol["Roles"])
	hook := props(resources, "Hook")
	assert.Equal(t, map[string]any{"Ref": "ServiceToken"}, hook["ServiceToken"], "a new ServiceToken value replaces the hook")
	assert.Equal(t, map[string]any{"Fn::GetAtt": []any{"AssumeableRole", "Arn"}}, hook["RoleArn"])
	assert.Equal(t, map[string]any{"Ref": "AWS::AccountId"}, hook["AccountId"])
	assert.Equal(t, map[string]any{"Value": map[string]any{"Ref": "AssumeableRole"}, "Description": "The management role"}, outputs["RoleName"])
	assert.Equal(t, map[string]any{"Fn::GetAtt": []any{"AssumeableRole", "Arn"}}, outputs["RoleArn"].(map[string]any)["Value"])
}

func TestManagementRoleAdditions(t *testing.T) {
	tpl := template(t, "templates/management-role.yaml")
	resources := tpl["Resources"].(map[string]any)
	param := tpl["Parameters"].(map[string]any)["ExternalId"].(map[string]any)
	assert.NotContains(t, param, "Default", "the ExternalId must be given")
	assert.Equal(t, true, param["NoEcho"], "issue 9 A.3/A.4: DescribeStacks must not show it to the stack's readers")
	hook := resources["Hook"].(map[string]any)
	assert.Equal(t, []any{"CustomerPolicy"}, hook["DependsOn"], "the hook's Delete runs while the management policy exists")
	hp := hook["Properties"].(map[string]any)
	assert.Equal(t, map[string]any{"Ref": "SupportBoundary"}, hp["BoundaryArn"], "the hook depends on the boundary")
	assert.Equal(t, map[string]any{"Ref": "ExternalId"}, hp["ExternalId"])
	assert.Equal(t, policy.TemplateVersion, hp["TemplateVersion"])
	timeout := hp["ServiceTimeout"].(int)
	assert.True(t, timeout >= 60 && timeout <= 900, "ServiceTimeout %d: minutes, not an hour", timeout)
	boundary := props(resources, "SupportBoundary")
	assert.Equal(t, "AWS::IAM::ManagedPolicy", resources["SupportBoundary"].(map[string]any)["Type"])
	assert.Equal(t, "DoiT_Support_Boundary_DO-NOT-DELETE", boundary["ManagedPolicyName"])
	assertRegionPinned(t, tpl)
}

func TestSupportGatewayDeploysWithSeedParametersOnly(t *testing.T) {
	tpl := template(t, "templates/support-gateway.json")
	for name, p := range tpl["Parameters"].(map[string]any) {
		assert.Contains(t, p, "Default", "parameter %s: the seed's StackSet passes only two parameters", name)
	}
	for _, name := range []string{"AllowSupportRunbooksExecutions", "GrantDiagnosticToolAccess"} {
		p := tpl["Parameters"].(map[string]any)[name].(map[string]any)
		assert.Equal(t, "false", p["Default"])
		assert.Equal(t, []any{"true", "false"}, p["AllowedValues"])
	}
	resources := tpl["Resources"].(map[string]any)
	role := props(resources, "SupportGatewayRole")
	assert.Equal(t, "DoiT-Support-Gateway", role["RoleName"])
	assert.Equal(t, 3600, role["MaxSessionDuration"])
	assert.Equal(t, []any{
		map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/SecurityAudit"},
		map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSSupportAccess"},
	}, role["ManagedPolicyArns"])
	for _, id := range []string{"PrimaryIdentityProvider", "StandbyIdentityProvider"} {
		assert.Equal(t, "AWS::IAM::OIDCProvider", resources[id].(map[string]any)["Type"])
	}
	hook := props(resources, "Hook")
	assert.Equal(t, map[string]any{"Ref": "TenantToken"}, hook["TenantToken"])
	assert.Equal(t, "", tpl["Parameters"].(map[string]any)["TenantToken"].(map[string]any)["Default"])
	assert.Equal(t, true, tpl["Parameters"].(map[string]any)["TenantToken"].(map[string]any)["NoEcho"])
	// issue 9: the role carries the stack's token, the account's own word on its organization, which
	// the vendor reads when it proves the role (an event's token is only a claim)
	roleTags := props(tpl["Resources"].(map[string]any), "SupportGatewayRole")["Tags"].([]any)
	assert.Contains(t, roleTags, map[string]any{"Key": "DoiTTenantToken", "Value": map[string]any{"Ref": "TenantToken"}})
	assert.Equal(t, policy.TenantTokenPattern, tpl["Parameters"].(map[string]any)["TenantToken"].(map[string]any)["AllowedPattern"],
		"what an IAM tag value may hold")
	assertRegionPinned(t, tpl)
}

func TestStackSetFollowsSeed(t *testing.T) {
	tpl := template(t, "stacksets/support-gateway-stackset.yaml")
	ou := tpl["Parameters"].(map[string]any)["OrganizationalUnitIds"].(map[string]any)
	assert.Equal(t, "CommaDelimitedList", ou["Type"])
	assert.Equal(t, `^(ou-|r-)[a-z0-9-]+(?:,( )*(ou-|r-)[a-z0-9-]+)*$`, ou["AllowedPattern"], "seed 002's pattern")
	url := tpl["Parameters"].(map[string]any)["TemplateURL"].(map[string]any)
	assert.Equal(t, DefaultConfig().GatewayTemplateURL, url["Default"])
	set := props(tpl["Resources"].(map[string]any), "StackSetMember")
	assert.Equal(t, "SERVICE_MANAGED", set["PermissionModel"])
	assert.Equal(t, map[string]any{"Enabled": true, "RetainStacksOnAccountRemoval": false}, set["AutoDeployment"])
	assert.Equal(t, []any{"CAPABILITY_NAMED_IAM"}, set["Capabilities"])
	assert.Equal(t, map[string]any{"Ref": "TemplateURL"}, set["TemplateURL"])
	group := set["StackInstancesGroup"].([]any)[0].(map[string]any)
	assert.Equal(t, []any{"us-east-1"}, group["Regions"])
	passed := map[string]any{}
	for _, p := range set["Parameters"].([]any) {
		passed[p.(map[string]any)["ParameterKey"].(string)] = p.(map[string]any)["ParameterValue"]
	}
	assert.Equal(t, map[string]any{"Ref": "TenantToken"}, passed["TenantToken"])
	assert.Contains(t, passed, "AllowSupportRunbooksExecutions")
	assert.Contains(t, passed, "GrantDiagnosticToolAccess")
	// every parameter the StackSet passes exists in the gateway template
	gw := template(t, "templates/support-gateway.json")["Parameters"].(map[string]any)
	for key := range passed {
		assert.Contains(t, gw, key)
	}
	assert.Contains(t, tpl["Description"], "management account")

	// a thousand accounts: not one at a time (under STRICT_FAILURE_TOLERANCE the concurrency is at
	// most the failure tolerance + 1), and one account's failure does not stop the organization's
	assert.Equal(t, map[string]any{"ConcurrencyMode": "SOFT_FAILURE_TOLERANCE", "MaxConcurrentCount": stackSetMaxConcurrentCount,
		"FailureTolerancePercentage": stackSetFailureTolerancePercent, "RegionConcurrencyType": "PARALLEL"}, set["OperationPreferences"])

	// the management account, which the stack set never reaches: the same gateway template, with the
	// same parameters, only when the customer chose it
	cover := tpl["Parameters"].(map[string]any)["CoverManagementAccount"].(map[string]any)
	assert.Equal(t, "false", cover["Default"], "opt-in: the management account is the organization's most privileged")
	here := tpl["Resources"].(map[string]any)["ManagementAccountGateway"].(map[string]any)
	assert.Equal(t, "AWS::CloudFormation::Stack", here["Type"])
	assert.Equal(t, "CoverManagementAccountChosen", here["Condition"])
	assert.Equal(t, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "CoverManagementAccount"}, "true"}},
		tpl["Conditions"].(map[string]any)["CoverManagementAccountChosen"])
	hp := here["Properties"].(map[string]any)
	assert.Equal(t, set["TemplateURL"], hp["TemplateURL"], "the template the members deploy")
	nested := map[string]any{}
	for k, v := range hp["Parameters"].(map[string]any) {
		nested[k] = v
	}
	assert.Equal(t, passed, nested, "the parameters the members get")
}

// Every parameter appears once in the console's groups and has a label.
func TestConsoleFormCoversEveryParameter(t *testing.T) {
	for _, p := range Templates {
		t.Run(p.path, func(t *testing.T) {
			tpl := template(t, p.path)
			iface := tpl["Metadata"].(map[string]any)["AWS::CloudFormation::Interface"].(map[string]any)
			seen := map[string]int{}
			for _, g := range iface["ParameterGroups"].([]any) {
				assert.NotEmpty(t, g.(map[string]any)["Label"].(map[string]any)["default"])
				for _, name := range g.(map[string]any)["Parameters"].([]any) {
					seen[name.(string)]++
				}
			}
			labels := iface["ParameterLabels"].(map[string]any)
			for name, param := range tpl["Parameters"].(map[string]any) {
				assert.Equal(t, 1, seen[name], "parameter %s in the groups", name)
				assert.Contains(t, labels, name)
				assert.NotEmpty(t, param.(map[string]any)["Description"], "parameter %s", name)
			}
			assert.Len(t, seen, len(tpl["Parameters"].(map[string]any)))
		})
	}
}

// The templates carry exactly the documents of internal/policy: rendered for a concrete account,
// each policy in a template is equivalent to the Go value.
func TestTemplatesCarryThePolicyDocuments(t *testing.T) {
	v := DefaultVendor()
	acct := policy.Target{Partition: "aws", AccountID: "111122223333"}
	vars := map[string]string{
		"AWS::Partition": "aws", "AWS::AccountId": "111122223333",
		"AccountNumberParameter": "999988887777", "ExternalId": "ext-0123456789abcdef",
	}
	mgmt := template(t, "templates/management-role.yaml")["Resources"].(map[string]any)
	gw := template(t, "templates/support-gateway.json")["Resources"].(map[string]any)
	gwRole := props(gw, "SupportGatewayRole")
	inline := map[string]any{}
	for _, p := range gwRole["Policies"].([]any) {
		m := p.(map[string]any)
		if ifs, ok := m["Fn::If"]; ok {
			m = ifs.([]any)[1].(map[string]any)
		}
		inline[m["PolicyName"].(string)] = m["PolicyDocument"]
	}
	perms := policy.GatewayPermissions(acct)
	cases := map[string]struct {
		inTemplate any
		want       policy.Document
	}{
		"management trust":  {props(mgmt, "AssumeableRole")["AssumeRolePolicyDocument"], v.ManagementTrust(acct, "999988887777", "ext-0123456789abcdef")},
		"management policy": {props(mgmt, "CustomerPolicy")["PolicyDocument"], v.ManagementPolicy(acct)},
		"boundary":          {props(mgmt, "SupportBoundary")["PolicyDocument"], v.Boundary(acct)},
		"gateway trust":     {gwRole["AssumeRolePolicyDocument"], v.WebIdentityTrust(acct)},
		"gateway base":      {inline["DoiT-Support-Base"], perms.Base},
		"gateway runbooks":  {inline["DoiT-Support-Runbooks"], perms.Runbooks},
		"gateway diagnosis": {inline["DoiT-Support-Diagnostics"], perms.Diagnostic},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			require.NotNil(t, tc.inTemplate)
			got := resolveDocument(t, tc.inTemplate, vars)
			assert.True(t, policy.Equivalent(tc.want, got), "template:\n%s\nGo:\n%s", got.JSON(), tc.want.JSON())
		})
	}
}

func TestConfigFromContext(t *testing.T) {
	c, err := ConfigFromContext(map[string]any{ctxVendorName: "Acme", ctxVendorAccount: "210987654321"})
	require.NoError(t, err)
	assert.Equal(t, "Acme_Management_Role_DO-NOT-DELETE", c.Vendor.ManagementRoleName())
	assert.Equal(t, "210987654321", c.VendorAccountID)
	for name, ctx := range map[string]map[string]any{
		"short account":  {ctxVendorAccount: "1234"},
		"not a string":   {ctxVendorName: 7},
		"host with path": {ctxIssuerPrimary: "oidc.example.com/x"},
	} {
		_, err := ConfigFromContext(ctx)
		assert.Error(t, err, name)
	}
}

// DefaultVendor is the vendor of the committed cdk.json.
func DefaultVendor() policy.Vendor {
	return DefaultConfig().Vendor
}

func props(resources map[string]any, id string) map[string]any {
	return resources[id].(map[string]any)["Properties"].(map[string]any)
}

func assertRegionPinned(t *testing.T, tpl map[string]any) {
	t.Helper()
	rule := tpl["Rules"].(map[string]any)["DeployInUsEast1"].(map[string]any)
	a := rule["Assertions"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AWS::Region"}, "us-east-1"}}, a["Assert"])
	assert.NotEmpty(t, a["AssertDescription"])
}

// resolveDocument evaluates the Fn::Sub and Ref of a policy document in a template, the only
// intrinsics policies use here, and parses the result.
func resolveDocument(t *testing.T, v any, vars map[string]string) policy.Document {
	t.Helper()
	resolved, err := cfntemplate.Resolve(v, vars)
	require.NoError(t, err)
	text, ok := resolved.(string)
	if !ok {
		b, err := json.Marshal(resolved)
		require.NoError(t, err)
		text = string(b)
	}
	d, err := policy.Parse(text)
	require.NoError(t, err)
	return d
}
