package broker_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
)

// STS says how full the packed session policies and tags are; past 80 % each session logs one
// warning with the percentage, so growth shows before STS refuses sessions (PackedPolicyTooLarge).
func TestBrokerWarnsWhenPackedPolicySizeIsNearTheLimit(t *testing.T) {
	for name, tc := range map[string]struct {
		packed, tokenUse *int32
		want             map[string]any // the warning's attributes checked; nil: no line at all
	}{
		"81 %":                         {packed: aws.Int32(81), want: map[string]any{"packedPolicySize": 81.0}},
		"100 %":                        {packed: aws.Int32(100), want: map[string]any{"packedPolicySize": 100.0}},
		"80 %":                         {packed: aws.Int32(80)},
		"not reported":                 {},
		"0 %":                          {packed: aws.Int32(0)},
		"session token 81 %":           {tokenUse: aws.Int32(81), want: map[string]any{"sessionTokenUtilization": 81.0}},
		"session token 80 %":           {tokenUse: aws.Int32(80), packed: aws.Int32(80)},
		"both over: still one line":    {packed: aws.Int32(90), tokenUse: aws.Int32(85), want: map[string]any{"packedPolicySize": 90.0, "sessionTokenUtilization": 85.0}},
		"one over, the other reported": {packed: aws.Int32(30), tokenUse: aws.Int32(95), want: map[string]any{"packedPolicySize": 30.0, "sessionTokenUtilization": 95.0}},
	} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			f := newFixtureWith(t, broker.Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			f.sts.packed, f.sts.tokenUse = tc.packed, tc.tokenUse
			r := f.request(t)
			_, err := f.b.Approve(t.Context(), approver, r.ID)
			require.NoError(t, err)
			c, err := f.b.Credentials(t.Context(), engineer, r.ID)
			require.NoError(t, err, "a warning, not a refusal")

			var lines []map[string]any
			sc := bufio.NewScanner(&logs)
			for sc.Scan() {
				var line map[string]any
				require.NoError(t, json.Unmarshal(sc.Bytes(), &line), sc.Text())
				lines = append(lines, line)
			}
			if tc.want == nil {
				assert.Empty(t, lines)
				return
			}
			require.Len(t, lines, 1, "one line per session")
			line := lines[0]
			assert.Equal(t, "WARN", line["level"])
			assert.Equal(t, acct, line["account"])
			assert.Equal(t, r.ID, line["request"])
			assert.Equal(t, c.RoleARN, line["role"])
			for k, v := range tc.want {
				assert.Equal(t, v, line[k], k)
			}
			for _, secret := range []string{aws.ToString(f.sts.calls[0].WebIdentityToken), c.SecretAccessKey, c.SessionToken, c.AccessKeyID} {
				assert.NotContains(t, logs.String(), secret, "no token, no key in the log")
			}
		})
	}
}
