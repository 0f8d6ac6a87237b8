package cfnresource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// Runner ties it together; HandleRaw is what lambda.Start calls.
type Runner struct {
	Handler   Handler
	Responder *Responder       // nil: a Responder with defaults, answering CloudFormation's buckets only
	Logger    *slog.Logger     // nil: slog JSON to stderr
	Margin    time.Duration    // answered this long before the deadline; default 10s, must cover one PUT
	Now       func() time.Time // nil: time.Now (tests inject); must agree with the clock of ctx's deadline
}

const defaultMargin = 10 * time.Second

// HandleRaw answers every custom-resource request in a Lambda payload exactly once: an SNS
// notification with several records is split (SplitRecords) and its requests are handled
// concurrently, each as below.
//
// For one request, in order: decode it; drop it (logged) if it cannot be answered or its
// ResponseURL host is not allowed, since there is nowhere safe to answer; if CloudFormation has
// stopped waiting for it by its own claims (its URL expired, or its claimed send time plus
// ServiceTimeout has passed), do nothing and answer FAILED only if the URL still works; answer a
// Delete of a failed Create at once (then tell a FailedCreateDeleter); answer bad input FAILED,
// except a Delete; otherwise run the handler under a watchdog and answer with its outcome.
//
// A Delete never blocks a customer's stack deletion: whatever happens (bad input, a handler error
// or panic, the watchdog), it is answered SUCCESS with the old physical ID, and what went wrong is
// logged at ERROR with alert=delete_incomplete for operators.
//
// It returns nil once every response was delivered, even FAILED, and for logged drops (a retry
// cannot help). It returns an error only when a response that CloudFormation still waits for could
// not be delivered, so that Lambda's asynchronous retry tries again (the handlers are idempotent).
func (r *Runner) HandleRaw(ctx context.Context, payload json.RawMessage) error {
	payloads := SplitRecords(payload)
	if len(payloads) == 1 {
		return r.handleOne(ctx, payloads[0])
	}
	errs := make([]error, len(payloads))
	var wg sync.WaitGroup
	for i, p := range payloads {
		wg.Go(func() { errs[i] = r.handleOne(ctx, p) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// alertDeleteIncomplete is the stable value of the alert key on a Delete answered SUCCESS without
// finishing: a log metric filter counts it.
const alertDeleteIncomplete = "delete_incomplete"

func (r *Runner) handleOne(ctx context.Context, payload []byte) error {
	start := r.now()
	log := r.logger()
	responder := r.Responder
	if responder == nil {
		responder = &Responder{}
	}

	e, decodeErr := Decode(payload)
	if decodeErr != nil && !Answerable(e) {
		log.Warn("request dropped: it cannot be answered", append(eventAttrs(e), "reason", decodeErr.Error())...)
		return nil
	}
	if err := responder.Hosts.CheckFor(e.ResponseURL, e.StackID); err != nil {
		log.Warn("request dropped: its response URL is not allowed", append(eventAttrs(e), "reason", err.Error())...)
		return nil
	}
	if rt := claimedTimes(e); !rt.expires.IsZero() && !start.Before(rt.expires) {
		log.Warn("request dropped: its response URL has expired, CloudFormation stopped waiting; nothing done", eventAttrs(e)...)
		return nil
	}
	if until := waitingUntil(e); !until.IsZero() && !start.Before(until) {
		resp := failed(e, "too late: CloudFormation stopped waiting for this request before it arrived; nothing was done")
		if e.RequestType == Delete {
			resp = succeeded(e, e.PhysicalResourceID, Result{})
			resp.Reason = "too late: CloudFormation stopped waiting for this request; nothing was done"
		}
		log.Warn("request arrived after CloudFormation stopped waiting: nothing done", eventAttrs(e)...)
		_ = deliver(ctx, responder, e, resp, log) // nobody waits for it: a failure is not retried
		return nil
	}

	var resp Response
	switch {
	case e.RequestType == Delete && IsFailedCreateID(e.PhysicalResourceID):
		resp = succeeded(e, e.PhysicalResourceID, Result{})
		resp.Reason = "nothing to delete: the Create failed"
		if fd, ok := r.Handler.(FailedCreateDeleter); ok {
			resp.then = func(ctx context.Context) { fd.DeleteFailedCreate(ctx, withoutURL(e)) }
		}
	case decodeErr != nil && e.RequestType == Delete:
		resp = neverBlockDelete(e, decodeErr.Error(), log)
	case decodeErr != nil:
		resp = failed(e, decodeErr.Error())
	default:
		resp = r.runHandler(ctx, e, start, log)
		if e.RequestType == Delete && resp.Status != statusSuccess {
			resp = neverBlockDelete(e, resp.Reason, log)
		}
	}
	// The follow-up runs whether or not the answer could be delivered: anyone can make the PUT fail
	// (a forged URL on a response bucket's host), and what the handler left for later must not
	// depend on it. It is idempotent, and a Lambda retry runs it again at most.
	err := deliver(ctx, responder, e, resp, log)
	r.runThen(ctx, e, resp.then, log)
	return err
}

// neverBlockDelete turns a Delete that could not finish into SUCCESS with the old physical ID, and
// logs why for operators: a FAILED Delete would leave the customer's stack DELETE_FAILED.
func neverBlockDelete(e Event, why string, log *slog.Logger) Response {
	log.Error("Delete answered SUCCESS without finishing, so the stack deletion is not blocked: check what it left behind",
		append(eventAttrs(e), "alert", alertDeleteIncomplete, "reason", clip(why))...)
	resp := succeeded(e, e.PhysicalResourceID, Result{})
	resp.Reason = "not everything was cleaned up (" + why + "); the stack deletion goes on and the rest is cleaned up later"
	return resp
}

// runThen runs a handler's follow-up work after its answer was delivered, until the invocation's
// deadline less the margin. A panic is recovered and logged.
func (r *Runner) runThen(ctx context.Context, e Event, then func(context.Context), log *slog.Logger) {
	if then == nil {
		return
	}
	tctx, cancel := context.WithCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		tctx, cancel = context.WithDeadline(ctx, deadline.Add(-r.margin()))
	}
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			log.Error("follow-up work panicked after the answer", append(eventAttrs(e),
				"correlation_id", correlationID(), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))...)
		}
	}()
	then(tctx)
}

