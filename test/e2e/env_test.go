package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/test/awscheck"
	"github.com/supportaccess/gateway/test/cfntemplate"
	"github.com/supportaccess/gateway/test/faultproxy"
	"github.com/supportaccess/gateway/test/lambdaruntime"
	"github.com/supportaccess/gateway/test/moto"
)

const (
	vendorAccount   = "123456789012" // moto's default account plays the vendor
	customerAccount = "111122223333"
	hookTopic       = "arn:aws:sns:us-east-1:123456789012:doit-support-gateway-hook"
	responseBucket  = "cloudformation-custom-resource-response-useast1"
	issuerBucket    = "doit-support-issuer" // the issuer hosts' origin: where the hook publishes the documents
	table           = "onboardings"
	signerRole      = "arn:aws:iam::123456789012:role/DoiT-Support-Broker"
	// backendRole is the hook Lambda's execution role: the one the management trust names. The
	// function's static test credentials stand for it (awscheck.Config.Principals).
	backendRole = "arn:aws:iam::123456789012:role/DoiT-Support-Gateway-Backend"
	fnAccessKey = "testing"
)

// env is one vendor backend on a moto server, with the hook Lambda running, and any number of
// customer accounts on the same server. The function reaches AWS through a checking front end
// (test/awscheck): moto alone admits AssumeRole without the ExternalId, web-identity tokens it never
// verifies and signatures by any principal, so against bare moto no proof could be shown.
type env struct {
	moto    *moto.Server
	check   *awscheck.Server
	reg     *registry.Registry
	s3      *s3.Client
	presign *s3.PresignClient
	fn      *lambdaruntime.Runtime
	fnEnv   []string // the function's environment, to start more processes like fn
}

// buildHook compiles the hook Lambda as it ships (lambda.norpc), for this machine's architecture.
func buildHook(t testing.TB) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, "./lambdas/hook")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "building the hook Lambda: %s", b)
	return out
}

func newEnv(t testing.TB, binary string, extraEnv ...string) *env {
	t.Helper()
	return startEnv(t, binary, func(front string) string { return front }, extraEnv)
}

// newEnvWithFaults puts a fault-injecting proxy between the hook Lambda and the checking front end:
// every AWS call of the function, and its response PUT, go through it.
func newEnvWithFaults(t testing.TB, binary string, extraEnv ...string) (*env, *faultproxy.Proxy) {
	t.Helper()
	var proxy *faultproxy.Proxy
	e := startEnv(t, binary, func(front string) string {
		proxy = faultproxy.StartForTest(t, front)
		return proxy.URL()
	}, extraEnv)
	return e, proxy
}

// startEnv starts moto, the checking front end, the registry, the response and issuer buckets, the
// signer role and the hook Lambda, whose AWS endpoint (and response URLs) are endpoint(front end).
func startEnv(t testing.TB, binary string, endpoint func(front string) string, extraEnv []string) *env {
	t.Helper()
	ctx := context.Background()
	srv := moto.StartForTest(t)
	vendor, err := srv.Config(ctx, vendorAccount)
	require.NoError(t, err)

	db := dynamodb.NewFromConfig(vendor)
	_, err = db.CreateTable(ctx, registry.TableInput(table))
	require.NoError(t, err)
	s3c := s3.NewFromConfig(vendor, moto.PathStyle)
	for _, b := range []string{responseBucket, issuerBucket} {
		_, err = s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
		require.NoError(t, err)
	}
	// the signer role, which only the backend may assume: the hook signs through it
	_, err = iam.NewFromConfig(vendor).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("DoiT-Support-Broker"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` +
			backendRole + `"},"Action":"sts:AssumeRole"}]}`)})
	require.NoError(t, err)

	check := awscheck.StartForTest(t, awscheck.Config{
		Moto: srv.URL(), Admin: srv.Config, Principals: map[string]string{fnAccessKey: backendRole},
		Fetch:      issuerSite(s3c),
		MotoDigest: true, // the hook signs SHA-256 digests; moto's KMS hashes them again
	})
	url := endpoint(check.URL())
	fnEnv := append([]string{
		"AWS_ENDPOINT_URL=" + url,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + fnAccessKey, "AWS_SECRET_ACCESS_KEY=testing", // the backend role's, in the vendor account
		"REGISTRY_TABLE=" + table,
		"VENDOR_ACCOUNT_ID=" + vendorAccount,
		"RESPONSE_URL_EXTRA_HOSTS=" + strings.TrimPrefix(url, "http://"),
		"SIGNER_ROLE_ARN=" + signerRole,
		"ISSUER_BUCKET=" + issuerBucket,
		"PROPAGATION_BUDGET=20s",
		"RESPONSE_MARGIN=3s",
	}, extraEnv...)
	fn, err := lambdaruntime.Start(ctx, lambdaruntime.Config{Binary: binary, Env: fnEnv})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hook logs:\n%s", fn.Logs())
		}
		_ = fn.Close()
	})
	presigner := s3.NewFromConfig(vendor, moto.PathStyle, func(o *s3.Options) { o.BaseEndpoint = aws.String(url) })
	return &env{moto: srv, check: check, reg: &registry.Registry{DB: db, Table: table}, s3: s3c,
		presign: s3.NewPresignClient(presigner), fn: fn, fnEnv: fnEnv}
}

