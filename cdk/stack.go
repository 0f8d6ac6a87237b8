package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/supportaccess/gateway/internal/policy"
)

// Region is where the customer templates must be deployed: the vendor's hook topic lives there and
// the IAM names they create are global, so a second region could only collide (seed 000).
const Region = "us-east-1"

// hookServiceTimeout is how long CloudFormation waits for the hook's answer, in seconds: a lost
// message fails the stack in five minutes instead of the default hour. The hook answers well before.
const hookServiceTimeout = 300

// newStandaloneStack makes a stack whose template a customer can deploy as it is: no bootstrap
// parameter or rule, no CDK metadata or version reporting.
func newStandaloneStack(scope constructs.Construct, id, description string) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Description: jsii.String(description),
		Synthesizer: awscdk.NewDefaultStackSynthesizer(&awscdk.DefaultStackSynthesizerProps{
			GenerateBootstrapVersionRule: jsii.Bool(false),
		}),
		AnalyticsReporting: jsii.Bool(false),
	})
	stack.TemplateOptions().SetTemplateFormatVersion(jsii.String("2010-09-09"))
	return stack
}

// requireRegion adds a rule that makes CloudFormation refuse the stack outside Region, with a
// message that says what to do.
func requireRegion(stack awscdk.Stack) {
	awscdk.NewCfnRule(stack, jsii.String("DeployInUsEast1"), &awscdk.CfnRuleProps{
		Assertions: &[]*awscdk.CfnRuleAssertion{{
			Assert: awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(Region)),
			AssertDescription: jsii.String("Deploy this stack in us-east-1 (N. Virginia): switch the console's region " +
				"to us-east-1 and open the link again. The roles it creates are global and serve every region."),
		}},
	})
}

// param is a console-friendly template parameter.
type param struct {
	id, label, description string
	props                  awscdk.CfnParameterProps
}

// group is a titled group of parameters in the console's form.
type group struct {
	title  string
	params []param
}

// addParameters declares the parameters and the AWS::CloudFormation::Interface metadata that
// orders, groups and labels them in the console.
func addParameters(stack awscdk.Stack, groups ...group) map[string]awscdk.CfnParameter {
	out := map[string]awscdk.CfnParameter{}
	var groupMeta []any
	labels := map[string]any{}
	for _, g := range groups {
		var ids []string
		for _, p := range g.params {
			props := p.props
			if props.Type == nil {
				props.Type = jsii.String("String")
			}
			props.Description = jsii.String(p.description)
			out[p.id] = awscdk.NewCfnParameter(stack, jsii.String(p.id), &props)
			ids = append(ids, p.id)
			labels[p.id] = map[string]any{"default": p.label}
		}
		groupMeta = append(groupMeta, map[string]any{
			"Label":      map[string]any{"default": g.title},
			"Parameters": ids,
		})
	}
	stack.TemplateOptions().SetMetadata(&map[string]any{
		"AWS::CloudFormation::Interface": map[string]any{"ParameterGroups": groupMeta, "ParameterLabels": labels},
	})
	return out
}

// capabilities are the optional grants both account templates offer (seed 002), off by default.
func capabilities(v policy.Vendor) group {
	return group{title: "Optional capabilities", params: []param{
		{id: "AllowSupportRunbooksExecutions", label: "Allow AWS Support runbooks",
			description: "true lets support engineers run the AWS-owned AWSSupport-* troubleshooting runbooks " +
				"(SSM Automation) with their own read-only permissions. No role can be passed to a runbook.",
			props: trueFalse("false")},
		{id: "GrantDiagnosticToolAccess", label: "Grant diagnostic tool access",
			description: "true lets " + v.Name + "'s diagnostic tool read CloudWatch metrics and alarms, Cost Explorer " +
				"totals and forecasts, and Compute Optimizer recommendations. No customer data.",
			props: trueFalse("false")},
	}}
}

// trueFalse is the props of a "true"/"false" switch.
func trueFalse(def string) awscdk.CfnParameterProps {
	return awscdk.CfnParameterProps{Default: jsii.String(def), AllowedValues: jsii.Strings("true", "false")}
}

// tags mark everything the templates create as the vendor's, with the release that made it.
func tags(v policy.Vendor) *[]*awscdk.CfnTag {
	return &[]*awscdk.CfnTag{
		{Key: jsii.String(v.ManagedByTagKey()), Value: jsii.String(v.ManagedByTag())},
		{Key: jsii.String(v.TemplateVersionTagKey()), Value: jsii.String(policy.TemplateVersion)},
	}
}
