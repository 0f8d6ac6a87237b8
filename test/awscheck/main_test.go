package awscheck_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/test/awscheck"
	"github.com/supportaccess/gateway/test/moto"
)

// The front end is tested the way it is used: real SDK clients, through the front end, to a real
// moto server. Every refusal asserted here is a call moto alone admits.

var motoSrv moto.Shared

func TestMain(m *testing.M) { os.Exit(motoSrv.Run(m)) }

var vendor = policy.DefaultVendor()

// The vendor's backend: the static key the Lambda signs with, and the role it stands for.
const (
	backendKey    = "AKIAAWSCHECKBACKEND1"
	bystanderKey  = "AKIAAWSCHECKBYSTAND1" // another role of the vendor's account
	unknownKey    = "AKIAAWSCHECKUNKNOWN1" // in no Principals map
	anySecret     = "awscheck-test-secret"
	vendorAccount = moto.DefaultAccountID
)

var (
	backendARN   = "arn:aws:iam::" + vendorAccount + ":role/" + vendor.BackendRoleName
	bystanderARN = "arn:aws:iam::" + vendorAccount + ":role/Bystander"
)

// env is a front end before the shared moto server.
type env struct {
	moto  *moto.Server
	check *awscheck.Server
	admin aws.Config // straight to moto, the vendor's (moto's default) account
}

func newEnv(t *testing.T, edit ...func(*awscheck.Config)) env {
	t.Helper()
	srv := motoSrv.Server(t)
	cfg := awscheck.Config{
		Moto:       srv.URL(),
		Admin:      srv.Config,
		Principals: map[string]string{backendKey: backendARN, bystanderKey: bystanderARN},
	}
	for _, e := range edit {
		e(&cfg)
	}
	admin, err := srv.Config(t.Context(), "")
	require.NoError(t, err)
	return env{moto: srv, check: awscheck.StartForTest(t, cfg), admin: admin}
}

// as is a configuration that calls through the front end with creds, without retries, so every
// refusal reaches the test as the SDK decoded it.
func (e env) as(creds aws.CredentialsProvider) aws.Config {
	return aws.Config{
		Region:       moto.Region,
		BaseEndpoint: aws.String(e.check.URL()),
		Credentials:  creds,
		Retryer:      connectionRetryer,
	}
}

// connectionRetryer retries a call only when its connection failed (a CI run lost one to "use of
// closed network connection" reading moto's answer), never an answer: every answer a test looks at
// is the first the front end or moto gave.
func connectionRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
		o.RateLimiter = ratelimit.None
	})
}

// asKey calls through the front end with a static key.
func (e env) asKey(key string) aws.Config {
	return e.as(credentials.NewStaticCredentialsProvider(key, anySecret, ""))
}

// asSession calls through the front end with credentials STS handed out.
func (e env) asSession(c *sts.AssumeRoleOutput) aws.Config {
	return e.as(credentials.NewStaticCredentialsProvider(
		aws.ToString(c.Credentials.AccessKeyId), aws.ToString(c.Credentials.SecretAccessKey), aws.ToString(c.Credentials.SessionToken)))
}

// direct calls moto itself with a static key: what the call would get without the front end.
func (e env) direct(key string) aws.Config {
	cfg := e.asKey(key)
	cfg.BaseEndpoint = aws.String(e.moto.URL())
	return cfg
}

// lastDecision is the front end's most recent decision.
func (e env) lastDecision(t *testing.T) awscheck.Decision {
	t.Helper()
	ds := e.check.Decisions()
	require.NotEmpty(t, ds, "no decision recorded")
	return ds[len(ds)-1]
}

var seq atomic.Int64

// uniqueName is a fresh IAM name: tests share one moto server.
func uniqueName(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

// uniqueAccount is a fresh customer account ID.
func uniqueAccount() string { return fmt.Sprintf("3%011d", seq.Add(1)) }

// createRole creates a role with trust in cfg's account and returns its ARN.
func createRole(t *testing.T, cfg aws.Config, name, path string, trust policy.Document) string {
	t.Helper()
	in := &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust.JSON())}
	if path != "" {
		in.Path = aws.String(path)
	}
	out, err := iam.NewFromConfig(cfg).CreateRole(t.Context(), in)
	require.NoError(t, err)
	return aws.ToString(out.Role.Arn)
}

// apiError is how the SDK sees a refusal.
type apiError struct {
	status  int
	code    string
	message string
}

func apiErrorOf(t *testing.T, err error) apiError {
	t.Helper()
	require.Error(t, err)
	var api smithy.APIError
	require.True(t, errors.As(err, &api), "not an API error: %v", err)
	var status interface{ HTTPStatusCode() int }
	require.True(t, errors.As(err, &status), "no HTTP status: %v", err)
	return apiError{status: status.HTTPStatusCode(), code: api.ErrorCode(), message: api.ErrorMessage()}
}

func assumeRole(ctx context.Context, cfg aws.Config, roleARN string, edit ...func(*sts.AssumeRoleInput)) (*sts.AssumeRoleOutput, error) {
	in := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("awscheck-test")}
	for _, e := range edit {
		e(in)
	}
	return sts.NewFromConfig(cfg).AssumeRole(ctx, in)
}

func withExternalID(id string) func(*sts.AssumeRoleInput) {
	return func(in *sts.AssumeRoleInput) { in.ExternalId = aws.String(id) }
}
