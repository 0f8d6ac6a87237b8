package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/supportaccess/gateway/test/lambdaruntime"
)

// CloudFormation publishes a custom resource's request to the vendor's topic; SNS invokes the hook
// Lambda asynchronously, at least once: now and then it delivers a notification twice ("Amazon SNS
// message delivery": at-least-once), and the two may run at once on two execution environments or
// one after the other. An event waits in Lambda's queue while every execution environment is busy
// (Config.HookConcurrency is the function's reserved concurrency), for at most its MaxEventAge.
// CloudFormation acts on the first answer PUT to the ResponseURL and waits for it at most the
// resource's ServiceTimeout; the Lambda goes on with its follow-up work after answering, which keeps
// its execution environment busy. notify plays all of it. Lambda's retries of an invocation that
// returned an error (RetryAttempts 2) are not played: the hook returns one only when its answer
// could not be delivered.

// defaultServiceTimeout is how long CloudFormation waits for a custom resource without a
// ServiceTimeout property (an hour), and the most it may be set to.
const defaultServiceTimeout = time.Hour

// serviceTimeout reads a custom resource's ServiceTimeout (seconds, 1 to 3600; the properties are
// strings by then).
func serviceTimeout(props map[string]any) time.Duration {
	s, _ := props["ServiceTimeout"].(string)
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return defaultServiceTimeout
	}
	return min(time.Duration(n)*time.Second, defaultServiceTimeout)
}

// notifications is how many times SNS delivers the next notification: 1, or 2 at the rate of
// Config.Duplicates.
func (a *AWS) notifications() int {
	if a.cfg.Duplicates <= 0 {
		return 1
	}
	a.randMu.Lock()
	defer a.randMu.Unlock()
	if a.rand.Float64() < a.cfg.Duplicates {
		return 2
	}
	return 1
}

// duplicateDelay is how much later than the first a second delivery arrives: uniform in
// [0, Config.DuplicateDelay].
func (a *AWS) duplicateDelay() time.Duration {
	if a.cfg.DuplicateDelay <= 0 {
		return 0
	}
	a.randMu.Lock()
	defer a.randMu.Unlock()
	return time.Duration(a.rand.Int64N(int64(a.cfg.DuplicateDelay) + 1))
}

// notify delivers payload to an idle execution environment of the hook after delay, in the
// background, and records the invocation's end on d. The invocation runs to its end whatever the
// caller does; Settle waits for it.
func (a *AWS) notify(d *delivery, payload []byte, delay time.Duration) {
	a.inflight.add()
	go func() {
		defer a.inflight.done()
		a.responses.end(d, a.invoke(payload, delay))
	}()
}

// invoke is one asynchronous invocation of the hook with payload, published delay ago at the
// latest: an event that waits for an idle execution environment past maxEventAge is not delivered
// (Lambda sends it to the dead-letter queue).
func (a *AWS) invoke(payload []byte, delay time.Duration) error {
	ctx := a.life
	queued := time.Now()
	if delay > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
	tooOld := time.NewTimer(maxEventAge - time.Since(queued))
	defer tooOld.Stop()
	var fn *lambdaruntime.Runtime
	select {
	case fn = <-a.hooks: // an idle execution environment
	case <-tooOld.C:
		return fmt.Errorf("not delivered: no execution environment was free for %s (MaxEventAge), the event went to the dead-letter queue", maxEventAge)
	case <-ctx.Done():
		return ctx.Err()
	}
	inv, err := fn.Invoke(ctx, payload, hookTimeout)
	a.release(ctx, fn)
	switch {
	case err != nil:
		return fmt.Errorf("invoking the hook: %w", err)
	case inv.Error != nil:
		return fmt.Errorf("the hook failed the invocation (%s): %s", inv.Error.Type, inv.Error.Message)
	}
	return nil
}

// Settle waits until every notification sent so far has been handled to its end (the hook's
// follow-up work after its answers, such as proving a gateway role, included), or ctx ends.
func (a *AWS) Settle(ctx context.Context) error {
	return a.inflight.wait(ctx)
}

// Deliveries lists every custom-resource request sent so far, in order, with its notifications and
// answers.
func (a *AWS) Deliveries() []Delivery { return a.responses.all() }

// counter counts work in flight; wait returns once none is.
type counter struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; a new one when work starts again
}

func (c *counter) add() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		c.idle = make(chan struct{})
	}
	c.n++
}

func (c *counter) done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n--; c.n == 0 {
		close(c.idle)
	}
}

func (c *counter) wait(ctx context.Context) error {
	for {
		c.mu.Lock()
		n, idle := c.n, c.idle
		c.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return fmt.Errorf("%d hook invocations still running: %w", n, ctx.Err())
		}
	}
}

// newRand is the simulation's source of randomness: seeded, so a run can be repeated.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}
