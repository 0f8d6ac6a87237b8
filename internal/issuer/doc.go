// Package issuer is the vendor's OpenID Connect issuer: one KMS signing key per customer account,
// the discovery document and JWKS each customer account's identity providers fetch, and the
// signer that mints the short-lived web-identity tokens the broker exchanges with
// sts:AssumeRoleWithWebIdentity.
//
// Why a key per account, and why KMS: a customer's identity provider trusts only its own issuer
// URL (https://<host>/accounts/<account>) and that URL publishes only that account's keys, so a
// token signed for account A cannot verify in account B even if aud and sub were forged; and the
// private keys never leave KMS, where the key policy (policy.Vendor.SigningKeyPolicy) lets only the
// signer role sign, and only ES256 digests. Offboarding an account schedules its keys for deletion,
// which makes every token ever minted for it worthless.
//
// Keys rotate without a gap at either end: Rotate publishes the new key at once but lets it sign
// only after a lead (DefaultPublishLead), so every verifier has it before it meets a token it
// signed; the old key signs until then and stays published until every token it signed has
// expired (MaxTokenLifetime later).
//
// The package owns three concerns, each in its own files: keys (keys.go, store*.go), publication
// (discovery.go, jwks.go, handler.go, static.go) and signing (signer.go, der.go).
package issuer
