package gateway

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tp is the n-th of six distinct well-formed thumbprints.
func tp(n int) string { return strings.Repeat(string(rune('a'+n)), 40) }

func TestParseThumbprints(t *testing.T) {
	tests := map[string]struct {
		list    string
		want    []string
		wantErr string // "": accepted
	}{
		"none: IAM's own":             {list: "", want: nil},
		"only separators":             {list: " , ,", want: nil},
		"one, upper case, trimmed":    {list: " 9E99A48A9960B14926BB7F3B02E22DA2B0AB7280 ,", want: []string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"}},
		"five: IAM's maximum":         {list: strings.Join([]string{tp(0), tp(1), tp(2), tp(3), tp(4)}, ","), want: []string{tp(0), tp(1), tp(2), tp(3), tp(4)}},
		"six: one more than IAM's":    {list: strings.Join([]string{tp(0), tp(1), tp(2), tp(3), tp(4), tp(5)}, ","), wantErr: "6 thumbprints, IAM allows at most 5 per OIDC provider (IAM API Reference, CreateOpenIDConnectProvider, ThumbprintList)"},
		"a duplicate":                 {list: tp(0) + "," + tp(1) + "," + tp(0), wantErr: tp(0) + " is listed twice"},
		"a duplicate in another case": {list: tp(0) + "," + strings.ToUpper(tp(0)), wantErr: tp(0) + " is listed twice"},
		"too short":                   {list: "abc", wantErr: `"abc" is not a 40-character lower-case hex SHA-1 thumbprint`},
		"too long":                    {list: tp(0) + "0", wantErr: "is not a 40-character"},
		"not hex":                     {list: strings.Repeat("g", 40), wantErr: "is not a 40-character"},
		"a colon-separated fingerprint": {list: "9E:99:A4:8A:99:60:B1:49:26:BB:7F:3B:02:E2:2D:A2:B0:AB:72:80",
			wantErr: "is not a 40-character"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseThumbprints(tt.list)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// The rule holds for a list that does not come from a variable (hook.Settings), where nothing has
// lower-cased it.
func TestCheckThumbprints(t *testing.T) {
	assert.NoError(t, CheckThumbprints(nil))
	assert.NoError(t, CheckThumbprints([]string{tp(0), tp(1), tp(2), tp(3), tp(4)}))
	assert.ErrorContains(t, CheckThumbprints([]string{tp(0), tp(1), tp(2), tp(3), tp(4), tp(5)}), "at most 5")
	assert.ErrorContains(t, CheckThumbprints([]string{strings.ToUpper(tp(0))}), "lower-case")
	assert.ErrorContains(t, CheckThumbprints([]string{tp(1), tp(1)}), "listed twice")
}