// issuerSite is what STS fetches at an issuer URL: the object the hook published under that path
// (the issuer hosts are CloudFront distributions in front of the issuer bucket).
func issuerSite(c *s3.Client) func(ctx context.Context, rawURL string) ([]byte, error) {
	return func(ctx context.Context, rawURL string) ([]byte, error) {
		key, ok := strings.CutPrefix(rawURL, "https://")
		if !ok {
			return nil, fmt.Errorf("%s is not an https URL", rawURL)
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(issuerBucket), Key: aws.String(key)})
		if err != nil {
			return nil, err
		}
		defer out.Body.Close()
		return io.ReadAll(out.Body)
	}
}

// issuer is the vendor's issuer over the same keys and table as the hook Lambda's.
func (e *env) issuer(t testing.TB) *issuer.Issuer {
	t.Helper()
	cfg, err := e.moto.Config(context.Background(), vendorAccount)
	require.NoError(t, err)
	iss, err := issuer.New(issuer.Config{Vendor: policy.DefaultVendor(), Partition: "aws", VendorAccount: vendorAccount,
		SignerRoleARN: signerRole}, kms.NewFromConfig(cfg), &issuer.DynamoStore{DB: dynamodb.NewFromConfig(cfg), Table: table})
	require.NoError(t, err)
	return iss
}

// customer is the customer's own (administrator) access to its account.
func (e *env) customer(t testing.TB, account string) aws.Config {
	t.Helper()
	cfg, err := e.moto.Config(context.Background(), account)
	require.NoError(t, err)
	return cfg
}

// onboard issues a link for the customer account, as an operator would, and returns its ExternalId.
func (e *env) onboard(t testing.TB, account string) string {
	t.Helper()
	link, err := hook.Link(context.Background(), e.reg, hook.LinkConfig{
		TemplateURL: "https://example.com/management-role.yaml", HookTopicARN: hookTopic, VendorAccountID: vendorAccount,
	}, "tenant-1", account)
	require.NoError(t, err)
	_, after, _ := strings.Cut(link, "param_ExternalId=")
	ext, _, _ := strings.Cut(after, "&")
	require.NotEmpty(t, ext)
	return ext
}

// templateVars are the values CloudFormation would substitute in the customer's stack.
func templateVars(account, externalID string) map[string]string {
	return map[string]string{
		"AWS::Partition": "aws", "AWS::AccountId": account, "AWS::Region": "us-east-1",
		"AccountNumberParameter": vendorAccount, "ExternalId": externalID, "ServiceToken": hookTopic,
		"AllowSupportRunbooksExecutions": "false", "GrantDiagnosticToolAccess": "false",
		"AssumeableRole":      "DoiT_Management_Role_DO-NOT-DELETE",
		"AssumeableRole.Arn":  "arn:aws:iam::" + account + ":role/DoiT_Management_Role_DO-NOT-DELETE",
		"SupportBoundary":     "arn:aws:iam::" + account + ":policy/DoiT_Support_Boundary_DO-NOT-DELETE",
		"SupportBoundary.Arn": "arn:aws:iam::" + account + ":policy/DoiT_Support_Boundary_DO-NOT-DELETE",
	}
}

