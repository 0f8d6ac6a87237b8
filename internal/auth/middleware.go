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
// token is never logged.
func Require(v *Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := v.Authenticate(r)
			if err != nil {
				v.logRefusal(r, err)
				WriteError(w, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
		})
	}
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
	v.cfg.Logger.Log(r.Context(), level, "request refused",
		"reason", string(e.Reason), "status", e.Status(), "detail", clip(e.Detail(), MaxDetailBytes),
		"method", clip(r.Method, 20), "path", clip(r.URL.Path, MaxDetailBytes))
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
