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
	// ErrAccountUnavailable: the caller cannot use the account: it is unknown, its onboarding is not
	// (or no longer) registered, it is in dispute, or another tenant owns it. All of these answer
	// alike ("no account <id> you can use", HTTP 404), so that nobody learns from the answer which
	// accounts exist or whose they are; the audit records which it was (Refusal.Detail).
	ErrAccountUnavailable = errors.New("account unavailable")
	// ErrNotFound: no such request.
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the caller may not do this (self-approval, another tenant, another engineer).
	ErrForbidden = errors.New("forbidden")
	// ErrConflict: the request's state does not allow it (expired, dismissed, revoked, not approved).
	ErrConflict = errors.New("conflict")
	// ErrTooLarge: the HTTP request's body is over MaxBodyBytes.
	ErrTooLarge = errors.New("too large")
)

// Refusal is a rule the broker enforced: Kind is one of the classes above, Reason says why.
// Detail, if set, is what only the audit records: the precise reason behind a Reason that is kept
// the same for several cases so that it tells the caller nothing more.
type Refusal struct {
	Kind   error
	Reason string
	Detail string
}

func (r *Refusal) Error() string { return r.Reason }
func (r *Refusal) Unwrap() error { return r.Kind }

func refuse(kind error, format string, args ...any) error {
	return &Refusal{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// noAccount is the refusal for an account the caller cannot use, the same whatever the reason;
// detail, the reason, goes only to the audit.
func noAccount(account, detail string, args ...any) error {
	return &Refusal{Kind: ErrAccountUnavailable, Reason: fmt.Sprintf("no account %s you can use", account),
		Detail: fmt.Sprintf(detail, args...)}
}

// isRefusal reports whether err is a rule the broker enforced (as opposed to a failure).
func isRefusal(err error) bool {
	var r *Refusal
	return errors.As(err, &r)
}
