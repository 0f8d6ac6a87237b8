package faultproxy_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/test/faultproxy"
	"github.com/supportaccess/gateway/test/moto"
)

// The proxy is tested the way it is used: real SDK clients, through the proxy, to a real moto server.

var motoSrv moto.Shared

func TestMain(m *testing.M) { os.Exit(motoSrv.Run(m)) }

// env is a proxy in front of the shared moto server.
type env struct {
	proxy  *faultproxy.Proxy
	direct aws.Config // straight to moto, for setting up and checking state
	via    aws.Config // through the proxy, with the SDK's standard retryer
}

func newEnv(t *testing.T) env {
	t.Helper()
	srv := motoSrv.Server(t)
	cfg, err := srv.Config(t.Context(), "")
	require.NoError(t, err)
	p := faultproxy.StartForTest(t, srv.URL())
	via := cfg.Copy()
	via.BaseEndpoint = aws.String(p.URL())
	via.Retryer = standardRetryer
	return env{proxy: p, direct: cfg, via: via}
}

// standardRetryer is the SDK's default retryer (3 attempts, same retry
// decisions) with the backoff capped at 10 ms, so that a throttled test does
// not sleep its 1 s throttle backoff.
func standardRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 10 * time.Millisecond })
}

// noRetries returns cfg with retries off, so each fault reaches the caller as the SDK decoded it.
func noRetries(cfg aws.Config) aws.Config {
	c := cfg.Copy()
	c.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	return c
}

var nameSeq atomic.Int64

// uniqueName is a fresh IAM/S3/DynamoDB name: tests share one moto server.
func uniqueName(prefix string) string { return fmt.Sprintf("%s-%d", prefix, nameSeq.Add(1)) }

// sdkView is how the SDK sees an injected fault.
type sdkView struct {
	status    int    // HTTP status; 0: no response
	code      string // API error code; "": a connection error
	retryable bool   // by the standard retryer
	throttle  bool   // throttle for the standard (token cost, backoff) and adaptive (rate) retryers
}

func viewOf(err error) sdkView {
	var v sdkView
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		v.status = status.HTTPStatusCode()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		v.code = api.ErrorCode()
	}
	v.retryable = retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool()
	v.throttle = retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool()
	return v
}

func faults(calls []faultproxy.Call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.Fault
	}
	return out
}