// deployManagementRole creates the management-role stack's IAM resources in the customer account
// from the committed template, as CloudFormation would, and returns the Hook's properties as the
// hook receives them.
func (e *env) deployManagementRole(t testing.TB, account, externalID string) map[string]any {
	t.Helper()
	ctx := context.Background()
	tpl, err := cfntemplate.Load("../../templates/management-role.yaml")
	require.NoError(t, err)
	vars := templateVars(account, externalID)
	resolved := func(id string) map[string]any {
		props, err := tpl.Properties(id)
		require.NoError(t, err)
		r, err := cfntemplate.Resolve(props, vars)
		require.NoError(t, err)
		return r.(map[string]any)
	}
	doc := func(v any) *string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return aws.String(string(b))
	}
	c := iam.NewFromConfig(e.customer(t, account))
	boundary, roleProps, policyProps := resolved("SupportBoundary"), resolved("AssumeableRole"), resolved("CustomerPolicy")
	_, err = c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(boundary["ManagedPolicyName"].(string)),
		PolicyDocument: doc(boundary["PolicyDocument"])})
	require.NoError(t, err)
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(roleProps["RoleName"].(string)),
		AssumeRolePolicyDocument: doc(roleProps["AssumeRolePolicyDocument"]), MaxSessionDuration: aws.Int32(3600)})
	require.NoError(t, err)
	_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(roleProps["RoleName"].(string)),
		PolicyName: aws.String(policyProps["PolicyName"].(string)), PolicyDocument: doc(policyProps["PolicyDocument"])})
	require.NoError(t, err)
	return cfntemplate.Stringify(resolved("Hook")).(map[string]any)
}

// customerState observes, with the customer's own access, what the vendor manages in the account.
func (e *env) customerState(t testing.TB, account string, features policy.Features, version string) (gateway.Desired, gateway.Observed) {
	t.Helper()
	d := gateway.DesiredState(policy.DefaultVendor(), policy.Target{Partition: "aws", AccountID: account},
		gateway.Options{Features: features, TemplateVersion: version})
	o, err := gateway.Observe(context.Background(), iam.NewFromConfig(e.customer(t, account)), d)
	require.NoError(t, err)
	return d, o
}

// request is a CloudFormation custom-resource request, shaped as AWS documents it.
type request struct {
	RequestType           string         `json:"RequestType"`
	ResponseURL           string         `json:"ResponseURL"`
	StackID               string         `json:"StackId"`
	RequestID             string         `json:"RequestId"`
	ResourceType          string         `json:"ResourceType"`
	LogicalResourceID     string         `json:"LogicalResourceId"`
	PhysicalResourceID    string         `json:"PhysicalResourceId,omitempty"`
	ServiceToken          string         `json:"ServiceToken"`
	ResourceProperties    map[string]any `json:"ResourceProperties"`
	OldResourceProperties map[string]any `json:"OldResourceProperties,omitempty"`
}

// response is what the hook PUT to the ResponseURL.
type response struct {
	Status             string
	Reason             string
	PhysicalResourceID string `json:"PhysicalResourceId"`
	StackID            string `json:"StackId"`
	RequestID          string `json:"RequestId"`
	LogicalResourceID  string `json:"LogicalResourceId"`
	Data               map[string]string
}

// newRequest makes a request whose ResponseURL is a pre-signed S3 PUT to the moto bucket, as
// CloudFormation's is.
func (e *env) newRequest(t testing.TB, requestType, stackID, requestID string, props map[string]any) request {
	t.Helper()
	signed, err := e.presign.PresignPutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(responseBucket), Key: aws.String(requestID)}, s3.WithPresignExpires(2*time.Hour))
	require.NoError(t, err)
	return request{RequestType: requestType, ResponseURL: signed.URL, StackID: stackID, RequestID: requestID,
		ResourceType: "Custom::Hook", LogicalResourceID: "Hook", ServiceToken: hookTopic, ResourceProperties: props}
}

