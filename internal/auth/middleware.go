package auth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
)

// Authenticate verifies the request's bearer token (the Authorization header, and nothing else of
// the request) and returns the caller. Every error is an *Error; WriteError answers it.
func (v *Verifier) Authenticate(r *http.Request) (Identity, error) {
	token, err := BearerToken(r.Header)
	if err != nil {
		return Identity{}, err
	}
	return v.Verify(r.Context(), token)
}

// Require is middleware that lets through only requests whose bearer token Authenticate accepts,
// with the caller's Identity in the request's context (FromContext). Refusals are answered by
// WriteError and logged, one line each, by reason and detail (clipped to MaxDetailBytes); the
// token is never logged. With OnForbidden, a refusal of a verified caller (403) is also handed to
// its function, to be audited.
func Require(v *Verifier, opts ...RequireOption) func(http.Handler) http.Handler {
	var o requireOptions
	for _, opt := range opts {
		opt(&o)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := v.Authenticate(r)
			if err != nil {
				v.logRefusal(r, err)
				var e *Error
				if o.onForbidden != nil && errors.As(err, &e) && e.who != "" {
					f := Forbidden{Principal: e.who, Reason: e.Reason, Detail: e.detail}
					if herr := o.onForbidden(r.Context(), f); herr != nil {
						v.cfg.Logger.ErrorContext(r.Context(), "recording a refusal failed",
							"reason", string(e.Reason), "principal", e.who, "error", herr)
					}
				}
				WriteError(w, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
		})
	}
}

// Forbidden is a refusal of a caller whose token verified, but who has no role (403: NoRole,
// TenantAmbiguous, TenantInvalid).
type Forbidden struct {
	// Principal names the caller: their verified e-mail address, lower-cased, else "sub:<sub>".
	Principal string
	Reason    Reason
	// Detail says exactly what, as the log line does (at most MaxDetailBytes).
	Detail string
}

// RequireOption configures Require.
type RequireOption func(*requireOptions)

type requireOptions struct {
	onForbidden func(context.Context, Forbidden) error
}

// OnForbidden has Require call fn, before answering, for each refusal of a verified caller (403),
// whom the token proves; an error fn returns is logged, and the answer is 403 all the same. It is
// not called for a request without a token that verifies (401, 400, 503): that caller is unproven,
// anyone can send such requests, and a record of each would be a write anyone could make us do;
// those refusals are the log line only.
func OnForbidden(fn func(ctx context.Context, f Forbidden) error) RequireOption {
	return func(o *requireOptions) { o.onForbidden = fn }
}

func (v *Verifier) logRefusal(r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = refuse("", err.Error())
	}
	level := slog.LevelInfo
	switch e.Reason {
	case NoToken:
		level = slog.LevelDebug // every anonymous probe; nothing to act on
	case KeysUnavailable:
		level = slog.LevelError
	}
	// the method and path are the caller's text too: clipped like the detail
	attrs := []any{"reason", string(e.Reason), "status", e.Status(), "detail", Clip(e.Detail(), MaxDetailBytes),
		"method", Clip(r.Method, 20), "path", Clip(r.URL.Path, MaxDetailBytes)}
	if e.who != "" {
		attrs = append(attrs, "principal", e.who) // proven by the token
	}
	v.cfg.Logger.Log(r.Context(), level, "request refused", attrs...)
}

// WriteError answers a refusal from Authenticate: its status, its WWW-Authenticate challenge
// (RFC 6750 §3) and a JSON body {"error": description}, the shape of the broker's refusals.
// An error that is not an *Error is answered as a 401 without detail.
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = refuse(NoToken, "")
	}
	if c := e.Challenge(); c != "" {
		w.Header().Set("WWW-Authenticate", c)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status())
	_ = json.NewEncoder(w).Encode(map[string]string{"error": e.Reason.Description()})
}

type ctxKey struct{}

// NewContext returns ctx carrying id (what Require does; for tests of handlers behind it).
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext is the Identity Require stored, and whether there is one.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}
