package auth

import (
	"errors"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// Reason is why a request was refused. Each reason has one HTTP status and one short description
// that tells the client what to do; its string value is the stable key written to logs.
type Reason string

// The reasons, in the order the checks meet them.
const (
	// NoToken: the request has no Authorization header.
	NoToken Reason = "no_token"
	// WrongScheme: the Authorization header uses another scheme than Bearer (Basic, say).
	WrongScheme Reason = "wrong_scheme"
	// BadRequest: the Authorization header is not one Bearer token (repeated, empty, not b64token, too long).
	BadRequest Reason = "bad_request"
	// Malformed: the token is not a compact JWS with a JSON payload.
	Malformed Reason = "malformed"
	// Algorithm: the token is signed with an algorithm outside the allow-list (RS256, ES256).
	Algorithm Reason = "algorithm"
	// Claims: a claim the verifier needs is missing or of the wrong type (exp, iss, sub, the groups claim).
	Claims Reason = "claims"
	// Issuer: iss is not the configured issuer.
	Issuer Reason = "issuer"
	// TokenUse: a Cognito token_use other than "id" or "access".
	TokenUse Reason = "token_use"
	// Audience: neither aud nor (without aud) client_id names the configured client.
	Audience Reason = "audience"
	// Expired: exp has passed.
	Expired Reason = "expired"
	// NotYetValid: nbf or iat is further in the future than the leeway.
	NotYetValid Reason = "not_yet_valid"
	// Signature: the signature does not verify with the issuer's keys (tampered, or an unknown key ID).
	Signature Reason = "signature"
	// UnknownKey: the token names a key ID (kid) the issuer's key set does not have, and the set was
	// fetched less than Config.JWKSRefetchInterval ago, or has just been fetched without it.
	UnknownKey Reason = "unknown_key"
	// KeysUnavailable: the issuer's keys could not be fetched, so the token could not be checked.
	// A token that no cached key verifies gets this too while the JWKS cannot be fetched: it may be
	// signed with a key published since.
	KeysUnavailable Reason = "keys_unavailable"
	// NoUser: the token names no usable user (no username and no verified e-mail).
	NoUser Reason = "no_user"
	// EngineerWithoutEmail: an engineer's token carries no verified e-mail, the only name an
	// engineer has (a Cognito access token carries none: send the ID token).
	EngineerWithoutEmail Reason = "engineer_without_email"
	// CustomerWithoutEmail: a customer's token carries no verified e-mail. A customer is named by it
	// too: a name the broker's staff rule can read (a staff address never decides for a customer),
	// and one name per person whichever token they send (a Cognito access token carries none).
	CustomerWithoutEmail Reason = "customer_without_email"
	// NoRole: signed in, but in neither the engineer group nor a tenant group.
	NoRole Reason = "no_role"
	// TenantAmbiguous: signed in, not an engineer, and in more than one tenant group.
	TenantAmbiguous Reason = "tenant_ambiguous"
	// TenantInvalid: signed in, not an engineer, and the tenant group names no usable tenant.
	TenantInvalid Reason = "tenant_invalid"
)

type reasonInfo struct {
	status int
	// code is the RFC 6750 error code for WWW-Authenticate; "" for none (§3.1: a request
	// without bearer credentials gets a challenge without an error code).
	code        string
	description string
}

// descriptions are fixed text, never built from the request: they go into a quoted header
// parameter, and RFC 6750 §3 admits only %x20-21 / %x23-5B / %x5D-7E there (no '"', no '\').
var reasons = map[Reason]reasonInfo{
	NoToken:              {http.StatusUnauthorized, "", "sign in: send Authorization: Bearer <token>"},
	WrongScheme:          {http.StatusUnauthorized, "", "the Authorization header must use the Bearer scheme"},
	BadRequest:           {http.StatusBadRequest, "invalid_request", "send exactly one Authorization: Bearer <token> header"},
	Malformed:            {http.StatusUnauthorized, "invalid_token", "the token is not a signed JWT: sign in again"},
	Algorithm:            {http.StatusUnauthorized, "invalid_token", "the token is signed with an algorithm other than RS256 or ES256"},
	Claims:               {http.StatusUnauthorized, "invalid_token", "the token lacks a required claim or has one of the wrong type"},
	Issuer:               {http.StatusUnauthorized, "invalid_token", "the token is from another issuer: sign in with the configured identity provider"},
	TokenUse:             {http.StatusUnauthorized, "invalid_token", "send an ID token or an access token"},
	Audience:             {http.StatusUnauthorized, "invalid_token", "the token was issued to another client: sign in through this application"},
	Expired:              {http.StatusUnauthorized, "invalid_token", "the token has expired: sign in again"},
	NotYetValid:          {http.StatusUnauthorized, "invalid_token", "the token is not valid yet: check the clock"},
	Signature:            {http.StatusUnauthorized, "invalid_token", "the token signature does not verify with the issuer keys"},
	UnknownKey:           {http.StatusUnauthorized, "invalid_token", "the token is signed with a key the issuer does not publish: sign in again"},
	KeysUnavailable:      {http.StatusServiceUnavailable, "", "the identity provider keys could not be fetched: try again later"},
	NoUser:               {http.StatusUnauthorized, "invalid_token", "the token names no user (no username and no verified e-mail)"},
	NoRole:               {http.StatusForbidden, "insufficient_scope", "signed in, but not in the engineer group or a tenant group"},
	EngineerWithoutEmail: {http.StatusUnauthorized, "invalid_token", "an engineer token must carry a verified e-mail: send the ID token"},
	CustomerWithoutEmail: {http.StatusUnauthorized, "invalid_token", "a customer token must carry a verified e-mail: send the ID token"},
	TenantAmbiguous:      {http.StatusForbidden, "insufficient_scope", "signed in, but in more than one tenant group"},
	TenantInvalid:        {http.StatusForbidden, "insufficient_scope", "signed in, but the tenant group names no valid tenant"},
}

// Status is the HTTP status of a refusal for this reason: 401 for a missing or invalid token,
// 400 for a malformed Authorization header, 403 for a valid token without a role, 503 when the
// issuer's keys could not be fetched.
func (r Reason) Status() int {
	if i, ok := reasons[r]; ok {
		return i.status
	}
	return http.StatusUnauthorized
}

// Description is the short text a client can act on.
func (r Reason) Description() string {
	if i, ok := reasons[r]; ok {
		return i.description
	}
	return "the request is not authenticated"
}

// Error is a refusal: Reason says why, in a form clients can act on; the detail, for logs only,
// says exactly what (a claim's value, a key ID), in at most MaxDetailBytes. Neither ever holds the
// token.
type Error struct {
	Reason Reason
	detail string
	// who names the caller of a verified token that is refused a role (403), else "".
	who string
}

// MaxDetailBytes bounds a refusal's detail, and each value of the request a refusal's log line
// repeats (the path): much of it is the caller's text (a claim's value, a kid, the groups), which
// must not make each refused request a 16 KiB log line. A longer one is clipped, and says so.
const MaxDetailBytes = 200

func refuse(r Reason, detail string) *Error {
	return &Error{Reason: r, detail: Clip(detail, MaxDetailBytes)}
}

// Clip is s when it has at most n bytes, else its start (whole characters, at most n bytes) and a
// marker that says it was clipped, and from how many bytes.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…[clipped, " + strconv.Itoa(len(s)) + " bytes]"
}

func (e *Error) Error() string {
	if e.detail == "" {
		return "auth: " + e.Reason.Description()
	}
	return "auth: " + e.Reason.Description() + ": " + e.detail
}

// Detail says exactly what was wrong, for the server's log (never the token itself).
func (e *Error) Detail() string { return e.detail }

// Status is Reason.Status.
func (e *Error) Status() int { return e.Reason.Status() }

// Challenge is the WWW-Authenticate value for the response (RFC 6750 §3), or "" when none is sent
// (a 503: the fault is ours, not the credentials').
//
//	Bearer
//	Bearer error="invalid_token", error_description="the token has expired: sign in again"
func (e *Error) Challenge() string {
	i, ok := reasons[e.Reason]
	switch {
	case !ok:
		return `Bearer error="invalid_token"`
	case i.status == http.StatusServiceUnavailable:
		return ""
	case i.code == "":
		return "Bearer"
	}
	return `Bearer error="` + i.code + `", error_description="` + i.description + `"`
}

// ReasonOf is err's Reason, or "" when err is not an *Error.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
