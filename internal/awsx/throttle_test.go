package awsx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kmsAnswering is a KMS client whose endpoint answers each call with answer(n), n counting the
// calls from 1: the status, and KMS's JSON error type for a failure. Its retryer is
// PatientRetryer(o).
func kmsAnswering(t *testing.T, o PatientRetry, answer func(n int64) (int, string)) (*kms.Client, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, errType := answer(calls.Add(1))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		if errType != "" {
			_, _ = w.Write([]byte(`{"__type":"` + errType + `","message":"answered by the test"}`))
			return
		}
		_, _ = w.Write([]byte(`{"KeyMetadata":{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab"}}`))
	}))
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", Retryer: PatientRetryer(o),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	return kms.NewFromConfig(cfg, func(k *kms.Options) { k.BaseEndpoint = aws.String(srv.URL) }), &calls
}

const quick = time.Millisecond // the backoff's cap in these tests

// A throttled call is retried past the attempts any other error gets, until KMS admits it.
func TestPatientRetryerWaitsOutThrottles(t *testing.T) {
	k, calls := kmsAnswering(t, PatientRetry{MaxAttempts: 3, MaxBackoff: quick}, func(n int64) (int, string) {
		if n <= 12 {
			return http.StatusBadRequest, "ThrottlingException"
		}
		return http.StatusOK, ""
	})
	_, err := k.CreateKey(t.Context(), &kms.CreateKeyInput{})
	require.NoError(t, err)
	assert.EqualValues(t, 13, calls.Load(), "12 throttled attempts, then the one admitted")
}

// Any other retryable error (a 500) still ends the call after MaxAttempts attempts, with the
// standard mode's error.
func TestPatientRetryerBoundsOtherErrors(t *testing.T) {
	c, calls := kmsAnswering(t, PatientRetry{MaxAttempts: 3, MaxBackoff: quick}, func(int64) (int, string) {
		return http.StatusInternalServerError, "KMSInternalException"
	})
	_, err := c.CreateKey(t.Context(), &kms.CreateKeyInput{})
	var maxed *retry.MaxAttemptsError
	require.ErrorAs(t, err, &maxed)
	assert.EqualValues(t, 3, calls.Load())
}

// A call throttled for ever ends with its context, not before and not long after, or after its
// ThrottledAttempts.
func TestPatientRetryerEndsWithItsContext(t *testing.T) {
	c, calls := kmsAnswering(t, PatientRetry{MaxAttempts: 3, ThrottledAttempts: 1000, MaxBackoff: 20 * time.Millisecond}, func(int64) (int, string) {
		return http.StatusBadRequest, "ThrottlingException"
	})
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	started := time.Now()
	_, err := c.CreateKey(ctx, &kms.CreateKeyInput{})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(started), 5*time.Second, "it ended with its context")
	assert.Greater(t, calls.Load(), int64(3), "it outlasted the other errors' attempts")
}

// The retry quota (500 tokens, 5 a retry) would stop retrying after 100 retries in a client's
// lifetime; throttled retries take none, so 150 of them, over 30 calls, all end admitted.
func TestPatientRetryerSpendsNoRetryQuotaOnThrottles(t *testing.T) {
	c, calls := kmsAnswering(t, PatientRetry{MaxAttempts: 3, MaxBackoff: quick}, func(n int64) (int, string) {
		if n%6 != 0 {
			return http.StatusBadRequest, "ThrottlingException"
		}
		return http.StatusOK, ""
	})
	for i := range 30 {
		_, err := c.CreateKey(t.Context(), &kms.CreateKeyInput{})
		require.NoError(t, err, "call %d", i)
	}
	assert.EqualValues(t, 180, calls.Load(), "5 throttled attempts and 1 admitted, 30 times")
}

func TestPatientRetryerBoundsThrottledAttempts(t *testing.T) {
	c, calls := kmsAnswering(t, PatientRetry{MaxAttempts: 3, ThrottledAttempts: 7, MaxBackoff: quick}, func(int64) (int, string) {
		return http.StatusBadRequest, "ThrottlingException"
	})
	_, err := c.CreateKey(t.Context(), &kms.CreateKeyInput{})
	var maxed *retry.MaxAttemptsError
	require.ErrorAs(t, err, &maxed)
	assert.EqualValues(t, 7, calls.Load())
}

// KMS's LimitExceededException is a resource quota (keys per Region, aliases per key), which
// waiting does not clear, though the SDK counts it as a throttle: it gets MaxAttempts, as a 500
// does; so does a call still in progress. A bare 429 is a rate throttle.
func TestPatientRetryerWaitsOnlyForRateThrottles(t *testing.T) {
	for code, want := range map[string]int64{"LimitExceededException": 3, "TransactionInProgressException": 3, "SlowDown": 7} {
		c, calls := kmsAnswering(t, PatientRetry{MaxAttempts: 3, ThrottledAttempts: 7, MaxBackoff: quick}, func(int64) (int, string) {
			return http.StatusBadRequest, code
		})
		_, err := c.CreateKey(t.Context(), &kms.CreateKeyInput{})
		require.Error(t, err, code)
		assert.EqualValues(t, want, calls.Load(), code)
	}
	c, calls := kmsAnswering(t, PatientRetry{MaxAttempts: 3, ThrottledAttempts: 7, MaxBackoff: quick}, func(int64) (int, string) {
		return http.StatusTooManyRequests, "SomethingUnmodeled"
	})
	_, err := c.CreateKey(t.Context(), &kms.CreateKeyInput{})
	require.Error(t, err)
	assert.EqualValues(t, 7, calls.Load(), "a 429")
}

// The base is the standard mode: the adaptive mode's client-side rate limiter starved throttled
// calls in a 1,000-account burst (PatientRetryer's documentation).
func TestPatientRetryerIsTheStandardMode(t *testing.T) {
	p, ok := PatientRetryer(PatientRetry{})().(*patient)
	require.True(t, ok)
	_, standard := p.RetryerV2.(*retry.Standard)
	assert.True(t, standard, "%T", p.RetryerV2)
	assert.Equal(t, DefaultThrottledAttempts, p.MaxAttempts())
	assert.Equal(t, retry.DefaultMaxAttempts, p.maxAttempts)
}
