package gateway

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// MaxThumbprints is the most certificate thumbprints IAM keeps on one OIDC provider (IAM API
// Reference, CreateOpenIDConnectProvider and UpdateOpenIDConnectProviderThumbprint, ThumbprintList:
// "IAM lets you have up to five thumbprints for an OIDC provider"). More would be refused by the
// first CreateOpenIDConnectProvider, in a customer's account, in the middle of a stack operation.
const MaxThumbprints = 5

// thumbprint is IAM's form of one: the hex SHA-1 of a certificate, "always a 40-character string"
// (the same reference); lower case, the form IAM returns and Plan compares.
var thumbprint = regexp.MustCompile(`^[0-9a-f]{40}$`)

// ParseThumbprints reads a comma-separated list of thumbprints (ISSUER_THUMBPRINTS) into the form
// Options.Thumbprints takes: trimmed, lower case, empty entries skipped. None (nil) leaves the
// providers' thumbprints to IAM. The error names the rule broken, not the variable: the caller
// knows where the list came from.
func ParseThumbprints(list string) ([]string, error) {
	var out []string
	for _, tp := range strings.Split(list, ",") {
		if tp = strings.ToLower(strings.TrimSpace(tp)); tp != "" {
			out = append(out, tp)
		}
	}
	if err := CheckThumbprints(out); err != nil {
		return nil, err
	}
	return out, nil
}

// CheckThumbprints checks a list of thumbprints against IAM's rules before any IAM call: each a
// 40-character lower-case hex SHA-1, at most MaxThumbprints. A thumbprint listed twice is refused
// rather than dropped: it is a slip in the configuration (most often the second certificate of a
// rotation pasted as the first one again), and dropping it would hide that the intended one is
// missing.
func CheckThumbprints(tps []string) error {
	for i, tp := range tps {
		if !thumbprint.MatchString(tp) {
			return fmt.Errorf("%q is not a 40-character lower-case hex SHA-1 thumbprint", tp)
		}
		if slices.Contains(tps[:i], tp) {
			return fmt.Errorf("%s is listed twice", tp)
		}
	}
	if len(tps) > MaxThumbprints {
		return fmt.Errorf("%d thumbprints, IAM allows at most %d per OIDC provider "+
			"(IAM API Reference, CreateOpenIDConnectProvider, ThumbprintList)", len(tps), MaxThumbprints)
	}
	return nil
}
