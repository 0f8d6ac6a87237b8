package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	iam "github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/supportaccess/gateway/internal/policy"
)

// NewSupportGatewayStack is templates/support-gateway.json, seed 002's doit-support.json: two
// identity providers for this account's issuer, the DoiT-Support-Gateway role that trusts only them,
// and a hook that registers the account with the vendor. It deploys with only the two parameters the
// seed's StackSet passes: everything else has a default.
func NewSupportGatewayStack(scope constructs.Construct, id string, c Config) awscdk.Stack {
	v := c.Vendor
	stack := newStandaloneStack(scope, id, "Support access to AWS, support gateway (v"+policy.TemplateVersion+"). "+
		"Creates the "+v.GatewayRoleName()+" role: read-only (SecurityAudit, with object bodies, secrets, parameters, "+
		"table items and decryption denied) plus AWS support cases and service-quota requests, assumable for at most "+
		"one hour only through "+v.Name+"'s two identity providers for this account. Delete the stack to revoke access. "+
		"Deploy in us-east-1.")
	requireRegion(stack)

	defaultToken := "arn:aws:sns:" + Region + ":" + c.VendorAccountID + ":" + v.HookTopicName
	p := addParameters(stack,
		capabilities(v),
		group{title: v.Name + " support (leave as they are)", params: []param{
			{id: "TenantToken", label: "Organization token",
				description: "The token " + v.Name + " issued for your organization; it links this account to your " +
					v.Name + " organization (it is also put on the support role's " + v.TenantTokenTag() + " tag, where " +
					v.Name + " reads it). Leave empty if you have none: the account is then registered unclaimed " +
					"and no access is granted until " + v.Name + " verifies it with you.",
				props: awscdk.CfnParameterProps{Default: jsii.String(""), NoEcho: jsii.Bool(true),
					AllowedPattern:        jsii.String(policy.TenantTokenPattern),
					ConstraintDescription: jsii.String("must be the token exactly as " + v.Name + " issued it")}},
			{id: "ServiceToken", label: "Notification target",
				description: "The " + v.Name + " SNS topic this stack notifies when it is created, updated or deleted.",
				props: awscdk.CfnParameterProps{Default: jsii.String(defaultToken),
					AllowedPattern:        jsii.String(policy.ServiceTokenPattern),
					ConstraintDescription: jsii.String("must be an SNS topic or Lambda function ARN in us-east-1")}},
		}},
	)
	runbooks := awscdk.NewCfnCondition(stack, jsii.String("RunbooksAllowed"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(p["AllowSupportRunbooksExecutions"].ValueAsString(), jsii.String("true"))})
	diagnostic := awscdk.NewCfnCondition(stack, jsii.String("DiagnosticToolAllowed"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(p["GrantDiagnosticToolAccess"].ValueAsString(), jsii.String("true"))})

	var providers []awscdk.CfnResource
	for host, name := range []string{"PrimaryIdentityProvider", "StandbyIdentityProvider"} {
		providers = append(providers, iam.NewCfnOIDCProvider(stack, jsii.String(name), &iam.CfnOIDCProviderProps{
			Url:          sub(v.IssuerURL(policy.Template, host)),
			ClientIdList: subs([]string{v.Audience(policy.Template)}),
			Tags:         tags(v),
		}))
	}

	perms := policy.GatewayPermissions(policy.Template)
	// Inside Fn::If a policy is a plain map: jsii does not rename a struct's fields there.
	optional := func(condition awscdk.CfnCondition, name string, d policy.Document) any {
		return awscdk.Fn_ConditionIf(condition.LogicalId(),
			map[string]any{"PolicyName": name, "PolicyDocument": cfnDocument(d)}, awscdk.Aws_NO_VALUE())
	}
	runbooksPolicy, diagnosticsPolicy := v.GatewayOptionPolicyNames()
	var managed []any
	for _, name := range policy.SupportManagedPolicies {
		managed = append(managed, sub(policy.Template.AWSManagedPolicyARN(name)))
	}
	role := iam.NewCfnRole(stack, jsii.String("SupportGatewayRole"), &iam.CfnRoleProps{
		RoleName:                 jsii.String(v.GatewayRoleName()),
		Description:              jsii.String(v.Name + " support engineers' read-only access, through " + v.Name + "'s identity providers only."),
		AssumeRolePolicyDocument: cfnDocument(v.WebIdentityTrust(policy.Template)),
		ManagedPolicyArns:        &managed,
		Policies: &[]any{
			&iam.CfnRole_PolicyProperty{PolicyName: jsii.String(v.Name + "-Support-Base"), PolicyDocument: cfnDocument(perms.Base)},
			optional(runbooks, runbooksPolicy, perms.Runbooks),
			optional(diagnostic, diagnosticsPolicy, perms.Diagnostic),
		},
		MaxSessionDuration: jsii.Number(3600),
		// The role carries the stack's TenantToken: the account's own word on the organization it
		// belongs to, which the vendor reads when it proves the role (a hook event is only a claim).
		Tags: &[]*awscdk.CfnTag{
			(*tags(v))[0], (*tags(v))[1],
			{Key: jsii.String(v.TenantTokenTag()), Value: p["TenantToken"].ValueAsString()},
		},
	})
	for _, provider := range providers {
		role.AddResourceDependency(provider, jsii.String("the role trusts this provider"))
	}

	awscdk.NewCfnResource(stack, jsii.String("Hook"), &awscdk.CfnResourceProps{
		Type: jsii.String("Custom::Hook"),
		Properties: &map[string]any{
			"ServiceToken":    p["ServiceToken"].ValueAsString(),
			"ServiceTimeout":  hookServiceTimeout,
			"RoleArn":         role.AttrArn(),
			"AccountId":       awscdk.Aws_ACCOUNT_ID(),
			"TenantToken":     p["TenantToken"].ValueAsString(),
			"ProviderArns":    []any{providers[0].Ref(), providers[1].Ref()},
			"Runbooks":        p["AllowSupportRunbooksExecutions"].ValueAsString(),
			"DiagnosticTool":  p["GrantDiagnosticToolAccess"].ValueAsString(),
			"TemplateVersion": policy.TemplateVersion,
		},
	})

	awscdk.NewCfnOutput(stack, jsii.String("RoleName"), &awscdk.CfnOutputProps{
		Description: jsii.String("The support role"), Value: role.Ref()})
	awscdk.NewCfnOutput(stack, jsii.String("RoleArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("The support role's ARN"), Value: role.AttrArn()})
	for i, name := range []string{"PrimaryIdentityProviderArn", "StandbyIdentityProviderArn"} {
		awscdk.NewCfnOutput(stack, jsii.String(name), &awscdk.CfnOutputProps{
			Description: jsii.String("An identity provider the support role trusts"), Value: providers[i].Ref()})
	}
	return stack
}
