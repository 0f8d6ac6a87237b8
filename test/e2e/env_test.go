package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
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
	table           = "onboardings"
	signerRole      = "arn:aws:iam::123456789012:role/DoiT-Support-Broker"
)

// env is one vendor backend on a moto server, with the hook Lambda running, and any number of
// customer accounts on the same server.
type env struct {
	moto    *moto.Server
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

func newEnv(t testing.TB, binary string) *env {
	t.Helper()
	return startEnv(t, binary, func(srv *moto.Server) string { return srv.URL() })
}

// newEnvWithFaults puts a fault-injecting proxy between the hook Lambda and moto: every AWS call of
// the function, and its response PUT, go through it.
func newEnvWithFaults(t testing.TB, binary string) (*env, *faultproxy.Proxy) {
	t.Helper()
	var proxy *faultproxy.Proxy
	e := startEnv(t, binary, func(srv *moto.Server) string {
		proxy = faultproxy.StartForTest(t, srv.URL())
		return proxy.URL()
	})
	return e, proxy
}

// startEnv starts moto, the registry, the response bucket and the hook Lambda, whose AWS endpoint
// (and response URLs) are endpoint(moto).
func startEnv(t testing.TB, binary string, endpoint func(*moto.Server) string) *env {
	t.Helper()
	ctx := context.Background()
	srv := moto.StartForTest(t)
	vendor, err := srv.Config(ctx, vendorAccount)
	require.NoError(t, err)
	url := endpoint(srv)

	db := dynamodb.NewFromConfig(vendor)
	_, err = db.CreateTable(ctx, registry.TableInput(table))
	require.NoError(t, err)
	s3c := s3.NewFromConfig(vendor, moto.PathStyle)
	_, err = s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(responseBucket)})
	require.NoError(t, err)

	fnEnv := []string{
		"AWS_ENDPOINT_URL=" + url,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", // the vendor account's
		"REGISTRY_TABLE=" + table,
		"VENDOR_ACCOUNT_ID=" + vendorAccount,
		"RESPONSE_URL_EXTRA_HOSTS=" + strings.TrimPrefix(url, "http://"),
		// moto does not evaluate trust policies: AssumeRole without the ExternalId succeeds there,
		// so the negative probe is off here; it is unit-tested (internal/hook) and the trust policy's
		// ExternalId condition is proven by iam-simulate (test/iam).
		"PROBE_WITHOUT_EXTERNAL_ID=false",
		"SIGNER_ROLE_ARN=" + signerRole,
		"PROPAGATION_BUDGET=20s",
		"RESPONSE_MARGIN=3s",
	}
	fn, err := lambdaruntime.Start(ctx, lambdaruntime.Config{Binary: binary, Env: fnEnv})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hook logs:\n%s", fn.Logs())
		}
		_ = fn.Close()
	})
	presigner := s3.NewFromConfig(vendor, moto.PathStyle, func(o *s3.Options) { o.BaseEndpoint = aws.String(url) })
	return &env{moto: srv, reg: &registry.Registry{DB: db, Table: table}, s3: s3c,
		presign: s3.NewPresignClient(presigner), fn: fn, fnEnv: fnEnv}
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

// viaSNS wraps a request in the SNS notification Lambda receives when the ServiceToken is a topic.
func viaSNS(t testing.TB, r request) []byte {
	t.Helper()
	msg, err := json.Marshal(r)
	require.NoError(t, err)
	b, err := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"EventSource": "aws:sns", "EventVersion": "1.0",
		"EventSubscriptionArn": hookTopic + ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
		"Sns": map[string]any{
			"Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e", "TopicArn": hookTopic,
			"Subject": "AWS CloudFormation custom resource request", "Message": string(msg),
			"Timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "SignatureVersion": "1", "Signature": "EXAMPLE",
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