// viaSNS wraps a request in the SNS notification Lambda receives when the ServiceToken is a topic,
// published now.
func viaSNS(t testing.TB, r request) []byte {
	t.Helper()
	return viaSNSAt(t, r, time.Now())
}

// viaSNSAt is viaSNS with the notification published at published.
func viaSNSAt(t testing.TB, r request, published time.Time) []byte {
	t.Helper()
	msg, err := json.Marshal(r)
	require.NoError(t, err)
	b, err := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"EventSource": "aws:sns", "EventVersion": "1.0",
		"EventSubscriptionArn": hookTopic + ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
		"Sns": map[string]any{
			"Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e", "TopicArn": hookTopic,
			"Subject": "AWS CloudFormation custom resource request", "Message": string(msg),
			"Timestamp": published.UTC().Format("2006-01-02T15:04:05.000Z"), "SignatureVersion": "1", "Signature": "EXAMPLE",
			"SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
			"UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe", "MessageAttributes": map[string]any{},
		},
	}}})
	require.NoError(t, err)
	return b
}

func direct(t testing.TB, r request) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	require.NoError(t, err)
	return b
}

// invoke runs one event through the real binary; the function must finish without a runtime error.
func (e *env) invoke(t testing.TB, payload []byte) lambdaruntime.Invocation {
	t.Helper()
	inv, err := e.fn.Invoke(context.Background(), payload, time.Minute)
	require.NoError(t, err)
	require.Nil(t, inv.Error, "the function reported an error")
	return inv
}

// answer reads the response the hook PUT for requestID, or reports there was none.
func (e *env) answer(t testing.TB, requestID string) (response, bool) {
	t.Helper()
	out, err := e.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(responseBucket), Key: aws.String(requestID)})
	if err != nil {
		return response{}, false
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	var r response
	require.NoError(t, json.Unmarshal(b, &r), "response body %s", b)
	require.LessOrEqual(t, len(b), 4096)
	return r, true
}

func stackARN(account, name string) string {
	return fmt.Sprintf("arn:aws:cloudformation:us-east-1:%s:stack/%s/1f2e3d4c-5b6a-4789-9abc-def012345678", account, name)
}

// vendorHook is the hook's rules as the vendor's own tools run them (supportctl repair and sweep),
// through the checking front end, as the vendor backend role.
func (e *env) vendorHook(t testing.TB) (*hook.Hook, *hook.Reconciling) {
	t.Helper()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(e.check.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(fnAccessKey, "testing", "")}
	h, p, err := hook.New(cfg, hook.Settings{Vendor: policy.DefaultVendor(), VendorAccountID: vendorAccount, Table: table,
		SignerRoleARN: signerRole, IssuerBucket: issuerBucket, Budget: 10 * time.Second})
	require.NoError(t, err)
	return h, p
}

// gatewayTemplate resolves the committed support-gateway template for account with the given
// parameters: resolve(logicalID, property) is the property as CloudFormation would pass it (all the
// resource's properties for property "").
func gatewayTemplate(t testing.TB, account, tenantToken string, f policy.Features) (resolve func(id, prop string) any) {
	t.Helper()
	tpl, err := cfntemplate.Load("../../templates/support-gateway.json")
	require.NoError(t, err)
	vendor := policy.DefaultVendor()
	target := policy.Target{Partition: "aws", AccountID: account}
	vars, err := tpl.WithConditions(map[string]string{"AWS::Partition": "aws", "AWS::AccountId": account, "AWS::Region": "us-east-1",
		"ServiceToken": hookTopic, "TenantToken": tenantToken,
		"AllowSupportRunbooksExecutions": strconv.FormatBool(f.Runbooks), "GrantDiagnosticToolAccess": strconv.FormatBool(f.Diagnostic),
		"PrimaryIdentityProvider": vendor.ProviderARN(target, 0), "StandbyIdentityProvider": vendor.ProviderARN(target, 1),
		"SupportGatewayRole.Arn": vendor.GatewayRoleARN(target)})
	require.NoError(t, err)
	return func(id, prop string) any {
		props, err := tpl.Properties(id)
		require.NoError(t, err)
		var v any = props
		if prop != "" {
			v = props[prop]
		}
		v, err = cfntemplate.Resolve(v, vars)
		require.NoError(t, err, "%s.%s", id, prop)
		return v
	}
}

