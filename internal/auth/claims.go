package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// claims are the registered and provider claims the verifier reads. Cognito's ID tokens carry aud
// and cognito:username; its access tokens carry client_id and username instead, and no e-mail.
type claims struct {
	Issuer            string
	Subject           string
	Audience          audience
	AuthorizedParty   *string // azp; nil when absent (or null)
	ClientID          string
	TokenUse          string
	Expiry            *numericDate
	NotBefore         *numericDate
	IssuedAt          *numericDate
	Username          string
	CognitoUsername   string
	PreferredUsername string
	Email             string
	EmailVerified     flexBool

	groups []string // from Config.GroupsClaim
}

// field is where decodeClaims puts a claim, by its exact name.
type field struct {
	name string
	dst  any // a pointer
}

// fields are c's claims, in the order decodeClaims reads them.
func (c *claims) fields(groupsClaim string) []field {
	return []field{
		{"iss", &c.Issuer},
		{"sub", &c.Subject},
		{"aud", &c.Audience},
		{"azp", &c.AuthorizedParty},
		{"client_id", &c.ClientID},
		{"token_use", &c.TokenUse},
		{"exp", &c.Expiry},
		{"nbf", &c.NotBefore},
		{"iat", &c.IssuedAt},
		{"username", &c.Username},
		{"cognito:username", &c.CognitoUsername},
		{"preferred_username", &c.PreferredUsername},
		{"email", &c.Email},
		{"email_verified", &c.EmailVerified},
		{groupsClaim, (*groupList)(&c.groups)},
	}
}

// decodeClaims reads a JWT payload: a payload that is not one JSON object is Malformed; a claim
// named twice (or in two cases), or of the wrong type, is Claims. Claims are found by their exact
// names (RFC 7519 §4: names are case-sensitive), never as encoding/json matches struct fields,
// case-insensitively, which would read a claim "ISS" or "Email_Verified" as iss or email_verified.
func decodeClaims(payload []byte, groupsClaim string) (claims, error) {
	all, err := objectMembers(payload)
	var dup duplicateError
	switch {
	case errors.As(err, &dup):
		return claims{}, refuse(Claims, fmt.Sprintf("claim %q appears twice, or in two cases", string(dup)))
	case err != nil:
		return claims{}, refuse(Malformed, "the payload is not a JSON object")
	}
	var c claims
	for _, f := range c.fields(groupsClaim) {
		raw, ok := all[f.name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return claims{}, refuse(Claims, fmt.Sprintf("claim %q is not %s", f.name, jsonKind(f.dst)))
		}
	}
	return c, nil
}

// objectMembers reads b, one JSON object and nothing after it, into its members by their exact
// names (after unescaping: "\u0069ss" is iss). Two names that are equal but for case are a
// duplicateError, the same name twice included: which of the two values counts would be the
// parser's choice, and encoding/json, which go-oidc reads claims with, folds case.
func objectMembers(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNotObject
	}
	members := map[string]json.RawMessage{}
	folded := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		name, ok := tok.(string)
		if err != nil || !ok {
			return nil, errNotObject
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, errNotObject
		}
		f := foldCase(name)
		if folded[f] {
			return nil, duplicateError(name)
		}
		folded[f] = true
		members[name] = value
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errNotObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotObject
	}
	return members, nil
}

// foldCase maps s to one form for all the strings equal to it under Unicode case folding (as
// strings.EqualFold compares): each character becomes the least of its case-folding orbit.
func foldCase(s string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, s)
}

var errNotObject = errors.New("not one JSON object")

// duplicateError names a member whose name, or a case variant of it, appears before it in an object.
type duplicateError string

func (d duplicateError) Error() string {
	return fmt.Sprintf("member %q appears twice (names are compared regardless of case)", string(d))
}

// username is Cognito's (username in access tokens, cognito:username in ID tokens), else the
// OIDC preferred_username.
func (c claims) username() string {
	for _, u := range []string{c.Username, c.CognitoUsername, c.PreferredUsername} {
		if u = strings.TrimSpace(u); u != "" {
			return u
		}
	}
	return ""
}

// email is the e-mail address only when the provider says it is verified: an address a user could
// type in unverified must not name them.
func (c claims) email() string {
	if !c.EmailVerified {
		return ""
	}
	return strings.TrimSpace(c.Email)
}

// audience is aud: one string or a list of strings (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	l, err := stringList(b)
	if err != nil {
		return err
	}
	*a = l
	return nil
}

func (a audience) contains(s string) bool { return slices.Contains(a, s) }

// groupList is the groups claim: a string or a list of strings.
type groupList []string

func (g *groupList) UnmarshalJSON(b []byte) error {
	l, err := stringList(b)
	if err != nil {
		return err
	}
	*g = l
	return nil
}

// stringList reads a JSON string or list of strings; null and "" are the empty list.
func stringList(b []byte) ([]string, error) {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil, nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, err
		}
		if s == "" {
			return nil, nil
		}
		return []string{s}, nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[[]string]()}
	}
	return l, nil
}

// numericDate is a JWT NumericDate: seconds since the epoch, possibly fractional.
type numericDate struct{ time.Time }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(bytes.TrimSpace(b)), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[float64]()}
	}
	// Beyond ±2^53 seconds is nonsense in a token, and would overflow time.Time's arithmetic.
	const limit = 1 << 53
	f = math.Max(-limit, math.Min(limit, f))
	sec, frac := math.Modf(f)
	d.Time = time.Unix(int64(sec), int64(frac*1e9))
	return nil
}

// flexBool is a boolean claim that some providers send as the string "true" or "false".
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "true", `"true"`:
		*f = true
	case "false", `"false"`, "null":
		*f = false
	default:
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[bool]()}
	}
	return nil
}

// jsonKind names what a claim's destination takes, for a log line.
func jsonKind(dst any) string {
	switch dst.(type) {
	case *audience, *groupList:
		return "a string or a list of strings"
	case **numericDate:
		return "a number"
	case *flexBool:
		return "a boolean"
	case *string, **string:
		return "a string"
	}
	return "of the expected type"
}
