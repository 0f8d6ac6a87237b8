package broker_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
)

func TestValidateJustification(t *testing.T) {
	for name, tc := range map[string]struct {
		justification string
		reason        string // "" for a valid one
	}{
		"a sentence":                 {"the customer's deploys fail", ""},
		"1,000 characters":           {strings.Repeat("ä", 1000), ""},
		"1,000 emoji (4 bytes each)": {strings.Repeat("😀", 1000), ""},
		"newlines and tabs":          {"steps:\n\t1. look\n\t2. report", ""},
		"emoji with a joiner":        {"👩\u200d💻", "invisible character (U+200D)"},
		"1,001 characters":           {strings.Repeat("a", 1001), "at most 1000 characters, and it has 1001"},
		"empty":                      {"", "a justification is required"},
		"NUL":                        {"a\x00b", "control character (U+0000)"},
		"carriage return":            {"a\rb", "control character (U+000D)"},
		"DEL":                        {"a\x7fb", "control character (U+007F)"},
		"C1 control":                 {"a\u0085b", "control character (U+0085)"},
		"paragraph separator":        {"a\u2029b", "control character (U+2029)"},
		"zero-width space":           {"a\u200bb", "invisible character (U+200B)"},
		"left-to-right mark":         {"a\u200eb", "invisible character (U+200E)"},
		"first strong isolate":       {"a\u2068b\u2069", "invisible character (U+2068)"},
		"byte order mark":            {"\ufeffa", "invisible character (U+FEFF)"},
		"variation selector 17":      {"a\U000E0100", "invisible character (U+E0100)"},
		"not UTF-8":                  {"a\xc3", "not UTF-8"},
	} {
		err := broker.ValidateJustification(tc.justification)
		if tc.reason == "" {
			assert.NoError(t, err, name)
			continue
		}
		require.ErrorIs(t, err, broker.ErrInvalid, name)
		assert.ErrorContains(t, err, tc.reason, name)
		assert.ErrorContains(t, err, "justification", name)
	}
}
