package awsx

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// PatientRetry configures PatientRetryer.
type PatientRetry struct {
	// MaxAttempts bounds the attempts of a call that fails for any retryable reason but a throttle
	// (a 500, a reset connection): 0 is the SDK's default, 3.
	MaxAttempts int
	// MaxBackoff caps the wait between two attempts: 0 is the SDK's default, 20 s.
	MaxBackoff time.Duration
}

// PatientRetryer is the retryer for the vendor's calls to AWS from the hook and the sweep, for
// aws.Config.Retryer. It is the SDK's adaptive mode (each client slows its own rate down when AWS
// throttles it), with two changes for a throttled call:
//
//   - no limit on its attempts: it waits, backing off (exponential, full jitter, at most
//     MaxBackoff apart), until AWS admits it or its context ends (the invocation's deadline, a
//     proof's budget). A request-rate quota (KMS CreateKey's 5 a second when a StackSet onboards a
//     thousand accounts) is met by waiting, as the AWS SDKs and Tools Reference Guide's "Retry
//     behavior" advises, never by failing the work after a fixed count;
//   - its retry takes nothing from the retry quota (the client's token bucket of 500, 5 a retry),
//     which is there to stop retry storms against a failing service: AWS answering "slow down" is
//     not failing, and a Lambda execution environment's quota, drained by one burst, would leave
//     every later call of its lifetime unretried.
//
// Any other retryable error is retried as the standard mode does, at most MaxAttempts times in
// all. Do not also set aws.Config.RetryMaxAttempts (or AWS_MAX_ATTEMPTS): the clients would wrap
// this retryer with that limit for throttles too.
func PatientRetryer(o PatientRetry) func() aws.Retryer {
	return func() aws.Retryer {
		return patientOver(retry.NewAdaptiveMode(func(a *retry.AdaptiveModeOptions) {
			a.StandardOptions = append(a.StandardOptions, o.standard)
		}))
	}
}

func (o PatientRetry) standard(s *retry.StandardOptions) {
	if o.MaxAttempts > 0 {
		s.MaxAttempts = o.MaxAttempts
	}
	if o.MaxBackoff > 0 {
		s.MaxBackoff = o.MaxBackoff
	}
}

// patientOver is base with PatientRetryer's changes for throttled calls; base's MaxAttempts bounds
// the others.
func patientOver(base aws.RetryerV2) *patient {
	return &patient{RetryerV2: base, maxAttempts: base.MaxAttempts(), throttles: retry.IsErrorThrottles(retry.DefaultThrottles)}
}

type patient struct {
	aws.RetryerV2
	maxAttempts int
	throttles   retry.IsErrorThrottles
}

// MaxAttempts is 0, no limit, for the SDK's retry middleware: RetryDelay ends the calls that fail
// for another reason than a throttle.
func (p *patient) MaxAttempts() int { return 0 }

func (p *patient) throttled(err error) bool { return p.throttles.IsErrorThrottle(err).Bool() }

// RetryDelay ends a call whose attempt failed for another reason than a throttle once it has made
// maxAttempts attempts, with the error the standard mode gives then.
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
