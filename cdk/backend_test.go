package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/test/cfntemplate"
)

// backendVariant is a second backend stack in the test app, with every optional setting the
// default leaves off, so both shapes are checked by cdk-nag, cfn-lint's rules in these tests, and the
// property tests.
const backendVariant = BackendStackName + "-variant"

func variantConfig(b BackendConfig) BackendConfig {
	b.IssuerCertificateARN = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-1111-2222-3333-444444444444"
	b.AuthIssuer, b.AuthAudience = "https://login.example.com", "support-gateway"
	b.OperatorRoleARNs = []string{"arn:aws:iam::123456789012:role/platform/operators"}
	b.AlarmEmail = "support-gateway-alarms@example.com"
	b.HookReservedConcurrency = 0
	b.HookTopicCloudFormationOnly = false
	b.IssuerThumbprints = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
	b.TemplateBucketName = "doit-support-templates-example"
	return b
}

// backendNagSuppressions are the AwsSolutions findings kept on the backend stack, each on one
// resource (a path below the stack), for exactly the findings named, with the reason a reviewer
// needs. They apply only to the app these tests build; the README repeats them.
func backendNagSuppressions(c Config, b BackendConfig) map[string][]*cdknag.NagPackSuppression {
	v := c.Vendor
	keys := "Resource::arn:aws:kms:" + Region + ":" + c.VendorAccountID + ":key/*"
	out := map[string][]*cdknag.NagPackSuppression{
		"BackendRolePolicy/Resource": {{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("Every wildcard is a resource that does not exist before run time, narrowed by name or tag: " +
				"the management role of any customer account (onboarding is open; the role name is exact, and the customer's " +
				"trust requires the ExternalId); kms:CreateKey, which names no resource (conditions: P-256 SIGN_VERIFY, " +
				"KMS key material, single-region, only the issuer's two tags); the per-account signing keys (key/*, only " +
				"those tagged ManagedBy=" + v.ManagedByTag() + " with an Account tag; the subject key is denied by ARN); " +
				"each account's documents under <host>/accounts/ in the issuer bucket."),
			AppliesTo: &[]any{
				"Resource::arn:aws:iam::*:role/" + v.ManagementRoleName(),
				"Resource::*",
				keys,
				"Resource::<IssuerBucket.Arn>/" + v.IssuerHosts[0] + "/accounts/*",
				"Resource::<IssuerBucket.Arn>/" + v.IssuerHosts[1] + "/accounts/*",
			},
		}},
		"SignerRolePolicy/Resource": {{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("The per-account signing keys are made at run time: key/* only with the issuer's tags " +
				"(ManagedBy and Account), only kms:Sign, only ECDSA_SHA_256 over a DIGEST; each key's own policy allows the " +
				"same to this role alone."),
			AppliesTo: &[]any{keys},
		}},
		"ApiRolePolicy/Resource": {{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("The per-account signing keys are made at run time: key/* only with the issuer's tags, " +
				"and only their public halves (GetPublicKey, DescribeKey) for the JWKS the API serves."),
			AppliesTo: &[]any{keys},
		}},
		"TemplateBucket/Resource": {{
			Id: jsii.String("AwsSolutions-S2"),
			Reason: jsii.String("The published templates must be readable by anyone: customers review them before deploying " +
				"and CloudFormation takes TemplateURL from S3. The bucket policy grants s3:GetObject on v*/ and latest/ only; " +
				"public ACLs stay blocked and ignored."),
		}},
	}
	for _, d := range []string{"IssuerPrimaryDistribution/Resource", "IssuerStandbyDistribution/Resource"} {
		out[d] = []*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-CFR1"),
			Reason: jsii.String("The issuer's documents are fetched by STS in every region and by verifiers anywhere; a " +
				"geographic restriction could only cut off a customer's region."),
		}, {
			Id: jsii.String("AwsSolutions-CFR2"),
			Reason: jsii.String("Static, public JSON (discovery and JWKS) served by GET/HEAD from a private bucket through " +
				"origin access control: no request reaches code or data, and Shield Standard covers the edge. A web ACL " +
				"would have nothing to inspect."),
		}}
		if b.IssuerCertificateARN == "" {
			out[d] = append(out[d], &cdknag.NagPackSuppression{
				Id: jsii.String("AwsSolutions-CFR4"),
				Reason: jsii.String("Without supportGateway:backend:issuerCertificateArn the distribution has CloudFront's " +
					"default certificate, whose protocol floor CloudFront fixes. The issuer hosts need the certificate anyway " +
					"(STS fetches https://<host>/accounts/...), and with it the stack sets TLSv1.2_2021."),
			})
		}
	}
	for _, route := range []string{"GET--healthz", "HEAD--healthz"} {
		out["Api/"+route+"/Resource"] = []*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-APIG4"),
			Reason: jsii.String("Public by design: the health check, which load balancers and probes fetch without " +
				"credentials. Read-only, no data; every other route (/v1/...) has the JWT authorizer."),
		}}
	}
	return out
}