// deployGateway creates the support-gateway stack's IAM resources (its two identity providers and
// its role, with its tags and inline policies) in the customer account from the committed template,
// as CloudFormation would, and returns the Hook's properties as the hook receives them.
func (e *env) deployGateway(t testing.TB, account, tenantToken string) map[string]any {
	return e.deployGatewayWith(t, account, tenantToken, policy.Features{})
}

// deployGatewayWith is deployGateway with the stack's option parameters.
func (e *env) deployGatewayWith(t testing.TB, account, tenantToken string, f policy.Features) map[string]any {
	t.Helper()
	ctx := context.Background()
	resolve := gatewayTemplate(t, account, tenantToken, f)
	c := iam.NewFromConfig(e.customer(t, account))
	for _, id := range []string{"PrimaryIdentityProvider", "StandbyIdentityProvider"} {
		var clients []string
		for _, c := range resolve(id, "ClientIdList").([]any) {
			clients = append(clients, c.(string))
		}
		_, err := c.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
			Url: aws.String(resolve(id, "Url").(string)), ClientIDList: clients})
		require.NoError(t, err)
	}
	var tags []iamtypes.Tag
	for _, tag := range resolve("SupportGatewayRole", "Tags").([]any) {
		kv := tag.(map[string]any)
		tags = append(tags, iamtypes.Tag{Key: aws.String(kv["Key"].(string)), Value: aws.String(kv["Value"].(string))})
	}
	_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(resolve("SupportGatewayRole", "RoleName").(string)),
		AssumeRolePolicyDocument: aws.String(resolve("SupportGatewayRole", "AssumeRolePolicyDocument").(string)),
		MaxSessionDuration:       aws.Int32(3600), Tags: tags})
	require.NoError(t, err)
	e.putGatewayPolicies(t, account, resolve)
	return cfntemplate.Stringify(resolve("Hook", "")).(map[string]any)
}

// putGatewayPolicies makes the gateway role's inline policies what the template resolves to, as a
// stack create or update does (those it no longer has are deleted).
func (e *env) putGatewayPolicies(t testing.TB, account string, resolve func(id, prop string) any) {
	t.Helper()
	ctx := context.Background()
	c := iam.NewFromConfig(e.customer(t, account))
	role := aws.String(policy.DefaultVendor().GatewayRoleName())
	want := map[string]bool{}
	for _, p := range resolve("SupportGatewayRole", "Policies").([]any) {
		kv := p.(map[string]any)
		doc, err := json.Marshal(kv["PolicyDocument"])
		require.NoError(t, err)
		name := kv["PolicyName"].(string)
		want[name] = true
		_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: role, PolicyName: aws.String(name), PolicyDocument: aws.String(string(doc))})
		require.NoError(t, err, "policy %s", name)
	}
	have, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: role})
	require.NoError(t, err)
	for _, name := range have.PolicyNames {
		if !want[name] {
			_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: role, PolicyName: aws.String(name)})
			require.NoError(t, err)
		}
	}
}

// setGatewayOptions changes the option parameters of the gateway stack deployed in account, as a
// stack Update does (CloudFormation updates the role's inline policies before it notifies the hook),
// and returns the Hook's new properties.
func (e *env) setGatewayOptions(t testing.TB, account, tenantToken string, f policy.Features) map[string]any {
	t.Helper()
	resolve := gatewayTemplate(t, account, tenantToken, f)
	e.putGatewayPolicies(t, account, resolve)
	props := e.deployedHookProps(t, account, tenantToken)
	props["Runbooks"], props["DiagnosticTool"] = strconv.FormatBool(f.Runbooks), strconv.FormatBool(f.Diagnostic)
	return props
}

