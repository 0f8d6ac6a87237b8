package faultproxy_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/test/faultproxy"
	"github.com/supportaccess/gateway/test/moto"
)

// slow is a rate so low that a bucket gains no token during a test: a rule with it admits
// its Burst and throttles every call after.
const slow = 0.001

// TestRateLimitAsTheSDKSeesIt: a call over a rate rule gets what AWS answers a call over a
// request-rate quota, and the SDK takes it for a throttle.
func TestRateLimitAsTheSDKSeesIt(t *testing.T) {
	srv := motoSrv.Server(t)
	ctx := t.Context()
	setup, err := srv.Config(ctx, "")
	require.NoError(t, err)
	table := createTable(t, setup)
	bucket := uniqueName("fp-rate")
	_, err = s3.NewFromConfig(setup, moto.PathStyle).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)

	tests := []struct {
		service, operation string
		call               func(context.Context, aws.Config) error
		want               sdkView
		check              func(t *testing.T, err error) // what else the SDK decoded
	}{
		{
			service: "sts", operation: "AssumeRole",
			call: func(ctx context.Context, cfg aws.Config) error {
				_, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{
					RoleArn:         aws.String("arn:aws:iam::111122223333:role/DoiT-Support-Management"),
					RoleSessionName: aws.String("faultproxy"),
				})
				return err
			},
			want:  sdkView{400, "Throttling", true, true},
			check: func(t *testing.T, err error) { assert.Contains(t, err.Error(), "Rate exceeded") },
		},
		{
			service: "kms", operation: "CreateKey",
			call: func(ctx context.Context, cfg aws.Config) error {
				_, err := kms.NewFromConfig(cfg).CreateKey(ctx, &kms.CreateKeyInput{
					KeyUsage: kmstypes.KeyUsageTypeSignVerify, KeySpec: kmstypes.KeySpecEccNistP256,
				})
				return err
			},
			want: sdkView{400, "ThrottlingException", true, true},
			check: func(t *testing.T, err error) {
				assert.Contains(t, err.Error(), "You have exceeded the rate at which you may call KMS", "KMS's own words")
			},
		},
		{
			service: "dynamodb", operation: "PutItem",
			call: func(ctx context.Context, cfg aws.Config) error {
				_, err := dynamodb.NewFromConfig(cfg).PutItem(ctx, &dynamodb.PutItemInput{
					TableName: aws.String(table),
					Item:      map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "rate"}},
				})
				return err
			},
			want: sdkView{400, "ProvisionedThroughputExceededException", true, true},
			check: func(t *testing.T, err error) {
				var over *ddbtypes.ProvisionedThroughputExceededException
				require.ErrorAs(t, err, &over, "decoded into the modeled error type")
				require.Len(t, over.ThrottlingReasons, 1)
				assert.Equal(t, "TableWriteKeyRangeThroughputExceeded", aws.ToString(over.ThrottlingReasons[0].Reason))
			},
		},
		{
			service: "dynamodb", operation: "Query",
			call: func(ctx context.Context, cfg aws.Config) error {
				_, err := dynamodb.NewFromConfig(cfg).Query(ctx, &dynamodb.QueryInput{
					TableName:                 aws.String(table),
					KeyConditionExpression:    aws.String("pk = :pk"),
					ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": &ddbtypes.AttributeValueMemberS{Value: "rate"}},
				})
				return err
			},
			want: sdkView{400, "ProvisionedThroughputExceededException", true, true},
			check: func(t *testing.T, err error) {
				var over *ddbtypes.ProvisionedThroughputExceededException
				require.ErrorAs(t, err, &over)
				require.Len(t, over.ThrottlingReasons, 1)
				assert.Equal(t, "TableReadKeyRangeThroughputExceeded", aws.ToString(over.ThrottlingReasons[0].Reason))
			},
		},
		{
			service: "dynamodb", operation: "DescribeTable", // the control plane
			call: func(ctx context.Context, cfg aws.Config) error {
				_, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
				return err
			},
			want: sdkView{400, "ThrottlingException", true, true},
			check: func(t *testing.T, err error) {
				var throttled *ddbtypes.ThrottlingException
				assert.ErrorAs(t, err, &throttled)
			},
		},
		{
			service: "s3", operation: "PutObject",
			call: func(ctx context.Context, cfg aws.Config) error {
				_, err := s3.NewFromConfig(cfg, moto.PathStyle).PutObject(ctx, &s3.PutObjectInput{
					Bucket: aws.String(bucket), Key: aws.String("accounts/111122223333/jwks.json"), Body: strings.NewReader("{}"),
				})
				return err
			},
			want:  sdkView{503, "SlowDown", true, true},
			check: func(t *testing.T, err error) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.service+" "+tt.operation, func(t *testing.T) {
			e := newEnv(t)
			e.proxy.Inject(faultproxy.Rule{Service: tt.service, Operation: tt.operation, Rate: slow, Burst: 1})
			cfg := noRetries(e.via)

			require.NoError(t, tt.call(ctx, cfg), "the bucket starts full")
			err := tt.call(ctx, cfg)
			require.Error(t, err)
			assert.Equal(t, tt.want, viewOf(err), "%v", err)
			assert.Contains(t, err.Error(), "injected by faultproxy")
			tt.check(t, err)

			calls := e.proxy.Calls()
			require.Len(t, calls, 2)
			assert.Equal(t, []faultproxy.RateOutcome{faultproxy.RateAdmitted, faultproxy.RateThrottled}, []faultproxy.RateOutcome{calls[0].Rate, calls[1].Rate})
			assert.Equal(t, []string{"", "Throttle"}, faults(calls))
			assert.Equal(t, tt.want.status, calls[1].Status)
			assert.Equal(t, []faultproxy.RateCount{{Service: tt.service, Operation: tt.operation, Admitted: 1, Throttled: 1}},
				faultproxy.RateCounts(calls))
		})
	}
}