// TestFaultsAsTheSDKSeesThem injects each fault once into each protocol's
// call and checks what the SDK makes of it (the table in the package documentation).
func TestFaultsAsTheSDKSeesThem(t *testing.T) {
	srv := motoSrv.Server(t)
	ctx := t.Context()
	setup, err := srv.Config(ctx, "")
	require.NoError(t, err)

	role := uniqueName("fp-role")
	_, err = iam.NewFromConfig(setup).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(role),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
	})
	require.NoError(t, err)
	table := createTable(t, setup)
	bucket := uniqueName("fp-bucket")
	_, err = s3.NewFromConfig(setup, moto.PathStyle).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)

	dropped := sdkView{status: 0, code: "", retryable: true} // Reset, Timeout: a connection error
	protocols := []struct {
		service, operation string
		call               func(context.Context, aws.Config) error
		views              map[faultproxy.Fault]sdkView
	}{
		{
			service: "iam", operation: "GetRole",
			call: func(ctx context.Context, cfg aws.Config) error {
				_, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
				return err
			},
			views: map[faultproxy.Fault]sdkView{
				faultproxy.Throttle:     {400, "Throttling", true, true},
				faultproxy.ServerError:  {500, "InternalFailure", true, false},
				faultproxy.Unavailable:  {503, "ServiceUnavailable", true, false},
				faultproxy.AccessDenied: {403, "AccessDenied", false, false},
			},
		},
		{
			service: "sts", operation: "AssumeRole",
			call: func(ctx context.Context, cfg aws.Config) error {
				_, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{
					RoleArn:         aws.String("arn:aws:iam::111122223333:role/" + role),
					RoleSessionName: aws.String("faultproxy"),
				})
				return err
			},
			views: map[faultproxy.Fault]sdkView{
				faultproxy.Throttle:     {400, "Throttling", true, true},
				faultproxy.ServerError:  {500, "InternalFailure", true, false},
				faultproxy.Unavailable:  {503, "ServiceUnavailable", true, false},
				faultproxy.AccessDenied: {403, "AccessDenied", false, false},
			},
		},
		{
			service: "dynamodb", operation: "PutItem",
			call: func(ctx context.Context, cfg aws.Config) error {
				_, err := dynamodb.NewFromConfig(cfg).PutItem(ctx, &dynamodb.PutItemInput{
					TableName: aws.String(table),
					Item:      map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "a"}},
				})
				return err
			},
			views: map[faultproxy.Fault]sdkView{
				faultproxy.Throttle:     {400, "ThrottlingException", true, true},
				faultproxy.ServerError:  {500, "InternalServerError", true, false},
				faultproxy.Unavailable:  {503, "ServiceUnavailable", true, false},
				faultproxy.AccessDenied: {400, "AccessDeniedException", false, false},
			},
		},
		{
			service: "s3", operation: "PutObject",
			call: func(ctx context.Context, cfg aws.Config) error {
				_, err := s3.NewFromConfig(cfg, moto.PathStyle).PutObject(ctx, &s3.PutObjectInput{
					Bucket: aws.String(bucket), Key: aws.String("k"), Body: strings.NewReader("body"),
				})
				return err
			},
			views: map[faultproxy.Fault]sdkView{
				faultproxy.Throttle:     {503, "SlowDown", true, true},
				faultproxy.ServerError:  {500, "InternalError", true, false},
				faultproxy.Unavailable:  {503, "ServiceUnavailable", true, false},
				faultproxy.AccessDenied: {403, "AccessDenied", false, false},
			},
		},
	}
	for _, pr := range protocols {
		pr.views[faultproxy.Reset] = dropped
		pr.views[faultproxy.Timeout] = dropped
		for _, fault := range []faultproxy.Fault{
			faultproxy.Throttle, faultproxy.ServerError, faultproxy.Unavailable,
			faultproxy.AccessDenied, faultproxy.Reset, faultproxy.Timeout,
		} {
			t.Run(pr.service+" "+fault.String(), func(t *testing.T) {
				e := newEnv(t)
				e.proxy.Inject(faultproxy.Rule{
					Service: pr.service, Operation: pr.operation, Fault: fault, Times: 1,
					Hold: 50 * time.Millisecond, // for Timeout: the SDK's default client waits indefinitely
				})
				cfg := noRetries(e.via)

				err := pr.call(ctx, cfg)
				require.Error(t, err)
				want := pr.views[fault]
				assert.Equal(t, want, viewOf(err), "%v", err)
				if want.code != "" {
					assert.Contains(t, err.Error(), "injected by faultproxy", "the message says where the error came from")
				} else {
					var sendErr *smithyhttp.RequestSendError
					assert.ErrorAs(t, err, &sendErr)
				}

				require.NoError(t, pr.call(ctx, cfg), "Times: 1 is used up")
				calls := e.proxy.Calls()
				require.Len(t, calls, 2)
				assert.Equal(t, []string{fault.String(), ""}, faults(calls))
				assert.Equal(t, want.status, calls[0].Status)
				assert.Equal(t, http.StatusOK, calls[1].Status)
				for _, c := range calls {
					assert.Equal(t, pr.service, c.Service)
					assert.Equal(t, pr.operation, c.Operation)
				}
			})
		}
	}
}

func createTable(t *testing.T, cfg aws.Config) string {
	t.Helper()
	name := uniqueName("fp-table")
	_, err := dynamodb.NewFromConfig(cfg).CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
	})
	require.NoError(t, err)
	return name
}

