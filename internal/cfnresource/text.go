package cfnresource

import (
	"strconv"
	"unicode/utf8"
)

// maxQuotedBytes bounds the untrusted strings quoted in errors and logs.
const maxQuotedBytes = 64

// quoteClipped quotes s for an error message, cut to maxQuotedBytes on a rune boundary.
func quoteClipped(s string) string {
	if len(s) > maxQuotedBytes {
		return strconv.Quote(s[:runeStart(s, maxQuotedBytes)]) + "…"
	}
	return strconv.Quote(s)
}

// runeStart returns the largest n' <= n at which s can be cut without splitting a UTF-8 sequence.
func runeStart(s string, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}