// TestRateRulesCompose: several buckets may apply to a call, as AWS's do (a per-operation
// quota inside a shared one); a call admitted by a rate rule goes on to the rules after it.
func TestRateRulesCompose(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	const latency = 30 * time.Millisecond
	e.proxy.Inject(
		faultproxy.Rule{Service: "sts", Operation: "GetCallerIdentity", Rate: slow, Burst: 2},
		faultproxy.Rule{Service: "sts", Rate: slow, Burst: 3}, // the service's shared quota
		faultproxy.Rule{Service: "sts", Fault: faultproxy.Latency, Latency: latency},
	)
	client := sts.NewFromConfig(noRetries(e.via))
	whoAmI := func() error { _, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); return err }
	assumeRole := func() error {
		_, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::111122223333:role/r"), RoleSessionName: aws.String("s"),
		})
		return err
	}

	require.NoError(t, whoAmI())
	require.NoError(t, whoAmI())
	require.Error(t, whoAmI(), "its own bucket is empty")
	require.NoError(t, assumeRole(), "the shared bucket has one token left")
	require.Error(t, assumeRole(), "the shared bucket is empty")

	calls := e.proxy.Calls()
	require.Len(t, calls, 5)
	assert.Equal(t, []string{"Latency", "Latency", "Throttle", "Latency", "Throttle"}, faults(calls))
	for _, i := range []int{0, 1, 3} {
		assert.Equal(t, faultproxy.RateAdmitted, calls[i].Rate)
		assert.GreaterOrEqual(t, calls[i].Duration(), latency, "the Latency rule after the rate rules delayed it")
	}
	assert.Equal(t, []faultproxy.RateCount{
		{Service: "sts", Operation: "AssumeRole", Admitted: 1, Throttled: 1},
		{Service: "sts", Operation: "GetCallerIdentity", Admitted: 2, Throttled: 1},
	}, faultproxy.RateCounts(calls))
}

// throttleRecorder is the SDK's standard retryer that also records how the SDK saw each
// failed attempt, as the retryer is asked whether to retry it.
type throttleRecorder struct {
	aws.RetryerV2
	mu    *sync.Mutex
	views *[]sdkView
}