func TestThrottleTwiceThenSuccess(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	rule := faultproxy.Rule{Service: "iam", Operation: "CreateRole", Fault: faultproxy.Throttle, Times: 2}
	createRole := func(cfg aws.Config, name string) error {
		_, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{
			RoleName:                 aws.String(name),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
		})
		return err
	}

	t.Run("without retries the caller sees Throttling twice", func(t *testing.T) {
		e.proxy.ResetCalls()
		e.proxy.Inject(rule)
		name := uniqueName("fp-throttled")
		var codes []string
		for range 2 {
			var api smithy.APIError
			require.ErrorAs(t, createRole(noRetries(e.via), name), &api)
			codes = append(codes, api.ErrorCode())
		}
		assert.Equal(t, []string{"Throttling", "Throttling"}, codes)
		require.NoError(t, createRole(noRetries(e.via), name))
		assert.Equal(t, []string{"Throttle", "Throttle", ""}, faults(e.proxy.Calls()))
	})

	t.Run("the standard retryer gets through on the third attempt", func(t *testing.T) {
		e.proxy.ResetCalls()
		e.proxy.Inject(rule)
		name := uniqueName("fp-throttled")
		require.NoError(t, createRole(e.via, name))
		calls := e.proxy.Calls()
		assert.Equal(t, []string{"Throttle", "Throttle", ""}, faults(calls))
		assert.Equal(t, []int{400, 400, 200}, []int{calls[0].Status, calls[1].Status, calls[2].Status})
		assert.Equal(t, 3, faultproxy.CriticalPath(calls), "retries are sequential round trips")
		_, err := iam.NewFromConfig(e.direct).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		assert.NoError(t, err, "moto got the CreateRole")
	})
}

// TestStandardRetryer: which faults the SDK's standard retryer rides out.
func TestStandardRetryer(t *testing.T) {
	tests := []struct {
		rule      faultproxy.Rule
		wantCalls []string
		wantErr   string // API error code; "" for success
	}{
		{faultproxy.Rule{Fault: faultproxy.ServerError, Times: 2}, []string{"ServerError", "ServerError", ""}, ""},
		{faultproxy.Rule{Fault: faultproxy.Unavailable, Times: 2}, []string{"Unavailable", "Unavailable", ""}, ""},
		{faultproxy.Rule{Fault: faultproxy.Reset, Times: 1}, []string{"Reset", ""}, ""},
		{faultproxy.Rule{Fault: faultproxy.Timeout, Hold: 50 * time.Millisecond, Times: 1}, []string{"Timeout", ""}, ""},
		{faultproxy.Rule{Fault: faultproxy.Throttle, Times: 3}, []string{"Throttle", "Throttle", "Throttle"}, "Throttling"},
		{faultproxy.Rule{Fault: faultproxy.AccessDenied, Times: 1}, []string{"AccessDenied"}, "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v×%d", tt.rule.Fault, tt.rule.Times), func(t *testing.T) {
			e := newEnv(t)
			tt.rule.Service, tt.rule.Operation = "iam", "CreateRole"
			e.proxy.Inject(tt.rule)
			name := uniqueName("fp-retried")
			_, err := iam.NewFromConfig(e.via).CreateRole(t.Context(), &iam.CreateRoleInput{
				RoleName:                 aws.String(name),
				AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
			})
			if tt.wantErr == "" {
				require.NoError(t, err)
			} else {
				var api smithy.APIError
				require.ErrorAs(t, err, &api)
				assert.Equal(t, tt.wantErr, api.ErrorCode())
			}
			assert.Equal(t, tt.wantCalls, faults(e.proxy.Calls()))
		})
	}
}

