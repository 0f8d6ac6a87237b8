package policy

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// STS's Tag value: 0 to 256 Unicode characters of [\p{L}\p{Z}\p{N}_.:/=+\-@]. Characters are
// counted, not bytes: 256 "ä" are 512 bytes and fine.
func TestValidateSessionTagValue(t *testing.T) {
	for name, tc := range map[string]struct {
		value  string
		reason string // "" when STS takes it
	}{
		"default":                 {"support", ""},
		"empty":                   {"", ""},
		"every symbol":            {"a_b.c:d/e=f+g-h@i", ""},
		"spaces":                  {"prod eu", ""},
		"no-break space (Z)":      {"prod\u00a0eu", ""},
		"non-ASCII letters":       {"Zürich-東京", ""},
		"200 ä":                   {strings.Repeat("ä", 200), ""},
		"256 ä (512 bytes)":       {strings.Repeat("ä", 256), ""},
		"256 characters":          {strings.Repeat("a", 256), ""},
		"digits of other scripts": {"٣", ""},
		"parentheses":             {"prod (eu)", `"prod (eu)" has '(' (character 6): a session tag value is 0 to 256 characters`},
		"257 characters":          {strings.Repeat("a", 257), "the value has 257 characters: a session tag value is 0 to 256 characters (not bytes)"},
		"257 ä":                   {strings.Repeat("ä", 257), "has 257 characters"},
		"a tab":                   {"prod\teu", `has '\t' (character 5)`},
		"a newline":               {"prod\n", `has '\n'`},
		"a comma":                 {"a,b", `has ','`},
		"an emoji":                {"prod😀", `has '😀'`},
		"a percent sign":          {"100%", `has '%'`},
		"not UTF-8":               {"prod\xff", "not UTF-8"},
	} {
		t.Run(name, func(t *testing.T) {
			err := ValidateSessionTagValue(tc.value)
			if tc.reason == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.reason)
			assert.ErrorContains(t, err, SessionTagValueRule, "the message states the rule")
		})
	}
}

// The character check is STS's pattern, [\p{L}\p{Z}\p{N}_.:/=+\-@], for every code point.
func TestSessionTagRuneIsSTSPattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]$`)
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		if got, want := ValidateSessionTagValue(string(r)) == nil, pattern.MatchString(string(r)); got != want {
			t.Fatalf("%U %q: accepted %v, STS's pattern says %v", r, r, got, want)
		}
	}
}
