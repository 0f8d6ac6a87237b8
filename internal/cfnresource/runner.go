package cfnresource

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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

// HandleRaw answers one custom-resource request exactly once. In order: decode the payload; drop
// it (logged) if it cannot be answered or its ResponseURL host is not allowed, since there is
// nowhere safe to answer; answer a Delete of a failed Create at once; answer bad input FAILED,
// except a Delete, which never blocks a customer's stack deletion: it is answered SUCCESS without
// running the handler and logged as an error for operators (CloudFormation itself never sends a
// malformed Delete); otherwise run the handler under a watchdog and answer with its outcome.
//
// It returns nil once a response was delivered, even FAILED, and for logged drops (a retry cannot
// help). It returns an error only when no response could be delivered, so that Lambda's
// asynchronous retry tries again (the handlers are idempotent).
func (r *Runner) HandleRaw(ctx context.Context, payload json.RawMessage) error {
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
	if err := responder.Hosts.Check(e.ResponseURL); err != nil {
		log.Warn("request dropped: its response URL is not allowed", append(eventAttrs(e), "reason", err.Error())...)
		return nil
	}

	var resp Response
	switch {
	case e.RequestType == Delete && IsFailedCreateID(e.PhysicalResourceID):
		resp = succeeded(e, e.PhysicalResourceID, Result{})
		resp.Reason = "nothing to delete: the Create failed"
	case decodeErr != nil && e.RequestType == Delete:
		log.Error("malformed Delete answered SUCCESS without running the handler: check what it left behind",
			append(eventAttrs(e), "reason", decodeErr.Error())...)
		resp = succeeded(e, e.PhysicalResourceID, Result{})
		resp.Reason = "ignored: " + decodeErr.Error()
	case decodeErr != nil:
		resp = failed(e, decodeErr.Error())
	default:
		resp = r.runHandler(ctx, e, start, log)
	}
	return deliver(ctx, responder, e, resp, log)
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
