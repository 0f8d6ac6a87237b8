// Package apimatrix checks the backend's whole API, every route against every kind of caller, over
// HTTP, the way production serves it: the handler tree that backend.Server builds from the
// environment, signed in by real tokens from moto's Cognito, on moto's DynamoDB, KMS and STS.
//
// The fixture (New) is reusable by any test that needs the served API with callers who hold real
// tokens: a moto Cognito user pool with the engineer group and two tenant groups, a user per role,
// the tokens each caller sends (the good ones as moto's Cognito issues them; the bad ones derived
// from them: expired, tampered, for another app client, from another pool), the broker's and the
// registry's tables with one ACTIVE account for tenant acme and one for tenant globex, an issuer
// with signing keys for both, and requests in the states a test asks for. Snapshot and Diff read
// both tables whole, so that a test can say exactly what a call wrote.
//
// Things worth knowing:
//
//   - moto signs every pool's tokens with one key it bundles, served at
//     <moto>/<pool-id>/.well-known/jwks.json without a discovery document, so the server is given
//     OIDC_JWKS_URL apart from OIDC_ISSUER, and only the exact iss tells pools apart.
//   - moto's tokens live an hour from the moment they are issued and cannot be asked to live less,
//     nor can moto's clock be moved; the expired token is a moto ID token whose times are moved two
//     hours back and which is signed again with moto's own key (read from the installed moto
//     package through python3), so it differs from a good token in its times alone.
//   - Engineers' and customers' tokens are ID tokens: an engineer's principal is their verified
//     e-mail, which Cognito access tokens do not carry.
package apimatrix
