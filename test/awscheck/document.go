package awscheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/supportaccess/gateway/internal/policy"
)

// parseStoredDocument reads a policy as IAM or KMS hands it back: GetRole's
// AssumeRolePolicyDocument is URL-encoded JSON (moto encodes it as AWS does: %20 for spaces, %2B
// for plus signs), GetKeyPolicy's policy is plain JSON.
func parseStoredDocument(s string) (policy.Document, error) {
	if !strings.HasPrefix(strings.TrimSpace(s), "{") {
		decoded, err := url.PathUnescape(s)
		if err != nil {
			return policy.Document{}, fmt.Errorf("URL-decoding policy document: %w", err)
		}
		s = decoded
	}
	normalized, err := normalizeDocument([]byte(s))
	if err != nil {
		return policy.Document{}, err
	}
	return policy.Parse(string(normalized))
}

// normalizeDocument rewrites the two shorthands IAM accepts but policy.Document does not: a single
// statement object instead of a list, and "Principal": "*" (everyone), which becomes
// {"AWS": "*"}.
func normalizeDocument(b []byte) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parsing policy document: %w", err)
	}
	raw := bytes.TrimSpace(doc["Statement"])
	if bytes.HasPrefix(raw, []byte("{")) {
		raw = append(append([]byte("["), raw...), ']')
	}
	var statements []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &statements); err != nil {
		return nil, fmt.Errorf("parsing policy statements: %w", err)
	}
	for _, s := range statements {
		if p, ok := s["Principal"]; ok && string(bytes.TrimSpace(p)) == `"*"` {
			s["Principal"] = json.RawMessage(`{"AWS":"*"}`)
		}
	}
	out, err := json.Marshal(map[string]any{"Version": doc["Version"], "Statement": statements})
	if err != nil {
		return nil, fmt.Errorf("re-encoding policy document: %w", err)
	}
	return out, nil
}
