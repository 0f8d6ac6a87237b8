package awscheck

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// maxFutureSkew is how far in the future a token's nbf and iat may be.
const maxFutureSkew = 5 * time.Minute

// identityToken is a web-identity token as STS has verified it.
type identityToken struct {
	issuer   string // iss
	path     string // iss without https://: the prefix of the provider's condition keys
	provider string // ARN of the identity provider in the role's account
	aud      string // the token audience the provider lists as a client ID
	sub      string
	tagKeys  []string // keys of the session tags the token carries; nil when it carries none
}

// tokenClaims is the part of a token's payload STS reads.
type tokenClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	Tags      *struct {
		PrincipalTags map[string][]string `json:"principal_tags"`
	} `json:"https://aws.amazon.com/tags"`
}

// discovery is the part of an OpenID Provider's metadata STS reads.
type discovery struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// verifyToken checks a web-identity token the way STS does for a role in r's account: it parses the
// token, finds the account's identity provider for its issuer, checks the audience against the
// provider's client IDs, fetches the issuer's discovery document and keys, verifies the signature,
// and checks the token's times. A refusal comes with the reason for the decision log.
func (s *Server) verifyToken(ctx context.Context, r roleARN, raw string) (identityToken, *apiError, string) {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return identityToken{}, invalidIdentityToken("The ID token provided could not be parsed"),
			"token is not a compact ES256 JWS: " + err.Error()
	}
	var claims tokenClaims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		return identityToken{}, invalidIdentityToken("The ID token provided could not be parsed"),
			"token claims: " + err.Error()
	}
	path, ok := strings.CutPrefix(claims.Issuer, "https://")
	if !ok || path == "" || strings.HasSuffix(path, "/") {
		return identityToken{}, invalidIdentityToken("Issuer must be a valid URL"),
			fmt.Sprintf("iss %q is not an https URL without a trailing slash", claims.Issuer)
	}
	tok := identityToken{issuer: claims.Issuer, path: path, sub: claims.Subject,
		provider: "arn:" + r.partition + ":iam::" + r.account + ":oidc-provider/" + path}

	audiences, found, err := s.getProviderAudiences(ctx, r.account, tok.provider)
	switch {
	case err != nil:
		return tok, internalError("sts", err.Error()), "cannot read the identity provider: " + err.Error()
	case !found:
		return tok, invalidIdentityToken("No OpenIDConnect provider found in your account for " + claims.Issuer),
			"no identity provider " + tok.provider
	}
	i := slices.IndexFunc(claims.Audience, func(a string) bool { return slices.Contains(audiences, a) })
	if i < 0 {
		return tok, invalidIdentityToken("Incorrect token audience"),
			fmt.Sprintf("aud %q is none of the provider's client IDs %q", claims.Audience, audiences)
	}
	tok.aud = claims.Audience[i]

	keys, e, reason := s.issuerKeys(ctx, claims.Issuer)
	if e != nil {
		return tok, e, reason
	}
	kid := jws.Signatures[0].Header.KeyID
	candidates := keys.Key(kid)
	if kid == "" || len(candidates) == 0 {
		return tok, invalidIdentityToken("No key in the identity provider's JWKS matches the token's kid"),
			fmt.Sprintf("kid %q is not in the issuer's JWKS", kid)
	}
	if !slices.ContainsFunc(candidates, func(k jose.JSONWebKey) bool { return s.verifies(jws, k) }) {
		return tok, invalidIdentityToken("The ID token signature is invalid"),
			fmt.Sprintf("signature does not verify with key %q (ES256 over %s)", kid, s.signedHash())
	}

	now := s.cfg.Now()
	switch {
	case claims.Expiry == nil:
		return tok, invalidIdentityToken("The ID token has no expiration time"), "token has no exp"
	case !now.Before(claims.Expiry.Time()):
		return tok, &apiError{400, "ExpiredTokenException", fmt.Sprintf(
				"Token expired: current date/time %d must be before the expiration date/time %d",
				now.Unix(), claims.Expiry.Time().Unix())},
			"token expired at " + claims.Expiry.Time().UTC().Format(time.RFC3339)
	case claims.NotBefore != nil && claims.NotBefore.Time().After(now.Add(maxFutureSkew)),
		claims.IssuedAt != nil && claims.IssuedAt.Time().After(now.Add(maxFutureSkew)):
		return tok, invalidIdentityToken("The ID token is not yet valid"),
			"token nbf or iat is more than 5 minutes in the future"
	}
	if claims.Tags != nil && len(claims.Tags.PrincipalTags) > 0 {
		tok.tagKeys = sortedKeys(claims.Tags.PrincipalTags)
	}
	return tok, nil, ""
}

// issuerKeys fetches the issuer's discovery document and the key set it points to.
func (s *Server) issuerKeys(ctx context.Context, issuer string) (jose.JSONWebKeySet, *apiError, string) {
	var set jose.JSONWebKeySet
	body, err := s.cfg.Fetch(ctx, issuer+"/.well-known/openid-configuration")
	if err != nil {
		return set, idpCommunicationError, "fetching the discovery document: " + err.Error()
	}
	var meta discovery
	if err := json.Unmarshal(body, &meta); err != nil {
		return set, idpCommunicationError, "discovery document: " + err.Error()
	}
	if meta.Issuer != issuer {
		return set, invalidIdentityToken("The issuer in the OpenID configuration does not match the token's iss"),
			fmt.Sprintf("discovery document's issuer %q is not the token's iss %q", meta.Issuer, issuer)
	}
	if !strings.HasPrefix(meta.JWKSURI, "https://") {
		return set, idpCommunicationError, fmt.Sprintf("jwks_uri %q is not an https URL", meta.JWKSURI)
	}
	body, err = s.cfg.Fetch(ctx, meta.JWKSURI)
	if err != nil {
		return set, idpCommunicationError, "fetching the JWKS: " + err.Error()
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return set, idpCommunicationError, "JWKS: " + err.Error()
	}
	return set, nil, ""
}

// verifies reports whether key verifies the token's ES256 signature.
func (s *Server) verifies(jws *jose.JSONWebSignature, key jose.JSONWebKey) bool {
	pub, ok := key.Key.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return false
	}
	var verifier any = pub
	if s.cfg.MotoDigest {
		verifier = MotoES256(pub)
	}
	_, err := jws.Verify(verifier)
	return err == nil
}

func (s *Server) signedHash() string {
	if s.cfg.MotoDigest {
		return "SHA-256(SHA-256(signing input)), Config.MotoDigest"
	}
	return "SHA-256(signing input)"
}

// MotoES256 is a go-jose verifier (jws.Verify(MotoES256(pub))) for ES256 signatures over moto's
// double hash: moto's KMS Sign ignores MessageType DIGEST and signs the SHA-256 of the digest it is
// given, so a token the issuer signs through moto is an ECDSA signature over SHA-256(SHA-256(signing
// input)). go-jose still parses the JWS, checks the algorithm and assembles the signing input; this
// only hashes twice.
func MotoES256(pub *ecdsa.PublicKey) jose.OpaqueVerifier { return motoES256{pub} }

type motoES256 struct{ pub *ecdsa.PublicKey }

func (v motoES256) VerifyPayload(input, sig []byte, alg jose.SignatureAlgorithm) error {
	if alg != jose.ES256 || len(sig) != 64 {
		return errors.New("not an ES256 signature")
	}
	digest := sha256.Sum256(input)
	twice := sha256.Sum256(digest[:])
	if !ecdsa.Verify(v.pub, twice[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("signature does not verify")
	}
	return nil
}
