package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// nagSuppressions are the AwsSolutions findings we keep, each on one resource, for exactly the
// findings named, with the reason a reviewer needs. They apply only to the app this test builds, so
// the published templates carry no cdk-nag metadata; the README repeats them.
var nagSuppressions = map[string][]*cdknag.NagPackSuppression{
	"management-role/SupportBoundary": {{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("A permissions boundary is a cap, not a grant: it allows nothing by itself. Its one " +
			"Allow is * so that the cap can be written as explicit denies: Deny NotAction of each service's " +
			"Describe*/Get*/List* verbs, support:*, the service-quota reads and the runbook actions, Deny of runbooks " +
			"other than AWSSupport-*, and Deny of the sensitive reads. An explicit deny also caps what a same-account " +
			"resource policy grants (Principal * with aws:PrincipalAccount), which an allow-list cannot. The role's own " +
			"policies grant far less."),
		AppliesTo: &[]any{"Action::*", "Resource::*"},
	}},
	"support-gateway/SupportGatewayRole": {{
		Id: jsii.String("AwsSolutions-IAM4"),
		Reason: jsii.String("SecurityAudit is AWS's maintained read-only configuration access (seed 001) and keeps up " +
			"with new services; AWSSupportAccess is what the CIS 'support role' control asks for (seed 003). A " +
			"customer-managed copy would fall behind AWS's."),
		AppliesTo: &[]any{
			"Policy::arn:<AWS::Partition>:iam::aws:policy/SecurityAudit",
			"Policy::arn:<AWS::Partition>:iam::aws:policy/AWSSupportAccess",
		},
	}},
}

// TestNoUnsuppressedNagFindings runs cdk-nag's AwsSolutions pack over every stack and fails on any
// error or warning that is not suppressed with a reason.
func TestNoUnsuppressedNagFindings(t *testing.T) {
	app := NewApp(DefaultConfig(), nil, t.TempDir())
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	for path, suppressions := range nagSuppressions {
		stack, resource, _ := strings.Cut(path, "/")
		construct := app.Node().FindChild(jsii.String(stack)).Node().FindChild(jsii.String(resource))
		cdknag.NagSuppressions_AddResourceSuppressions(construct, &suppressions, nil)
	}
	assembly := app.Synth(nil)
	var findings []string
	for _, tpl := range Templates {
		for _, m := range *assembly.GetStackArtifact(jsii.String(tpl.stack)).Messages() {
			text := fmt.Sprint(m.Entry.Data)
			if strings.HasPrefix(text, "AwsSolutions-") {
				findings = append(findings, fmt.Sprintf("%s %s: %s", tpl.stack, *m.Id, text))
			}
		}
	}
	for _, f := range findings {
		t.Error(f)
	}
}
