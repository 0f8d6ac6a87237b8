package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	iam "github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/supportaccess/gateway/internal/policy"
)

// NewManagementRoleStack is templates/management-role.yaml: seed 000's template, improved. The
// parameters, outputs, names and logical IDs (AssumeableRole, CustomerPolicy, Hook) are the seed's,
// so a stack created from the old template updates in place without replacing anything.
func NewManagementRoleStack(scope constructs.Construct, id string, c Config) awscdk.Stack {
	v := c.Vendor
	stack := newStandaloneStack(scope, id, "Support access to AWS, management role (v"+policy.TemplateVersion+"). "+
		"Lets "+v.Name+"'s backend, and only it, presenting your ExternalId, create, update and delete the "+
		v.SupportRoleName()+" role, its policy and its two identity providers in this account, and nothing else. "+
		"The role can never exceed the permissions boundary "+v.BoundaryName()+", which this stack creates and you own. "+
		"Delete the stack to revoke all access. Deploy in us-east-1.")
	requireRegion(stack)

	p := addParameters(stack, capabilities(v), group{
		title: v.Name + " support (filled in by " + v.Name + "'s link: do not change)",
		params: []param{
			{id: "AccountNumberParameter", label: v.Name + " account ID",
				description: "The AWS account of " + v.Name + "'s support backend. Only the role " + v.BackendRoleName +
					" in this account can assume the management role.",
				props: awscdk.CfnParameterProps{AllowedPattern: jsii.String(`^\d{12}$`),
					ConstraintDescription: jsii.String("must be a 12-digit AWS account ID")}},
			{id: "ExternalId", label: "External ID",
				description: "The external ID " + v.Name + " issued for this account. The management role can be " +
					"assumed only with it, so no other " + v.Name + " customer can make " + v.Name + " act on this account.",
				// NoEcho: DescribeStacks and the console show it masked, so a stack's readers (support
				// sessions included) cannot forge its Updates and Deletes with it. The management role's
				// trust policy still holds it (iam:GetRole): see the README's trust model.
				props: awscdk.CfnParameterProps{AllowedPattern: jsii.String(`^[A-Za-z0-9+=,.@:/_-]{16,1224}$`), NoEcho: jsii.Bool(true),
					ConstraintDescription: jsii.String("must be the 16 to 1224 character external ID from " + v.Name + "'s link")}},
			{id: "ServiceToken", label: "Notification target",
				description: "The " + v.Name + " SNS topic (or Lambda function) in us-east-1 that this stack notifies " +
					"when it is created, updated or deleted, so nobody has to copy role ARNs by hand.",
				props: awscdk.CfnParameterProps{AllowedPattern: jsii.String(policy.ServiceTokenPattern),
					ConstraintDescription: jsii.String("must be an SNS topic or Lambda function ARN in us-east-1")}},
		},
	})

	boundary := iam.NewCfnManagedPolicy(stack, jsii.String("SupportBoundary"), &iam.CfnManagedPolicyProps{
		ManagedPolicyName: jsii.String(v.BoundaryName()),
		Description: jsii.String("Yours, not " + v.Name + "'s: the most the " + v.SupportRoleName() + " role can ever do " +
			"(metadata reads, support cases, quota requests; no data reads, no writes). " + v.Name + " cannot edit or remove it."),
		PolicyDocument: cfnDocument(v.Boundary(policy.Template)),
	})

	role := iam.NewCfnRole(stack, jsii.String("AssumeableRole"), &iam.CfnRoleProps{
		RoleName:    jsii.String(v.ManagementRoleName()),
		Description: jsii.String("Assumed by " + v.Name + "'s backend with your ExternalId to manage the " + v.SupportRoleName() + " role."),
		AssumeRolePolicyDocument: cfnDocument(v.ManagementTrust(policy.Template,
			"${AccountNumberParameter}", "${ExternalId}")),
		MaxSessionDuration: jsii.Number(3600),
		Tags:               tags(v),
	})

	mgmt := iam.NewCfnPolicy(stack, jsii.String("CustomerPolicy"), &iam.CfnPolicyProps{
		PolicyName:     jsii.String(v.ManagementPolicyName()),
		PolicyDocument: cfnDocument(v.ManagementPolicy(policy.Template)),
		Roles:          &[]*string{role.Ref()},
	})

	hook := awscdk.NewCfnResource(stack, jsii.String("Hook"), &awscdk.CfnResourceProps{
		Type: jsii.String("Custom::Hook"),
		Properties: &map[string]any{
			"ServiceToken":    p["ServiceToken"].ValueAsString(),
			"ServiceTimeout":  hookServiceTimeout,
			"RoleArn":         role.AttrArn(),
			"AccountId":       awscdk.Aws_ACCOUNT_ID(),
			"ExternalId":      p["ExternalId"].ValueAsString(),
			"BoundaryArn":     boundary.Ref(),
			"Runbooks":        p["AllowSupportRunbooksExecutions"].ValueAsString(),
			"DiagnosticTool":  p["GrantDiagnosticToolAccess"].ValueAsString(),
			"TemplateVersion": policy.TemplateVersion,
		},
	})
	// The hook's Delete must run while the management role still works, so that the vendor can
	// remove what it created: CloudFormation deletes the hook before what it depends on. (It also
	// depends on the boundary, through the BoundaryArn Ref.)
	hook.AddResourceDependency(mgmt, jsii.String("the hook deletes the support role through this policy"))

	awscdk.NewCfnOutput(stack, jsii.String("RoleName"), &awscdk.CfnOutputProps{
		Description: jsii.String("The management role"), Value: role.Ref()})
	awscdk.NewCfnOutput(stack, jsii.String("RoleArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("The management role's ARN"), Value: role.AttrArn()})
	awscdk.NewCfnOutput(stack, jsii.String("BoundaryArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("The permissions boundary you own"), Value: boundary.Ref()})
	return stack
}
