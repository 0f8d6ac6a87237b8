package cfnresource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// ServiceTimeout bounds, in seconds: CloudFormation's default and maximum is one hour.
const (
	defaultServiceTimeout = 3600
	minServiceTimeout     = 1
	maxServiceTimeout     = 3600
)

// runHandler runs the handler and returns the answer: the handler's outcome, or FAILED "timed out"
// if the watchdog fires first, Margin before answerBy (the earliest of ctx's deadline, start +
// ServiceTimeout and when CloudFormation stops waiting by the request's own claims). A handler still running then keeps running (a goroutine cannot be stopped), with
// its context cancelled; its late result is logged and discarded.
func (r *Runner) runHandler(ctx context.Context, e Event, start time.Time, log *slog.Logger) Response {
	margin := r.margin()
	budget := answerBy(ctx, e, start, margin).Sub(r.now())
	if budget <= 0 {
		return failed(e, fmt.Sprintf("timed out: less than the %s margin was left to run the handler", margin))
	}
	hctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	stopped := func() string { // why the handler was stopped
		if errors.Is(hctx.Err(), context.DeadlineExceeded) {
			return fmt.Sprintf("timed out: the handler did not finish within %s (answering %s before the deadline)",
				budget.Round(time.Millisecond), margin)
		}
		return "cancelled: the invocation ended before the handler finished"
	}

	var decider gate
	results := make(chan Response, 1)
	go func() {
		resp := failed(e, "internal error: the handler exited without returning")
		defer func() { // also runs on runtime.Goexit
			if decider.claim() {
				results <- resp
				return
			}
			log.Warn("late handler result discarded: the watchdog answered first", responseAttrs(e, resp)...)
		}()
		resp = r.call(hctx, e, log)
		if resp.Status == statusFailed && hctx.Err() != nil {
			resp.Reason = stopped() + ": " + resp.Reason // the handler gave up when told to stop
		}
	}()

	select {
	case resp := <-results:
		return resp
	case <-hctx.Done():
		if !decider.claim() {
			return <-results // the handler finished first; its result is on its way
		}
		return failed(e, stopped())
	}
}

// gate lets exactly one of the handler and the watchdog decide the answer.
type gate struct{ once sync.Once }

// claim reports whether the caller is the first to claim the gate.
func (g *gate) claim() (first bool) {
	g.once.Do(func() { first = true })
	return first
}

// serviceTimeout reads the ServiceTimeout property: a string of seconds, default 3600, capped to
// 1..3600.
func serviceTimeout(props map[string]any) time.Duration {
	seconds := defaultServiceTimeout
	if s, ok := props["ServiceTimeout"].(string); ok {
		if n, err := strconv.Atoi(s); err == nil {
			seconds = min(max(n, minServiceTimeout), maxServiceTimeout)
		}
	}
	return time.Duration(seconds) * time.Second
}