func TestAccessDeniedForAWhile(t *testing.T) {
	// IAM is eventually consistent: a freshly created or changed role may be
	// refused for a few seconds. The rule plays that on sts:AssumeRole.
	e := newEnv(t)
	ctx := t.Context()
	const window = 300 * time.Millisecond
	e.proxy.Inject(faultproxy.Rule{Service: "sts", Operation: "AssumeRole", Fault: faultproxy.AccessDenied, For: window})
	client := sts.NewFromConfig(e.via)
	assume := func() error {
		_, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn:         aws.String("arn:aws:iam::111122223333:role/fp-new-role"),
			RoleSessionName: aws.String("faultproxy"),
		})
		return err
	}

	for range 2 {
		var api smithy.APIError
		require.ErrorAs(t, assume(), &api)
		assert.Equal(t, "AccessDenied", api.ErrorCode())
	}
	first := e.proxy.Calls()[0].Start // the window opened when the rule first fired
	require.Less(t, e.proxy.Calls()[1].Start.Sub(first), window, "the machine is too slow for this test")
	time.Sleep(time.Until(first.Add(window)) + 10*time.Millisecond)
	require.NoError(t, assume())
	assert.Equal(t, []string{"AccessDenied", "AccessDenied", ""}, faults(e.proxy.Calls()), "AccessDenied is not retried")
}

func TestTimeout(t *testing.T) {
	t.Run("the client gives up", func(t *testing.T) {
		e := newEnv(t)
		const clientTimeout = 200 * time.Millisecond
		e.proxy.Inject(faultproxy.Rule{Operation: "GetRole", Fault: faultproxy.Timeout}) // no Hold: until the client gives up
		cfg := noRetries(e.via)
		cfg.HTTPClient = &http.Client{Timeout: clientTimeout}

		begin := time.Now()
		_, err := iam.NewFromConfig(cfg).GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String("any")})
		elapsed := time.Since(begin)
		require.Error(t, err)
		var timeout interface{ Timeout() bool }
		require.ErrorAs(t, err, &timeout)
		assert.True(t, timeout.Timeout(), "%v", err)
		assert.True(t, viewOf(err).retryable, "the standard retryer would try again")
		assert.GreaterOrEqual(t, elapsed, clientTimeout)
		assert.Less(t, elapsed, 5*time.Second)

		// The proxy notices that the client hung up and ends the call.
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			calls := e.proxy.Calls()
			require.Len(c, calls, 1)
			assert.False(c, calls[0].End.IsZero(), "call ended")
		}, 5*time.Second, 10*time.Millisecond)
		call := e.proxy.Calls()[0]
		assert.Equal(t, "Timeout", call.Fault)
		assert.Equal(t, 0, call.Status)
		assert.GreaterOrEqual(t, call.Duration(), clientTimeout-20*time.Millisecond)
	})

	t.Run("Close releases calls that are held", func(t *testing.T) {
		srv := motoSrv.Server(t)
		p, err := faultproxy.Start(srv.URL())
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Close() })
		p.Inject(faultproxy.Rule{Fault: faultproxy.Timeout})
		cfg, err := srv.Config(t.Context(), "")
		require.NoError(t, err)
		cfg.BaseEndpoint = aws.String(p.URL())
		cfg = noRetries(cfg)
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}

		errc := make(chan error, 1)
		go func() {
			_, err := iam.NewFromConfig(cfg).GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("any")})
			errc <- err
		}()
		require.Eventually(t, func() bool { return len(p.Calls()) == 1 }, 5*time.Second, 5*time.Millisecond)
		closed := time.Now()
		require.NoError(t, p.Close())
		select {
		case err := <-errc:
			require.Error(t, err)
			assert.Less(t, time.Since(closed), 5*time.Second)
		case <-time.After(10 * time.Second):
			t.Fatal("the held call was not released by Close")
		}
	})
}

func TestLatency(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	const latency = 50 * time.Millisecond
	role := uniqueName("fp-slow")
	_, err := iam.NewFromConfig(e.direct).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(role),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
	})
	require.NoError(t, err)
	e.proxy.Inject(faultproxy.Rule{Service: "iam", Operation: "GetRole", Fault: faultproxy.Latency, Latency: latency})

	client := iam.NewFromConfig(e.via)
	for range 3 {
		begin := time.Now()
		out, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		require.NoError(t, err)
		assert.Equal(t, role, aws.ToString(out.Role.RoleName), "the real answer")
		assert.GreaterOrEqual(t, time.Since(begin), latency)
	}
	calls := e.proxy.Calls()
	require.Len(t, calls, 3)
	for _, c := range calls {
		assert.Equal(t, "Latency", c.Fault)
		assert.Equal(t, http.StatusOK, c.Status)
		assert.GreaterOrEqual(t, c.Duration(), latency)
	}
}

