package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	cfn "github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/supportaccess/gateway/internal/policy"
)

// managementAccountNote is said in the template and the README: StackSets never reach the
// organization's management account.
const managementAccountNote = "StackSets never deploy to the organization's management account: " +
	"to give support access there too, set CoverManagementAccount to true (this stack then deploys the support-gateway " +
	"template in this account as well), or deploy the support-gateway template in it directly (quick-create link)."

// The StackSet's operation preferences for an organization of a thousand accounts (docs/templates.md,
// "The StackSet at scale"), from CloudFormation's "StackSet operation options":
//   - SOFT_FAILURE_TOLERANCE decouples the concurrency from the failure tolerance. Under the default
//     (STRICT) the concurrency is at most FailureToleranceCount + 1, so a tolerance of 0 deploys one
//     account at a time: hours for a thousand accounts.
//   - stackSetMaxConcurrentCount accounts at once, whatever the organization's size. The vendor's
//     side proves about 4 accounts a second (KMS CreateKey's quota is 5), and every stack beyond
//     the hook's 20 execution environments waits in its queue: at 25 % of 1,000 accounts (250 at
//     once) the Creates' answers took 56 s (p50) and 70 s (p99) in test/burst, and a percentage
//     grows that wait with the organization until it passes the queue's MaxEventAge (300 s, at
//     about 5,000 accounts). 100 at once: answers in 21 s (p50) and 27 s (p99) at 1,000 accounts,
//     4.5 accounts a second proven, 90 % of the quota's bound (make bench, medians of 3 runs).
//   - stackSetFailureTolerancePercent: an account that cannot take the stack (an SCP denying IAM, a
//     suspended account) fails alone; a rollout failing in more accounts than this stops.
//
// They apply to the stack set's operations, not to auto-deployment, which CloudFormation runs as
// accounts join.
const (
	stackSetMaxConcurrentCount      = 100
	stackSetFailureTolerancePercent = 10
)

