package broker

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of what the broker takes in. Each is checked where the value enters, before anything is
// read or written, and refused (ErrInvalid, HTTP 400) with the field and the limit named.
const (
	// MaxPrincipalBytes is the longest principal, in bytes of UTF-8: an e-mail address (at most 254
	// bytes, RFC 5321's 256-byte path less its angle brackets) after "tenant:", a tenant name and
	// "/", with room to spare. A principal is part of a DynamoDB key: every audit event is also
	// stored under "AUDIT#PRINCIPAL#<principal>" as its partition key, which DynamoDB limits to
	// 2,048 bytes (the sort key, a fixed 76 bytes here, to 1,024), so a principal of over 2,032
	// bytes cannot be recorded at all, and 512 keeps well clear of it.
	MaxPrincipalBytes = 512
	// MaxJustificationLength is the longest justification, in characters: a paragraph (this one is
	// about 450) that tells the customer why access is needed; the ticket it names holds the
	// detail. The customer reads it before deciding, and every request's REQUESTED event repeats it
	// under the account and the engineer, so a long one costs on both sides and helps neither.
	MaxJustificationLength = 1000
	// echoBytes is how much of a value that is refused for its size a reason or an audit event
	// repeats: enough to recognise it, never the whole of something oversized (or pasted by mistake).
	echoBytes = 64
)

// requestIDPattern is the shape of the IDs the broker gives requests (newID("req-")): any other
// names no request.
var requestIDPattern = regexp.MustCompile(`^req-[0-9a-f]{24}$`)

// ValidRequestID reports whether id has the shape of the IDs the broker gives requests: a client can
// refuse any other before asking, since it names no request.
func ValidRequestID(id string) bool { return requestIDPattern.MatchString(id) }

// validatePrincipal says why p, the principal acting (what the sign-in, or supportctl -as, gave),
// cannot be recorded, or nil: it is UTF-8 text of 1 to MaxPrincipalBytes bytes without control
// characters or line breaks.
func validatePrincipal(p string) error {
	switch {
	case p == "":
		return refuse(ErrInvalid, "a principal is required")
	case len(p) > MaxPrincipalBytes:
		return refuse(ErrInvalid, "the principal is too long: at most %d bytes, and it has %d", MaxPrincipalBytes, len(p))
	case !utf8.ValidString(p):
		return refuse(ErrInvalid, "the principal is not UTF-8 text")
	}
	if i := strings.IndexFunc(p, lineOrControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(p[i:])
		return refuse(ErrInvalid, "the principal has a control character (%U)", r)
	}
	return nil
}

// ValidateJustification says why j cannot justify a request, or nil: it is UTF-8 text of 1 to
// MaxJustificationLength characters, whose only control characters are newlines and tabs, without
// invisible characters (format characters such as zero-width spaces and bidirectional controls,
// variation selectors, and the other default-ignorable code points, which can hide or reorder what
// the customer reads). Its errors are refusals of class ErrInvalid naming the field and the limit.
func ValidateJustification(j string) error { return validateText("justification", j) }

// ValidateReason says why text cannot be the reason a customer gives for dismissing (or revoking)
// a request, or nil: the rules of ValidateJustification, the field named "reason".
func ValidateReason(text string) error { return validateText("reason", text) }

// validateText applies ValidateJustification's rules to the text of field.
func validateText(field, j string) error {
	switch {
	case j == "":
		return refuse(ErrInvalid, "a %s is required", field)
	case !utf8.ValidString(j):
		return refuse(ErrInvalid, "the %s is not UTF-8 text", field)
	}
	if n := utf8.RuneCountInString(j); n > MaxJustificationLength {
		return refuse(ErrInvalid, "the %s is too long: at most %d characters, and it has %d", field, MaxJustificationLength, n)
	}
	for _, r := range j {
		switch {
		case r == '\n' || r == '\t':
		case lineOrControl(r):
			return refuse(ErrInvalid, "the %s has a control character (%U): only newlines and tabs are allowed", field, r)
		case invisible(r):
			return refuse(ErrInvalid, "the %s has an invisible character (%U)", field, r)
		}
	}
	return nil
}

// lineOrControl: a control character (category Cc: NUL, tab, newline, …) or a Unicode line or
// paragraph separator.
func lineOrControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

// clip returns s if it is at most max bytes, else its start (whole characters, at most max bytes)
// and how long it was, with a short hash that tells two long values with the same start apart.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	sum := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%s…[%d bytes, sha256 %x]", s[:cut], len(s), sum[:6])
}

// echo is clip at echoBytes: how a refusal repeats a value it was given.
func echo(s string) string { return clip(s, echoBytes) }