// withoutURL is e as handlers see it: without the ResponseURL, a credential they have no use for.
func withoutURL(e Event) Event {
	e.ResponseURL = ""
	return e
}

// Invoke makes the Runner a lambda.Handler: aws-lambda-go then passes the payload untouched,
// instead of decoding it first and failing malformed JSON before the Runner can log and drop it.
func (r *Runner) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return nil, r.HandleRaw(ctx, payload)
}

// deliver sends resp and logs the outcome.
func deliver(ctx context.Context, responder *Responder, e Event, resp Response, log *slog.Logger) error {
	sendCtx, cancel := sendContext(ctx)
	defer cancel()
	attrs := responseAttrs(e, resp)
	if err := responder.Send(sendCtx, e.ResponseURL, resp); err != nil {
		log.Error("response not delivered", append(attrs, "error", err.Error())...)
		return fmt.Errorf("answering %s request %s for %s: %w", e.RequestType, e.RequestID, e.LogicalResourceID, err)
	}
	level := slog.LevelInfo
	if resp.Status != statusSuccess {
		level = slog.LevelWarn
	}
	log.Log(ctx, level, "response delivered", attrs...)
	return nil
}

// sendContext keeps ctx's deadline but not its cancellation: the answer is the one thing that must
// still go out when the work was cancelled.
func sendContext(ctx context.Context) (context.Context, context.CancelFunc) {
	detached := context.WithoutCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(detached, deadline)
	}
	return context.WithCancel(detached)
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) margin() time.Duration {
	if r.Margin > 0 {
		return r.Margin
	}
	return defaultMargin
}