// setGatewayToken changes the TenantToken of the gateway stack deployed in account, as a stack Update
// of that parameter does (CloudFormation updates the role's tag before it notifies the hook).
func (e *env) setGatewayToken(t testing.TB, account, token string) {
	t.Helper()
	_, err := iam.NewFromConfig(e.customer(t, account)).TagRole(context.Background(), &iam.TagRoleInput{
		RoleName: aws.String(policy.DefaultVendor().GatewayRoleName()),
		Tags:     []iamtypes.Tag{{Key: aws.String(policy.DefaultVendor().TenantTokenTag()), Value: aws.String(token)}}})
	require.NoError(t, err)
}

// removeGateway deletes what deployGateway made, as CloudFormation does once the hook answered the
// stack's Delete (the hook depends on the role and the providers, so it is deleted first).
func (e *env) removeGateway(t testing.TB, account string) {
	t.Helper()
	ctx := context.Background()
	c := iam.NewFromConfig(e.customer(t, account))
	target := policy.Target{Partition: "aws", AccountID: account}
	vendor := policy.DefaultVendor()
	role := aws.String(vendor.GatewayRoleName())
	inline, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: role})
	require.NoError(t, err)
	for _, name := range inline.PolicyNames {
		_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: role, PolicyName: aws.String(name)})
		require.NoError(t, err)
	}
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: role})
	require.NoError(t, err)
	for _, arn := range vendor.ProviderARNs(target) {
		_, err := c.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
		require.NoError(t, err)
	}
}

// gatewayStatus is the account's gateway record (its status "" if there is none).
func (e *env) gatewayStatus(t testing.TB, account string) registry.Onboarding {
	t.Helper()
	o, _, err := e.reg.Get(context.Background(), account, registry.Gateway)
	require.NoError(t, err)
	return o
}

// keyStates lists the KMS state of every signing key the issuer made for account.
func (e *env) keyStates(t testing.TB, account string) []string {
	t.Helper()
	ctx := context.Background()
	keys, err := e.issuer(t).Keys(ctx, account)
	require.NoError(t, err)
	cfg, err := e.moto.Config(ctx, vendorAccount)
	require.NoError(t, err)
	var out []string
	for _, k := range keys {
		d, err := kms.NewFromConfig(cfg).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(k.KeyID)})
		require.NoError(t, err)
		out = append(out, string(d.KeyMetadata.KeyState))
	}
	return out
}

// published reports whether account's JWKS is in the issuer bucket.
func (e *env) published(t testing.TB, account string) bool {
	t.Helper()
	_, err := issuerSite(e.s3)(context.Background(), policy.DefaultVendor().IssuerURL(policy.Target{AccountID: account}, 0)+"/.well-known/jwks.json")
	return err == nil
}

// decisions lists the checking front end's decisions on action (e.g. "AssumeRoleWithWebIdentity").
func (e *env) decisions(action string) []awscheck.Decision {
	var out []awscheck.Decision
	for _, d := range e.check.Decisions() {
		if d.Action == action {
			out = append(out, d)
		}
	}
	return out
}

// gatewayStack is a gateway stack's ARN in account.
func gatewayStack(account, name string) string {
	return fmt.Sprintf("arn:aws:cloudformation:us-east-1:%s:stack/%s/6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d", account, name)
}

// registeredManagementStack onboards account, deploys its management-role stack from the committed
// template and has the hook register it through SNS; it returns the Hook's properties, the stack's
// ARN and the Create's answer.
func (e *env) registeredManagementStack(t *testing.T, account string) (map[string]any, string, response) {
	t.Helper()
	ext := e.onboard(t, account)
	props := e.deployManagementRole(t, account, ext)
	stack := stackARN(account, "doit-management-role")
	created := e.sendSNS(t, e.newRequest(t, "Create", stack, "req-create-"+account, props))
	require.Equal(t, "SUCCESS", created.Status, created.Reason)
	return props, stack, created
}
