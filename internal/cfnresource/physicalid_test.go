package cfnresource

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFailedCreateID(t *testing.T) {
	tests := map[string]struct {
		requestID string
		want      string
	}{
		"a CloudFormation RequestId is kept readable": {"2c6f6b7e-6d8e-4a4f-9f0a-3e2b1c0d9e8f", "create-failed-2c6f6b7e-6d8e-4a4f-9f0a-3e2b1c0d9e8f"},
		"odd characters are hashed":                   {"r/1 \n", "create-failed-"},
		"a long RequestId is hashed":                  {strings.Repeat("a", 65), "create-failed-"},
		"an empty RequestId still gives an ID":        {"", "create-failed-"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			id := FailedCreateID(Event{RequestID: tc.requestID})
			assert.True(t, strings.HasPrefix(id, tc.want), id)
			assert.True(t, IsFailedCreateID(id))
			assert.NoError(t, checkPhysicalID(id))
			assert.Equal(t, id, FailedCreateID(Event{RequestID: tc.requestID, StackID: "other"}), "derived from the RequestId only")
		})
	}
	assert.NotEqual(t, FailedCreateID(Event{RequestID: "a b"}), FailedCreateID(Event{RequestID: "a c"}))
}

func TestIsFailedCreateID(t *testing.T) {
	for id, want := range map[string]bool{
		"create-failed-2c6f6b7e":   true,
		"create-failed-":           false,
		"":                         false,
		businessID:                 false,
		"x-create-failed-2c6f6b7e": false,
	} {
		assert.Equal(t, want, IsFailedCreateID(id), id)
	}
}

func TestCheckHandlerID(t *testing.T) {
	tests := map[string]struct {
		id   string
		want string
	}{
		"ok":              {businessID, ""},
		"1 KB":            {strings.Repeat("p", 1024), ""},
		"empty":           {"", "empty physical ID"},
		"over 1 KB":       {strings.Repeat("p", 1025), "physical ID is 1025 bytes, over the 1024-byte limit"},
		"invalid UTF-8":   {"a\xffb", "physical ID is not valid UTF-8"},
		"control":         {"a\nb", "physical ID contains control characters"},
		"reserved prefix": {"create-failed-x", `physical ID starts with "create-failed-", which marks failed Creates`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := checkHandlerID(tc.id)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, tc.want)
		})
	}
}
