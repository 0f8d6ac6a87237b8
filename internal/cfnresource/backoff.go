package cfnresource

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// backoff is the wait before retry number attempt (1, 2, …): full jitter, a random duration
// between 0 and BaseBackoff·2^(attempt-1), capped at maxBackoff.
func (r *Responder) backoff(attempt int) time.Duration {
	ceiling := r.BaseBackoff
	if ceiling <= 0 {
		ceiling = defaultBaseBackoff
	}
	for i := 1; i < attempt && ceiling < maxBackoff; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, maxBackoff)
	return rand.N(ceiling + 1)
}

// sleep waits d, unless ctx ends first or waiting would pass ctx's deadline.
func sleep(ctx context.Context, d time.Duration) error {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= d {
		return fmt.Errorf("waiting %s would pass the deadline", d.Round(time.Millisecond))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting to retry: %w", context.Cause(ctx))
	}
}
