package cfnresource

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleResponse(reason string) Response {
	return Response{
		Status:             statusFailed,
		Reason:             reason,
		PhysicalResourceID: "create-failed-2c6f6b7e-6d8e-4a4f-9f0a-3e2b1c0d9e8f",
		StackID:            fixtureStack,
		RequestID:          "2c6f6b7e-6d8e-4a4f-9f0a-3e2b1c0d9e8f",
		LogicalResourceID:  "Hook",
	}
}

// sizeWith is the body size of resp with the given reason, uncut.
func sizeWith(t *testing.T, resp Response, reason string) int {
	t.Helper()
	resp.Reason = reason
	b, err := marshalJSON(resp)
	require.NoError(t, err)
	return len(b)
}

func decodeBody(t *testing.T, body []byte) Response {
	t.Helper()
	var r Response
	require.NoError(t, json.Unmarshal(body, &r))
	return r
}

func TestEncodeResponseFieldNames(t *testing.T) {
	resp := sampleResponse("role <x> & co")
	resp.NoEcho, resp.Data = true, map[string]string{"Arn": "arn:x"}
	body, err := encodeResponse(resp)
	require.NoError(t, err)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(body, &fields))
	assert.ElementsMatch(t, []string{"Status", "Reason", "PhysicalResourceId", "StackId", "RequestId", "LogicalResourceId", "NoEcho", "Data"}, keys(fields))
	assert.Contains(t, string(body), "role <x> & co", "no HTML escaping")
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestEncodeResponseCutsReasonAtTheEdge puts a multi-byte character astride the 4096-byte limit, at
// every byte offset, for characters of 1 to 4 bytes.
func TestEncodeResponseCutsReasonAtTheEdge(t *testing.T) {
	base := sampleResponse("")
	for _, char := range []string{"a", "é", "€", "😀"} {
		for overflow := range 2 * len(char) {
			t.Run(fmt.Sprintf("%s over by %d", char, overflow), func(t *testing.T) {
				// ASCII padding, then the character repeated, so the body is 4096+overflow bytes.
				pad := maxBodyBytes + overflow - (sizeWith(t, base, "x") - 1)
				reason := strings.Repeat("x", pad-4*len(char)) + strings.Repeat(char, 4)
				require.Equal(t, maxBodyBytes+overflow, sizeWith(t, base, reason))

				body, err := encodeResponse(sampleResponse(reason))
				require.NoError(t, err)
				assert.LessOrEqual(t, len(body), maxBodyBytes)
				got := decodeBody(t, body)
				if overflow == 0 {
					assert.Equal(t, reason, got.Reason, "a body of exactly 4096 bytes is not cut")
					return
				}
				assert.True(t, utf8.ValidString(got.Reason))
				require.True(t, strings.HasSuffix(got.Reason, ellipsis), got.Reason)
				head := strings.TrimSuffix(got.Reason, ellipsis)
				assert.True(t, strings.HasPrefix(reason, head), "the head of the reason is kept")
				next, size := utf8.DecodeRuneInString(reason[len(head):])
				assert.Greater(t, sizeWith(t, base, head+string(next)+ellipsis), maxBodyBytes, "the cut is as late as fits (next rune %q, %d bytes)", next, size)
			})
		}
	}
}

func TestEncodeResponseLimits(t *testing.T) {
	bigData := map[string]string{}
	for i := range 10 {
		bigData[fmt.Sprintf("Key%d", i)] = strings.Repeat("v", 500)
	}
	tests := map[string]struct {
		resp       func() Response
		wantReason string // prefix
		wantData   bool
	}{
		"small is untouched": {
			resp:       func() Response { return sampleResponse("role cannot be assumed") },
			wantReason: "role cannot be assumed",
		},
		"huge reason is cut": {
			resp:       func() Response { return sampleResponse(strings.Repeat("é", 1<<20)) },
			wantReason: "ééé",
		},
		"invalid UTF-8 in the reason is replaced": {
			resp:       func() Response { return sampleResponse("bad \xff byte") },
			wantReason: "bad \uFFFD byte",
		},
		"data that overflows is dropped, and the reason says so": {
			resp: func() Response {
				r := sampleResponse("")
				r.Status, r.Data = statusSuccess, bigData
				return r
			},
			wantReason: "response Data (10 keys) dropped: over the 4096-byte response limit",
		},
		"data that overflows with a long reason: note first, reason cut": {
			resp: func() Response {
				r := sampleResponse(strings.Repeat("r", 5000))
				r.Data = bigData
				return r
			},
			wantReason: "response Data (10 keys) dropped: over the 4096-byte response limit; rrr",
		},
		"reason is cut before data is dropped": {
			resp: func() Response {
				r := sampleResponse(strings.Repeat("r", 4000))
				r.Data = map[string]string{"Arn": strings.Repeat("a", 3000)}
				return r
			},
			wantReason: "rrr",
			wantData:   true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := tc.resp()
			body, err := encodeResponse(resp)
			require.NoError(t, err)
			assert.LessOrEqual(t, len(body), maxBodyBytes)
			got := decodeBody(t, body)
			assert.True(t, strings.HasPrefix(got.Reason, tc.wantReason), got.Reason)
			assert.Equal(t, resp.Status, got.Status, "the status is never changed")
			assert.Equal(t, resp.PhysicalResourceID, got.PhysicalResourceID)
			assert.Equal(t, tc.wantData, got.Data != nil)
		})
	}
}

func TestEncodeResponseTooLongIdentifiers(t *testing.T) {
	resp := sampleResponse("x")
	resp.StackID = strings.Repeat("s", 5000)
	_, err := encodeResponse(resp)
	assert.EqualError(t, err, "the response is over the 4096-byte limit even without Data and Reason")
}

// TestEncodeResponseWorstCaseAnswerable: an Answerable event with the longest valid physical ID of
// characters that JSON escapes still gets an answer.
func TestEncodeResponseWorstCaseAnswerable(t *testing.T) {
	e := Event{ResponseURL: bucketURL, RequestID: strings.Repeat("\"", 300), LogicalResourceID: strings.Repeat("\\", 300)}
	for e.StackID = "s"; headerFits(Event{StackID: e.StackID + "s", RequestID: e.RequestID, LogicalResourceID: e.LogicalResourceID}); {
		e.StackID += "s"
	}
	require.True(t, Answerable(e))
	resp := succeeded(e, strings.Repeat("\"", maxPhysicalIDBytes), Result{NoEcho: true, Data: map[string]string{"K": "v"}})
	resp.Reason = strings.Repeat("r", 3000)
	body, err := encodeResponse(resp)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(body), maxBodyBytes)
}
