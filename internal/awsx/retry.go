package awsx

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// PropagationBudget is how long a change IAM has just accepted may take to be honoured everywhere
// (a role created seconds ago that STS still refuses to assume). AWS documents "a few seconds";
// a minute and a half covers the slow tail without holding a stack for long.
const PropagationBudget = 90 * time.Second

// Backoff is the wait between attempts: exponential from First, capped at Max, with full jitter.
type Backoff struct {
	First, Max time.Duration
}

// DefaultBackoff suits IAM propagation: 0.5 s, 1 s, 2 s, 4 s, 8 s, 8 s, … (before jitter).
var DefaultBackoff = Backoff{First: 500 * time.Millisecond, Max: 8 * time.Second}

// Retry calls fn until it succeeds, returns an error that retryable rejects, or the budget (and the
// context's deadline) leaves no time for another attempt. It never sleeps before the first attempt
// and never past the deadline. The last error is returned, wrapped with the number of attempts.
func Retry(ctx context.Context, budget time.Duration, b Backoff, retryable func(error) bool, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	wait := b.First
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if !retryable(err) {
			return err
		}
		sleep := time.Duration(rand.Int64N(int64(wait) + 1))
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= sleep {
			return fmt.Errorf("still failing after %d attempts within %s: %w", attempt, budget, err)
		}
		timer := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			timer.Stop()
			return errors.Join(fmt.Errorf("gave up after %d attempts: %w", attempt, ctx.Err()), err)
		case <-timer.C:
		}
		wait = min(wait*2, b.Max)
	}
}