var (
	backendOnce      sync.Once
	backendAssembly  cxapi.CloudAssembly
	backendConfigs   map[string]BackendConfig
	backendErr       error
	backendTemps     []string                        // stand-in assets and the assembly, removed by TestMain
	backendTemplates map[string]cfntemplate.Template // stack name → template
)

// backendAssets points the Lambda assets at the real builds when make build has made them, else at
// stand-ins (the template differs only in the assets' hashes).
func backendAssets(b *BackendConfig) error {
	for _, dir := range []*string{&b.HookAsset, &b.APIAsset} {
		real := filepath.Join("..", *dir)
		if _, err := os.Stat(filepath.Join(real, "bootstrap")); err == nil {
			*dir = real
			continue
		}
		temp, err := StandInAsset()
		if err != nil {
			return err
		}
		backendTemps = append(backendTemps, temp)
		*dir = temp
	}
	return nil
}

// synthesizedBackend synthesizes the app with the backend stack (and its variant) under cdk-nag's
// AwsSolutions checks, once per test binary.
func synthesizedBackend(t *testing.T) cxapi.CloudAssembly {
	t.Helper()
	backendOnce.Do(func() { backendAssembly, backendErr = synthesizeBackend() })
	require.NoError(t, backendErr)
	return backendAssembly
}

func synthesizeBackend() (cxapi.CloudAssembly, error) {
	outdir, err := os.MkdirTemp("", "backend-assembly-")
	if err != nil {
		return nil, err
	}
	backendTemps = append(backendTemps, outdir)
	context, err := readContext("../cdk.json")
	if err != nil {
		return nil, err
	}
	cfg, err := ConfigFromContext(context)
	if err != nil {
		return nil, err
	}
	b, err := BackendConfigFromContext(context)
	if err != nil {
		return nil, err
	}
	if err := backendAssets(&b); err != nil {
		return nil, err
	}
	backendConfigs = map[string]BackendConfig{BackendStackName: b, backendVariant: variantConfig(b)}
	ctx := map[string]any{"aws:cdk:enable-path-metadata": false}
	for k, v := range context {
		ctx[k] = v
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(outdir)})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	for name, bc := range backendConfigs {
		stack := NewBackendStack(app, name, cfg, bc)
		for path, suppressions := range backendNagSuppressions(cfg, bc) {
			if stack.Node().TryFindChild(jsii.String(strings.Split(path, "/")[0])) == nil {
				continue // not in this variant (the user pool's, say)
			}
			cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack, jsii.String("/"+name+"/"+path), &suppressions, nil)
		}
	}
	assembly := app.Synth(nil)
	backendTemplates = map[string]cfntemplate.Template{}
	for name := range backendConfigs {
		tpl, err := cfntemplate.Load(*assembly.GetStackArtifact(jsii.String(name)).TemplateFullPath())
		if err != nil {
			return nil, err
		}
		backendTemplates[name] = tpl
	}
	return assembly, nil
}

// backendTemplate is a synthesized backend template, parsed.
func backendTemplate(t *testing.T, stack string) cfntemplate.Template {
	t.Helper()
	synthesizedBackend(t)
	tpl, ok := backendTemplates[stack]
	require.True(t, ok, "no stack %s", stack)
	return tpl
}

// TestBackendNagFindings runs cdk-nag's AwsSolutions pack over the backend stack (both variants) and
// fails on any error or warning not suppressed with a reason.
func TestBackendNagFindings(t *testing.T) {
	assembly := synthesizedBackend(t)
	for _, stack := range []string{BackendStackName, backendVariant} {
		for _, m := range *assembly.GetStackArtifact(jsii.String(stack)).Messages() {
			text := fmt.Sprint(m.Entry.Data)
			if strings.HasPrefix(text, "AwsSolutions-") {
				t.Errorf("%s %s: %s", stack, *m.Id, text)
			}
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range backendTemps {
		os.RemoveAll(d)
	}
	os.Exit(code)
}
