package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// claims are the registered and provider claims the verifier reads. Cognito's ID tokens carry aud
// and cognito:username; its access tokens carry client_id and username instead, and no e-mail.
type claims struct {
	Issuer            string       `json:"iss"`
	Subject           string       `json:"sub"`
	Audience          audience     `json:"aud"`
	ClientID          string       `json:"client_id"`
	TokenUse          string       `json:"token_use"`
	Expiry            *numericDate `json:"exp"`
	NotBefore         *numericDate `json:"nbf"`
	IssuedAt          *numericDate `json:"iat"`
	Username          string       `json:"username"`
	CognitoUsername   string       `json:"cognito:username"`
	PreferredUsername string       `json:"preferred_username"`
	Email             string       `json:"email"`
	EmailVerified     flexBool     `json:"email_verified"`

	groups []string // from Config.GroupsClaim
}

// decodeClaims reads a JWT payload: a payload that is not a JSON object is Malformed, a claim of
// the wrong type is Claims.
func decodeClaims(payload []byte, groupsClaim string) (claims, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(payload, &all); err != nil {
		return claims{}, refuse(Malformed, "the payload is not a JSON object")
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return claims{}, refuse(Claims, fmt.Sprintf("claim %q is not %s", te.Field, jsonKind(te.Type)))
		}
		return claims{}, refuse(Claims, err.Error())
	}
	if raw, ok := all[groupsClaim]; ok {
		g, err := stringList(raw)
		if err != nil {
			return claims{}, refuse(Claims, fmt.Sprintf("claim %q is not %s", groupsClaim, jsonKind(reflect.TypeFor[[]string]())))
		}
		c.groups = g
	}
	return c, nil
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

// jsonKind names a claim's expected JSON type for a log line.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "a string or a list of strings"
	case reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	}
	return "of the expected type"
}
