package issuer

import "errors"

// Errors callers branch on, with errors.Is.
var (
	// ErrUnknownAccount: the account has no signing key (never onboarded).
	ErrUnknownAccount = errors.New("issuer: unknown account")
	// ErrOffboarded: every key of the account is scheduled for deletion.
	ErrOffboarded = errors.New("issuer: account offboarded")
	// ErrInvalidRequest: a token request the issuer refuses to sign (lifetime, subject, tag, host).
	ErrInvalidRequest = errors.New("issuer: invalid token request")
	// ErrNoSubjectKey: the pairwise-subject key has not been created (EnsureSubjectKey).
	ErrNoSubjectKey = errors.New("issuer: no pairwise-subject key")
	// ErrNotPublished: the key that would sign is not in the account's published JWKS yet.
	ErrNotPublished = errors.New("issuer: signing key not published")
)