// NewStackSetStack is stacksets/support-gateway-stackset.yaml, seed 002's StackSet template: it
// rolls the support-gateway template out to every account of the given OUs, and to accounts that
// join them later.
func NewStackSetStack(scope constructs.Construct, id string, c Config) awscdk.Stack {
	v := c.Vendor
	stack := newStandaloneStack(scope, id, v.Name+" Support Role StackSet (v"+policy.TemplateVersion+"): deploys the "+
		"support-gateway template to every member account of the given OUs, in us-east-1, and to accounts that join them later. "+
		managementAccountNote)

	p := addParameters(stack,
		group{title: "Where to deploy", params: []param{
			{id: "OrganizationalUnitIds", label: "Organizational units",
				description: "Provide the organizational root OU ID (Prefix like: r-) to apply to all the accounts under this " +
					"Organization. Otherwise, provide a comma-separated list of OU ids (Prefix like: ou-). " + managementAccountNote,
				props: awscdk.CfnParameterProps{Type: jsii.String("CommaDelimitedList"),
					AllowedPattern:        jsii.String(`^(ou-|r-)[a-z0-9-]+(?:,( )*(ou-|r-)[a-z0-9-]+)*$`),
					ConstraintDescription: jsii.String("must be r-... or a comma-separated list of ou-... IDs")}},
		}},
		group{title: "Optional capabilities", params: []param{
			{id: "AllowSupportRunbooksExecutions", label: "Allow AWS Support runbooks",
				description: "Passed to every account: true lets support engineers run the AWSSupport-* troubleshooting runbooks.",
				props:       trueFalse("false")},
			{id: "GrantDiagnosticToolAccess", label: "Grant diagnostic tool access",
				description: "Passed to every account: true lets " + v.Name + "'s diagnostic tool read metrics, cost and right-sizing data.",
				props:       trueFalse("true")},
		}},
		group{title: "The management account", params: []param{
			{id: "CoverManagementAccount", label: "Support access in this management account too",
				description: "StackSets never deploy to the organization's management account, where this stack runs. true: this stack " +
					"also deploys the support-gateway template here, so " + v.Name + " support can read this account as it reads the " +
					"others (with the same read-only role and boundary). false: this account gets no support access.",
				props: trueFalse("false")},
		}},
		group{title: v.Name + " support (leave as they are)", params: []param{
			{id: "TenantToken", label: "Organization token",
				description: "The token " + v.Name + " issued for your organization, passed to every account so each registers " +
					"under your organization.",
				props: awscdk.CfnParameterProps{Default: jsii.String(""), NoEcho: jsii.Bool(true),
					AllowedPattern: jsii.String(policy.TenantTokenPattern)}},
			{id: "TemplateURL", label: "Support-gateway template",
				description: "The published support-gateway template the StackSet deploys.",
				props: awscdk.CfnParameterProps{Default: jsii.String(c.GatewayTemplateURL),
					AllowedPattern: jsii.String(`^https://[A-Za-z0-9.-]+\.amazonaws\.com/\S+$`)}},
		}},
	)

	passed := func(key string) *cfn.CfnStackSet_ParameterProperty {
		return &cfn.CfnStackSet_ParameterProperty{ParameterKey: jsii.String(key), ParameterValue: p[key].ValueAsString()}
	}
	cfn.NewCfnStackSet(stack, jsii.String("StackSetMember"), &cfn.CfnStackSetProps{
		StackSetName:    jsii.String(strings.ToLower(v.Name) + "-support-gateway-stackset"),
		Description:     jsii.String(v.Name + " support gateway in every account of the chosen OUs"),
		PermissionModel: jsii.String("SERVICE_MANAGED"),
		AutoDeployment: &cfn.CfnStackSet_AutoDeploymentProperty{
			Enabled:                      jsii.Bool(true),
			RetainStacksOnAccountRemoval: jsii.Bool(false),
		},
		Capabilities: jsii.Strings("CAPABILITY_NAMED_IAM"),
		OperationPreferences: &cfn.CfnStackSet_OperationPreferencesProperty{
			ConcurrencyMode:            jsii.String("SOFT_FAILURE_TOLERANCE"),
			MaxConcurrentCount:         jsii.Number(stackSetMaxConcurrentCount),
			FailureTolerancePercentage: jsii.Number(stackSetFailureTolerancePercent),
			RegionConcurrencyType:      jsii.String("PARALLEL"),
		},
		Parameters: &[]any{
			passed("AllowSupportRunbooksExecutions"),
			passed("GrantDiagnosticToolAccess"),
			passed("TenantToken"),
		},
		StackInstancesGroup: &[]any{&cfn.CfnStackSet_StackInstancesProperty{
			DeploymentTargets: &cfn.CfnStackSet_DeploymentTargetsProperty{
				OrganizationalUnitIds: p["OrganizationalUnitIds"].ValueAsList(),
			},
			Regions: jsii.Strings(Region),
		}},
		TemplateUrl: p["TemplateURL"].ValueAsString(),
	})

	// the management account, which the stack set never reaches: the same gateway template, here
	cover := awscdk.NewCfnCondition(stack, jsii.String("CoverManagementAccountChosen"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(p["CoverManagementAccount"].ValueAsString(), jsii.String("true")),
	})
	here := cfn.NewCfnStack(stack, jsii.String("ManagementAccountGateway"), &cfn.CfnStackProps{
		TemplateUrl: p["TemplateURL"].ValueAsString(),
		Parameters: &map[string]*string{
			"AllowSupportRunbooksExecutions": p["AllowSupportRunbooksExecutions"].ValueAsString(),
			"GrantDiagnosticToolAccess":      p["GrantDiagnosticToolAccess"].ValueAsString(),
			"TenantToken":                    p["TenantToken"].ValueAsString(),
		},
	})
	here.CfnOptions().SetCondition(cover)
	return stack
}