// TestRulesOnlyHitTheirCalls: a rule for another call leaves this one alone, and rules apply in order.
func TestRulesOnlyHitTheirCalls(t *testing.T) {
	throttle := faultproxy.Throttle
	tests := []struct {
		name      string
		rules     []faultproxy.Rule
		wantFault string // for iam GetRole
	}{
		{"another operation", []faultproxy.Rule{{Operation: "CreateRole", Fault: throttle}}, ""},
		{"another service", []faultproxy.Rule{{Service: "sts", Fault: throttle}}, ""},
		{"the same operation name in another service", []faultproxy.Rule{{Service: "dynamodb", Operation: "GetRole", Fault: throttle}}, ""},
		{"a used-up rule", []faultproxy.Rule{{Operation: "GetRole", Fault: throttle, Times: 1}}, ""}, // the first call used it
		{"this operation", []faultproxy.Rule{{Service: "iam", Operation: "GetRole", Fault: throttle}}, "Throttle"},
		{"any call", []faultproxy.Rule{{Fault: throttle}}, "Throttle"},
		{"the first matching rule wins", []faultproxy.Rule{
			{Operation: "CreateRole", Fault: faultproxy.AccessDenied},
			{Operation: "GetRole", Fault: faultproxy.ServerError},
			{Fault: throttle},
		}, "ServerError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.proxy.Inject(tt.rules...)
			client := iam.NewFromConfig(noRetries(e.via))
			getRole := func() { _, _ = client.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String("any")}) }
			if tt.name == "a used-up rule" {
				getRole()
				e.proxy.ResetCalls()
			}
			getRole() // NoSuchEntity from moto, or the fault
			calls := e.proxy.Calls()
			require.Len(t, calls, 1)
			assert.Equal(t, tt.wantFault, calls[0].Fault)
			if tt.wantFault == "" {
				assert.Equal(t, http.StatusNotFound, calls[0].Status, "moto answered")
			}
		})
	}

	t.Run("Clear", func(t *testing.T) {
		e := newEnv(t)
		e.proxy.Inject(faultproxy.Rule{Fault: throttle})
		e.proxy.Clear()
		_, err := sts.NewFromConfig(noRetries(e.via)).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
		require.NoError(t, err)
	})
}

func TestDynamoDBThrottlingException(t *testing.T) {
	e := newEnv(t)
	table := createTable(t, e.direct)
	e.proxy.Inject(faultproxy.Rule{Service: "dynamodb", Operation: "PutItem", Fault: faultproxy.Throttle, Times: 1})
	put := func(cfg aws.Config) error {
		_, err := dynamodb.NewFromConfig(cfg).PutItem(t.Context(), &dynamodb.PutItemInput{
			TableName: aws.String(table),
			Item:      map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "x"}},
		})
		return err
	}

	err := put(noRetries(e.via))
	var throttled *ddbtypes.ThrottlingException
	require.ErrorAs(t, err, &throttled, "decoded into the modeled error type")
	assert.Equal(t, "ThrottlingException", throttled.ErrorCode())
	assert.Contains(t, aws.ToString(throttled.Message), "injected by faultproxy")

	e.proxy.Inject(faultproxy.Rule{Service: "dynamodb", Operation: "PutItem", Fault: faultproxy.Throttle, Times: 2})
	e.proxy.ResetCalls()
	require.NoError(t, put(e.via), "the standard retryer rides out two throttles")
	assert.Equal(t, []string{"Throttle", "Throttle", ""}, faults(e.proxy.Calls()))
}

