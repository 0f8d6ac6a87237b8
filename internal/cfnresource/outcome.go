package cfnresource

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime/debug"
)

// call runs the handler for e and turns what happens into the answer; a panic is recovered (never
// re-raised) and answered "internal error" with a correlation id that is logged with the stack.
func (r *Runner) call(ctx context.Context, e Event, log *slog.Logger) (resp Response) {
	defer func() {
		if v := recover(); v != nil {
			id := correlationID()
			log.Error("handler panicked", append(eventAttrs(e),
				"correlation_id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))...)
			resp = failed(e, "internal error (correlation id "+id+")")
		}
	}()
	res, err := dispatch(ctx, r.Handler, withoutURL(e))
	return outcome(e, res, err)
}

func dispatch(ctx context.Context, h Handler, e Event) (Result, error) {
	switch e.RequestType {
	case Create:
		return h.Create(ctx, e)
	case Update:
		return h.Update(ctx, e)
	case Delete:
		return h.Delete(ctx, e)
	default:
		return Result{}, errUnsupported(e.RequestType)
	}
}

// outcome is the answer to e given what the handler returned. Physical IDs: a failed Create gets
// the FailedCreateID marker; a failed Update or Delete keeps the old ID; an Update that returns no
// ID keeps the old one; a Create that returns none is an internal error.
func outcome(e Event, res Result, err error) Response {
	if err != nil {
		return failed(e, err.Error())
	}
	switch e.RequestType {
	case Create, Update:
		id := res.PhysicalResourceID
		if e.RequestType == Update {
			id = cmp.Or(id, e.PhysicalResourceID)
		}
		if err := checkHandlerID(id); err != nil {
			return failed(e, "internal error: "+err.Error())
		}
		resp := succeeded(e, id, res)
		resp.then = res.Then
		return resp
	case Delete:
		resp := succeeded(e, e.PhysicalResourceID, res)
		resp.then = res.Then
		return resp
	default:
		return failed(e, errUnsupported(e.RequestType).Error())
	}
}

// correlationID is a short random id tying a customer-visible Reason to the logs.
func correlationID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
