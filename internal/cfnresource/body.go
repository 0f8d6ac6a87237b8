package cfnresource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// maxBodyBytes is CloudFormation's limit for a response body.
const maxBodyBytes = 4096

// maxHeaderBytes bounds a response without its physical ID, reason and Data (see headerFits). The
// rest of the 4096 bytes is left for a physical ID of up to 1 KB, whose JSON form is at most twice
// as long (checkPhysicalID), and for a cut Reason and NoEcho.
const maxHeaderBytes = maxBodyBytes - 2*maxPhysicalIDBytes - 64

// ellipsis ends a Reason that was cut.
const ellipsis = "…"

// encodeResponse marshals resp within maxBodyBytes. A body that is too long first has its Reason
// cut (keeping its head, on a rune boundary, ending with "…"); if Data alone still overflows, Data
// is dropped and the Reason says so. It fails only when the identifiers alone are too long.
func encodeResponse(resp Response) ([]byte, error) {
	resp.Reason = strings.ToValidUTF8(resp.Reason, "\uFFFD")
	body, err := marshalJSON(resp)
	if err != nil {
		return nil, fmt.Errorf("marshalling the response: %w", err)
	}
	if len(body) <= maxBodyBytes {
		return body, nil
	}
	if body, ok := cutReason(resp); ok {
		return body, nil
	}
	note := fmt.Sprintf("response Data (%d keys) dropped: over the %d-byte response limit", len(resp.Data), maxBodyBytes)
	if resp.Reason != "" {
		note += "; " + resp.Reason
	}
	resp.Data, resp.Reason = nil, note
	if body, err = marshalJSON(resp); err == nil && len(body) <= maxBodyBytes {
		return body, nil
	}
	if body, ok := cutReason(resp); ok {
		return body, nil
	}
	return nil, fmt.Errorf("the response is over the %d-byte limit even without Data and Reason", maxBodyBytes)
}

// cutReason returns resp marshalled with the longest head of its Reason, plus "…", that fits.
func cutReason(resp Response) ([]byte, bool) {
	reason := resp.Reason
	try := func(n int) ([]byte, bool) {
		resp.Reason = reason[:runeStart(reason, n)] + ellipsis
		body, err := marshalJSON(resp)
		return body, err == nil && len(body) <= maxBodyBytes
	}
	if reason == "" {
		return nil, false
	}
	best, ok := try(0)
	if !ok {
		return nil, false
	}
	// Longer heads never give shorter bodies, so search for the longest that fits.
	lo, hi := 0, min(len(reason), maxBodyBytes)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if body, ok := try(mid); ok {
			best, lo = body, mid
		} else {
			hi = mid - 1
		}
	}
	return best, true
}

// headerFits reports whether a FAILED answer to e leaves room for any valid physical ID and a cut
// Reason within maxBodyBytes.
func headerFits(e Event) bool {
	body, err := marshalJSON(Response{
		Status:            statusFailed,
		StackID:           e.StackID,
		RequestID:         e.RequestID,
		LogicalResourceID: e.LogicalResourceID,
	})
	return err == nil && len(body) <= maxHeaderBytes
}

// marshalJSON marshals v without HTML escaping (which would triple the size of "<", ">" and "&"
// for nothing) and without a trailing newline.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
