package awsx

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// PatientRetry configures PatientRetryer.
type PatientRetry struct {
	// MaxAttempts bounds the attempts of a call that fails for any retryable reason but a rate
	// throttle (a 500, a reset connection): 0 is the SDK's default, 3.
	MaxAttempts int
	// ThrottledAttempts bounds the attempts of a call AWS keeps throttling: 0 is
	// DefaultThrottledAttempts. The call's context bounds them too.
	ThrottledAttempts int
	// MaxBackoff caps the wait between two attempts: 0 is the SDK's default, 20 s.
	MaxBackoff time.Duration
}

// DefaultThrottledAttempts is how many attempts a throttled call gets at most: with the SDK's
// backoff (exponential from 1 s, capped at 20 s, full jitter) about 4 minutes of waiting on
// average, 8 at worst, against KMS CreateKey's 40 s for a burst of 200 keys at 5 a second. The
// SDK's standard mode gives 3, and the hook's 8 ran out in a burst of 20 stacks at once.
const DefaultThrottledAttempts = 30

// rateThrottles are the error codes AWS answers a call over a request-rate quota with, the ones
// waiting clears (the SDK's DefaultThrottleErrorCodes less LimitExceededException, which KMS,
// IAM and others answer for a resource quota such as keys per Region, and the codes of calls
// still in progress), and HTTP 429.
var rateThrottles = retry.IsErrorThrottles{
	retry.ThrottleErrorCode{Codes: map[string]struct{}{
		"Throttling": {}, "ThrottlingException": {}, "ThrottledException": {}, "RequestThrottledException": {},
		"TooManyRequestsException": {}, "ProvisionedThroughputExceededException": {}, "RequestLimitExceeded": {},
		"RequestThrottled": {}, "SlowDown": {}, "EC2ThrottledException": {}, "BandwidthLimitExceeded": {},
	}},
	retry.IsErrorThrottleFunc(func(err error) aws.Ternary {
		var status interface{ HTTPStatusCode() int }
		if errors.As(err, &status) && status.HTTPStatusCode() == http.StatusTooManyRequests {
			return aws.TrueTernary
		}
		return aws.UnknownTernary
	}),
}

// PatientRetryer is the retryer for the vendor's calls to AWS from the hook and supportctl, for
// aws.Config.Retryer. It is the SDK's standard mode (exponential backoff with full jitter), with
// two changes for a call AWS throttles for its request rate (rateThrottles):
//
//   - it gets ThrottledAttempts attempts (30), not MaxAttempts: it waits, backing off, until AWS
//     admits it, its attempts run out or its context ends (the invocation's deadline, the two
//     minutes a proof's key may wait). A request-rate quota (KMS CreateKey's 5 a second when a StackSet onboards a
//     thousand accounts) is met by waiting, as the AWS SDKs and Tools Reference Guide's "Retry
//     behavior" advises, not by failing the work after a few tries;
//   - its retry takes nothing from the retry quota (the client's token bucket of 500, 5 a retry),
//     which is there to stop retry storms against a failing service: AWS answering "slow down" is
//     not failing, and a Lambda execution environment's quota, drained by one burst, would leave
//     every later call of its lifetime unretried.
//
// Any other retryable error is retried as the standard mode does, at most MaxAttempts times in
// all.
//
// Not the adaptive mode: its client-side rate limiter, one per client in each of the hook's 20
// execution environments, cut each to a trickle after a few throttles, and in a 1,000-account
// burst (test/burst) 13 keys waited in those limiters past their proofs' budget (20 s there),
// while KMS itself had throttled only 271 of 1,266 CreateKey calls.
//
// With a custom retryer the SDK ignores AWS_MAX_ATTEMPTS and aws.Config.RetryMaxAttempts
// (config.LoadDefaultConfig); a client given RetryMaxAttempts in its own options would wrap this
// retryer with that limit, for throttles too.
func PatientRetryer(o PatientRetry) func() aws.Retryer {
	return func() aws.Retryer { return o.over(retry.NewStandard(o.standard)) }
}

func (o PatientRetry) standard(s *retry.StandardOptions) {
	if o.MaxAttempts > 0 {
		s.MaxAttempts = o.MaxAttempts
	}
	if o.MaxBackoff > 0 {
		s.MaxBackoff = o.MaxBackoff
	}
}

// over is base with PatientRetryer's changes for throttled calls; base's MaxAttempts bounds the
// others.
func (o PatientRetry) over(base aws.RetryerV2) *patient {
	return &patient{RetryerV2: base, maxAttempts: base.MaxAttempts(),
		throttledAttempts: max(cmp.Or(o.ThrottledAttempts, DefaultThrottledAttempts), base.MaxAttempts())}
}

type patient struct {
	aws.RetryerV2
	maxAttempts, throttledAttempts int
}

// MaxAttempts is the throttled calls' bound, for the SDK's retry middleware: RetryDelay ends the
// calls that fail for another reason sooner.
func (p *patient) MaxAttempts() int { return p.throttledAttempts }

func (p *patient) throttled(err error) bool { return rateThrottles.IsErrorThrottle(err).Bool() }

// RetryDelay ends a call whose attempt failed for another reason than a rate throttle once it has
// made maxAttempts attempts, with the error the standard mode gives then.
func (p *patient) RetryDelay(attempt int, err error) (time.Duration, error) {
	if !p.throttled(err) && attempt >= p.maxAttempts {
		return 0, &retry.MaxAttemptsError{Attempt: attempt, Err: err}
	}
	return p.RetryerV2.RetryDelay(attempt, err)
}

// GetRetryToken takes from the retry quota for any retry but a throttle's.
func (p *patient) GetRetryToken(ctx context.Context, err error) (func(error) error, error) {
	if p.throttled(err) {
		return func(error) error { return nil }, nil
	}
	return p.RetryerV2.GetRetryToken(ctx, err)
}