func (r throttleRecorder) IsErrorRetryable(err error) bool {
	r.mu.Lock()
	*r.views = append(*r.views, viewOf(err))
	r.mu.Unlock()
	return r.RetryerV2.IsErrorRetryable(err)
}

// TestRateLimitConcurrentCallers: many callers at once through one rate rule, with the SDK's
// standard retryer. They slow down and none fails; the limiter admits no more than its rate
// allows, and about that many, and every call it refuses is a throttle to the SDK.
func TestRateLimitConcurrentCallers(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 5 s")
	}
	const (
		callers = 50
		rate    = 10.0 // calls a second
		burst   = 5
	)
	e := newEnv(t)
	e.proxy.Inject(faultproxy.Rule{Service: "sts", Operation: "GetCallerIdentity", Rate: rate, Burst: burst})

	var mu sync.Mutex
	var views []sdkView
	cfg := e.via.Copy()
	cfg.Retryer = func() aws.Retryer {
		return throttleRecorder{
			RetryerV2: retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 100                   // enough for every caller to get through
				o.MaxBackoff = 250 * time.Millisecond // callers keep asking: the bucket is the only limit
				o.RateLimiter = ratelimit.None        // the client's own retry quota would give up first
			}),
			mu: &mu, views: &views,
		}
	}
	client := sts.NewFromConfig(cfg)

	begin := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { _, errs[i] = client.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}) })
	}
	wg.Wait()
	wall := time.Since(begin)
	require.NoError(t, errors.Join(errs...), "every caller slows down, none fails")

	calls := e.proxy.Calls()
	var starts []time.Time // of the admitted calls
	throttled := 0
	for _, c := range calls {
		switch c.Rate {
		case faultproxy.RateAdmitted:
			starts = append(starts, c.Start)
			assert.Equal(t, 200, c.Status)
		case faultproxy.RateThrottled:
			throttled++
			assert.Equal(t, "Throttle", c.Fault)
			assert.Equal(t, 400, c.Status)
		default:
			t.Errorf("call %v met no rate rule", c)
		}
	}
	require.Len(t, starts, callers, "one admitted call per caller: each succeeded at its first admission")
	assert.Equal(t, []faultproxy.RateCount{{Service: "sts", Operation: "GetCallerIdentity", Admitted: callers, Throttled: throttled}},
		faultproxy.RateCounts(calls))

	// The SDK saw every throttled call as a throttle, and nothing else failed.
	assert.Len(t, views, throttled)
	for _, v := range views {
		require.Equal(t, sdkView{400, "Throttling", true, true}, v)
	}

	// Never more than the bucket allows: over any stretch between two admitted calls, at most
	// Burst + Rate × its length. A call's time is taken before the proxy's lock, so calls may
	// reach the bucket a little out of order: one token of slack.
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	for i := range starts {
		for j := i + 1; j < len(starts); j++ {
			span := starts[j].Sub(starts[i]).Seconds()
			require.LessOrEqual(t, float64(j-i+1), burst+rate*span+1,
				"admitted %d calls in %v", j-i+1, starts[j].Sub(starts[i]))
		}
	}
	// And about as many as it allows, since callers were always waiting: after the burst, the
	// measured rate is within a generous tolerance of Rate (a loaded 2-core machine).
	span := starts[len(starts)-1].Sub(starts[0])
	measured := float64(callers-burst) / span.Seconds()
	t.Logf("%d callers at %v/s, burst %d: %d admitted, %d throttled; admitted %.2f/s after the burst; wall time %v",
		callers, rate, burst, callers, throttled, measured, wall.Round(time.Millisecond))
	assert.InDelta(t, rate, measured, 0.3*rate, "measured admitted rate")
	assert.Greater(t, throttled, 0, "the limiter bit")

	// Wall time: the calls past the burst need (callers-burst)/rate seconds at least.
	minimum := time.Duration(float64(callers-burst) / rate * float64(time.Second))
	assert.GreaterOrEqual(t, wall, minimum-100*time.Millisecond)
	assert.Less(t, wall, 2*minimum+5*time.Second)
}
