package awsx

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func apiError(code string) error {
	return fmt.Errorf("calling: %w", &smithy.GenericAPIError{Code: code, Message: "m"})
}

func TestClassification(t *testing.T) {
	assert.True(t, IsAccessDenied(apiError("AccessDenied")))
	assert.False(t, IsAccessDenied(apiError("Throttling")))
	assert.False(t, IsAccessDenied(errors.New("AccessDenied"))) // by type, never by text
	assert.True(t, IsNotFound(apiError("NoSuchEntity")))
	assert.True(t, IsConditionFailed(apiError("ConditionalCheckFailedException")))
	assert.False(t, IsNotFound(nil))
}

var fast = Backoff{First: time.Millisecond, Max: 4 * time.Millisecond}

func TestRetrySucceedsAfterTransientErrors(t *testing.T) {
	calls := 0
	err := Retry(context.Background(), time.Second, fast, IsAccessDenied, func(context.Context) error {
		calls++
		if calls < 4 {
			return apiError("AccessDenied")
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 4, calls)
}

func TestRetryStopsOnTerminalError(t *testing.T) {
	calls := 0
	err := Retry(context.Background(), time.Second, fast, IsAccessDenied, func(context.Context) error {
		calls++
		return apiError("MalformedPolicyDocument")
	})
	assert.Equal(t, 1, calls)
	assert.Equal(t, "MalformedPolicyDocument", ErrorCode(err))
}

func TestRetryRespectsBudget(t *testing.T) {
	start := time.Now()
	calls := 0
	err := Retry(context.Background(), 50*time.Millisecond, Backoff{First: 5 * time.Millisecond, Max: 10 * time.Millisecond},
		IsAccessDenied, func(context.Context) error { calls++; return apiError("AccessDenied") })
	require.Error(t, err)
	assert.True(t, IsAccessDenied(err), "the last error is kept: %v", err)
	assert.Greater(t, calls, 1)
	assert.Less(t, time.Since(start), time.Second, "bounded by the budget")
}

func TestRetryRespectsContextDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := Retry(ctx, time.Hour, Backoff{First: 10 * time.Millisecond, Max: 10 * time.Millisecond},
		IsAccessDenied, func(context.Context) error { return apiError("AccessDenied") })
	require.Error(t, err)
	assert.True(t, IsAccessDenied(err))
}
