package policy

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxSessionTagValueLength is the longest session tag value STS takes, in Unicode characters (not
// bytes).
const MaxSessionTagValueLength = 256

// SessionTagValueRule is STS's rule for a session tag value, as the errors of
// ValidateSessionTagValue state it.
const SessionTagValueRule = "a session tag value is 0 to 256 characters (not bytes), each a letter, a digit, a space " +
	"or one of _ . : / = + - @"

// ValidateSessionTagValue checks v against STS's rule for a session tag value (the API reference's
// Tag data type: 0 to 256 characters of [\p{L}\p{Z}\p{N}_.:/=+\-@]), the value of the vendor's
// session tag (SessionTagKey) in every token. A value STS refuses would fail every session, so the
// broker and the issuer check it up front, with this one function.
func ValidateSessionTagValue(v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%q is not UTF-8 text: %s", v, SessionTagValueRule)
	}
	if n := utf8.RuneCountInString(v); n > MaxSessionTagValueLength {
		return fmt.Errorf("the value has %d characters: %s", n, SessionTagValueRule)
	}
	for i, r := range v {
		if !sessionTagRune(r) {
			return fmt.Errorf("%q has %q (character %d): %s", v, r, utf8.RuneCountInString(v[:i])+1, SessionTagValueRule)
		}
	}
	return nil
}

// sessionTagRune is [\p{L}\p{Z}\p{N}_.:/=+\-@].
func sessionTagRune(r rune) bool {
	switch r {
	case '_', '.', ':', '/', '=', '+', '-', '@':
		return true
	}
	return unicode.In(r, unicode.L, unicode.Z, unicode.N)
}