// TestRecognisesCalls: service and operation of the calls this project makes.
func TestRecognisesCalls(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	cfg := noRetries(e.via)
	bucket := uniqueName("fp-recognise")
	s3c := s3.NewFromConfig(cfg, moto.PathStyle)

	type call struct{ service, operation string }
	steps := []struct {
		want call
		do   func() error
	}{
		{call{"iam", "ListRoles"}, func() error { _, err := iam.NewFromConfig(cfg).ListRoles(ctx, &iam.ListRolesInput{}); return err }},
		{call{"sts", "GetCallerIdentity"}, func() error {
			_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}},
		{call{"sts", "AssumeRoleWithWebIdentity"}, func() error { // unsigned
			_, err := sts.NewFromConfig(cfg).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
				RoleArn:          aws.String("arn:aws:iam::111122223333:role/DoiT-Support-Gateway"),
				RoleSessionName:  aws.String("engineer"),
				WebIdentityToken: aws.String("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"),
			})
			return err
		}},
		{call{"dynamodb", "ListTables"}, func() error {
			_, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{})
			return err
		}},
		{call{"s3", "CreateBucket"}, func() error {
			_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
			return err
		}},
		{call{"s3", "PutObject"}, func() error {
			_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/b"), Body: strings.NewReader("x")})
			return err
		}},
		{call{"s3", "GetObject"}, func() error {
			out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/b")})
			if err == nil {
				out.Body.Close()
			}
			return err
		}},
		{call{"s3", "HeadObject"}, func() error {
			out, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/b")})
			if err == nil && aws.ToInt64(out.ContentLength) != 1 {
				return fmt.Errorf("HeadObject: Content-Length %d, want moto's 1", aws.ToInt64(out.ContentLength))
			}
			return err
		}},
		{call{"s3", "ListObjectsV2"}, func() error {
			_, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
			return err
		}},
		{call{"s3", "PutObject"}, func() error { // CloudFormation's pre-signed ResponseURL
			presigned, err := s3.NewPresignClient(s3c).PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("response")})
			if err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPut, presigned.URL, strings.NewReader(`{"Status":"SUCCESS"}`))
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return errors.New(resp.Status)
			}
			return nil
		}},
	}
	var want []call
	for _, s := range steps {
		require.NoError(t, s.do(), "%v", s.want)
		want = append(want, s.want)
	}
	var got []call
	for _, c := range e.proxy.Calls() {
		got = append(got, call{c.Service, c.Operation})
		assert.Equal(t, "", c.Fault)
	}
	assert.Equal(t, want, got)
}

func TestCriticalPathLive(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	client := sts.NewFromConfig(noRetries(e.via))
	call := func() error { _, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); return err }
	// Latency makes the three parallel calls overlap however the goroutines are scheduled.
	e.proxy.Inject(faultproxy.Rule{Operation: "GetCallerIdentity", Fault: faultproxy.Latency, Latency: 100 * time.Millisecond, Times: 3})

	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { errs[i] = call() })
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	require.NoError(t, call())

	calls := e.proxy.Calls()
	require.Len(t, calls, 4)
	assert.Equal(t, 2, faultproxy.CriticalPath(calls))
	assert.Equal(t, 1, faultproxy.CriticalPath(calls[:3]))
}

// TestConcurrentCalls runs many clients at once (run with -race): every call
// is recorded once, and a Times limit is shared exactly between them.
func TestConcurrentCalls(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	const workers, perWorker, throttles = 16, 4, 10
	e.proxy.Inject(faultproxy.Rule{Service: "sts", Fault: faultproxy.Throttle, Times: throttles})
	cfg := e.via.Copy()
	cfg.Retryer = func() aws.Retryer {
		return retry.AddWithMaxAttempts(standardRetryer(), throttles+2) // every call gets through
	}
	client := sts.NewFromConfig(cfg)

	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() { // read while others write
		for {
			select {
			case <-stop:
				return
			default:
				_ = faultproxy.CriticalPath(e.proxy.Calls())
			}
		}
	})
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for range workers {
		wg.Go(func() {
			for range perWorker {
				_, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				errs <- err
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	calls := e.proxy.Calls()
	assert.Len(t, calls, workers*perWorker+throttles)
	var throttled int
	for _, c := range calls {
		if c.Fault == "Throttle" {
			throttled++
		}
		assert.False(t, c.End.IsZero())
	}
	assert.Equal(t, throttles, throttled)
}
