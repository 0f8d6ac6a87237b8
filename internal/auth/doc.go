// Package auth is sign-in for the vendor's backend: it verifies the OIDC bearer token every API
// call carries and says who the caller is and which role the identity provider gives them.
//
// The identity provider is the vendor's choice: Amazon Cognito by default, or any OpenID Provider.
// A Verifier accepts the tokens of one issuer (Config.Issuer, compared exactly) issued to one
// client (Config.Audience): a standard OIDC token whose aud contains the client ID (with several
// audiences, azp must name the client; an azp, when present, always must), or a Cognito access
// token, which has no aud but client_id and token_use "access". Signatures are checked
// against the issuer's JWKS (found by discovery, or Config.JWKSURL for a provider without a
// discovery document, such as moto's Cognito), with RS256 or ES256 only. The JWKS is fetched when a
// token names a key ID the verifier does not hold, at most once per Config.JWKSRefetchInterval (1
// minute by default), one fetch shared by the requests that wait for it: a made-up kid within the
// interval is refused (UnknownKey) without a request to the identity provider, and a rotated key is
// picked up at the first token that names it after the interval.
//
// Claims are read by their exact names (RFC 7519 §4), never case-insensitively as encoding/json
// matches struct fields; a payload or header that has a name twice, or in two cases ("email" and
// "EMAIL"), is refused, since parsers differ on which of the two counts.
//
// Claims to roles (Verifier.identity):
//
//   - the groups are the claim Config.GroupsClaim (default "cognito:groups"), a list of strings;
//   - a member of Config.EngineerGroup (e.g. "doit-engineers") is an engineer, whatever other
//     groups they are in: an engineer is never also a customer, so never approves access;
//   - otherwise a member of exactly one group "tenant:<tenant>" (Config.TenantGroupPrefix) is a
//     customer of that tenant; two tenant groups are refused, not guessed between;
//   - anyone else is signed in but has no role: 403.
//
// Groups, not a custom attribute, carry the tenant: Cognito puts groups into access tokens as well
// as ID tokens (custom attributes only reach ID tokens), and only an administrator can change a
// user's groups, whereas a user may be allowed to write their own attributes.
//
// Identity.Principal gives the caller in the broker's form: an engineer is their verified e-mail
// address (else their username), a customer "tenant:<tenant>/<username>" (else the verified
// e-mail), lower-cased. An e-mail counts only when email_verified is true.
//
// The HTTP side: Authenticate reads only the Authorization header; Require is middleware that puts
// the Identity into the request's context (FromContext); WriteError answers a refusal with its
// status (401 for a missing or invalid token, 403 for no role, 400 for a malformed header, 503 when
// the keys cannot be fetched), a WWW-Authenticate challenge (RFC 6750 §3) and a short reason;
// OnForbidden hands each 403, whose caller the token proves, to a function that audits it (a 401's
// caller is unproven: its record is the log line, so that no one can make each attempt a write). No
// token is ever logged, and what the caller chose (a claim's value, a kid, the path) reaches a log
// line clipped to MaxDetailBytes.
//
// Package localop is an OpenID Provider for local runs and tests whose tokens a Verifier accepts
// as it accepts Cognito's.
package auth
