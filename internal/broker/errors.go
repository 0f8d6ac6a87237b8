package broker

import (
	"errors"
	"fmt"
)

// Classes of refusal, for errors.Is (the HTTP API maps them to status codes). The error's message is
// the reason, written for the person who can act on it.
var (
	// ErrInvalid: the request is malformed (empty ticket, duration over the maximum, bad principal).
	ErrInvalid = errors.New("invalid request")
	// ErrAccountUnavailable: the account is unknown or has no registered onboarding.
	ErrAccountUnavailable = errors.New("account unavailable")
	// ErrNotFound: no such request.
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the caller may not do this (self-approval, another tenant, another engineer).
	ErrForbidden = errors.New("forbidden")
	// ErrConflict: the request's state does not allow it (expired, dismissed, revoked, not approved).
	ErrConflict = errors.New("conflict")
)

// Refusal is a rule the broker enforced: Kind is one of the classes above, Reason says why.
type Refusal struct {
	Kind   error
	Reason string
}

func (r *Refusal) Error() string { return r.Reason }
func (r *Refusal) Unwrap() error { return r.Kind }

func refuse(kind error, format string, args ...any) error {
	return &Refusal{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// isRefusal reports whether err is a rule the broker enforced (as opposed to a failure).
func isRefusal(err error) bool {
	var r *Refusal
	return errors.As(err, &r)
}
