package cfnresource

import (
	"errors"
	"net/url"
	"strings"
)

// The ResponseURL is a bearer credential for one answer (its query holds the signature), so it is
// never logged. net/http puts it in every *url.Error it returns; redact takes it out.

// redactedError is a *url.Error without its URL.
type redactedError struct {
	op  string
	err error
}

func (e *redactedError) Error() string { return e.op + " [ResponseURL]: " + e.err.Error() }
func (e *redactedError) Unwrap() error { return e.err }

// redact removes the URL of a *url.Error in err's chain, and any copy of rawURL in the text of the
// error it wraps.
func redact(err error, rawURL string) error {
	var uerr *url.Error
	if !errors.As(err, &uerr) {
		return err
	}
	inner := uerr.Err
	if msg := inner.Error(); msg != scrub(msg, rawURL) {
		inner = errors.New(scrub(msg, rawURL))
	}
	return &redactedError{op: uerr.Op, err: inner}
}

// scrub replaces rawURL, and its query when long enough to be a signature, in s.
func scrub(s, rawURL string) string {
	if rawURL == "" {
		return s
	}
	s = strings.ReplaceAll(s, rawURL, "[ResponseURL]")
	if _, query, ok := strings.Cut(rawURL, "?"); ok && len(query) >= 8 {
		s = strings.ReplaceAll(s, query, "[query]")
	}
	return s
}
