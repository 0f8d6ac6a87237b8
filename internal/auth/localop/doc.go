// Package localop is an OpenID Provider for local runs and tests: the stand-in for Cognito (or the
// vendor's other provider) when no AWS account is reachable, whose tokens package auth accepts.
//
// It listens on a loopback address only (http://127.0.0.1:<port> is its issuer), signs people in
// from a users file (LoadUsers: username, e-mail, password or none, groups), and issues, through
// the authorization-code flow with PKCE (S256, required), JWT access and ID tokens that carry the
// groups in the claim package auth reads (auth.DefaultGroupsClaim, "cognito:groups", unless
// configured), plus preferred_username and, when the user has one, a verified e-mail. There is one
// public client (DefaultClientID); its loopback redirect URIs match any port. Login gets tokens for a
// user without a browser, through the same flow.
//
// It is built on github.com/zitadel/oidc/v3's op package, an OpenID Certified provider library
// maintained by ZITADEL, which does the protocol (discovery, authorization and token endpoints,
// PKCE verification, redirect URI rules for native clients, JWKS, userinfo); this package is only
// its storage (users, pending sign-ins, one signing key, in memory) and a sign-in form.
// github.com/oauth2-proxy/mockoidc was the other candidate: smaller, but a test double rather than
// a provider. It signs in whichever user a test queued, without a form or users of its own, and
// demands a client secret at the token endpoint, so a public client with PKCE (the CLI, the web
// console) cannot use it as it would use Cognito.
//
// Every start makes a new RSA signing key: tokens from an earlier run do not verify.
package localop
