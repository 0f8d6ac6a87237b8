package cfnresource

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxPhysicalIDBytes is CloudFormation's limit for a physical resource ID (1 KB).
const maxPhysicalIDBytes = 1024

// failedCreatePrefix starts every FailedCreateID. Handlers may not return IDs that start with it.
const failedCreatePrefix = "create-failed-"

// plainRequestID matches the RequestIds CloudFormation sends (UUIDs), which FailedCreateID keeps
// readable so the marker can be matched with the logs.
var plainRequestID = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// FailedCreateID is the physical ID of a Create that failed: a recognisable marker derived from the
// RequestId, never empty, so the Delete CloudFormation sends next succeeds at once without calling
// the handler. Answering a failed Create with a real ID would let the rollback's Delete remove a
// resource that belongs to someone else (say, a registration made by another stack). The same
// request always gets the same marker, so duplicate deliveries get the same answer.
func FailedCreateID(e Event) string {
	if plainRequestID.MatchString(e.RequestID) {
		return failedCreatePrefix + e.RequestID
	}
	sum := sha256.Sum256([]byte(e.RequestID))
	return failedCreatePrefix + hex.EncodeToString(sum[:16])
}

// IsFailedCreateID reports whether id is a FailedCreateID.
func IsFailedCreateID(id string) bool {
	return len(id) > len(failedCreatePrefix) && strings.HasPrefix(id, failedCreatePrefix)
}

// checkPhysicalID checks an ID CloudFormation would accept and that keeps a response within
// maxBodyBytes: not empty, at most 1 KB, valid UTF-8, no control characters (so its JSON form is at
// most twice its length).
func checkPhysicalID(id string) error {
	switch {
	case id == "":
		return errors.New("is empty")
	case len(id) > maxPhysicalIDBytes:
		return fmt.Errorf("is %d bytes, over the %d-byte limit", len(id), maxPhysicalIDBytes)
	case !utf8.ValidString(id):
		return errors.New("is not valid UTF-8")
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		return errors.New("contains control characters")
	}
	return nil
}

// checkHandlerID checks a physical ID a handler returned.
func checkHandlerID(id string) error {
	if id == "" {
		return errors.New("empty physical ID")
	}
	if err := checkPhysicalID(id); err != nil {
		return fmt.Errorf("physical ID %w", err)
	}
	if strings.HasPrefix(id, failedCreatePrefix) {
		return fmt.Errorf("physical ID starts with %q, which marks failed Creates", failedCreatePrefix)
	}
	return nil
}

// failureID is the physical ID of a FAILED answer to e: a failed Create gets the marker, a failed
// Update or Delete keeps the ID CloudFormation knows, so a failure is never taken for a replacement.
func failureID(e Event) string {
	if e.RequestType != Create && checkPhysicalID(e.PhysicalResourceID) == nil {
		return e.PhysicalResourceID
	}
	return FailedCreateID(e)
}
