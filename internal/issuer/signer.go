package issuer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/supportaccess/gateway/internal/policy"
)

// Claims is what the caller decides about a token; the issuer decides the rest (iss, aud, times,
// jti, the tag layout).
type Claims struct {
	// Host is the issuer host the token names (0 primary, 1 standby).
	Host int
	// Engineer is who the token is for; its sub is the engineer's pairwise identifier in the
	// account (Issuer.Subject), never the engineer's own name.
	Engineer string
	// Environment is the value of the vendor's one session tag (DoiTEnvironment): not empty, and
	// as STS takes it (policy.ValidateSessionTagValue).
	Environment string
	// Lifetime is exp − iat (truncated to whole seconds): 1 s to MaxTokenLifetime. nbf is
	// NotBeforeSkew before iat, so exp − nbf is up to MaxTokenLifetime + NotBeforeSkew.
	Lifetime time.Duration
}

// NotBeforeSkew is how long before iat a token's nbf is: a verifier whose clock runs up to this
// much behind the issuer's accepts a token the moment it is minted, instead of refusing it as "not
// yet valid" (RFC 7519 §4.1.5 allows a verifier "some small leeway"; federation issuers back-date
// nbf so that verifiers need none: GitHub Actions' tokens carry an nbf five minutes before iat).
// It lengthens nothing at the other end: exp is iat + Lifetime, at most MaxTokenLifetime after
// the minting, and a retiring key stays published until MaxTokenLifetime after it last signed,
// which is exp, whatever nbf says. A verifier that also refuses an iat in its future (go-jose's
// jwt.Claims.Validate does, with the same leeway it gives nbf) is helped only by its own leeway.
const NotBeforeSkew = 60 * time.Second

func (c Claims) validate() error {
	switch {
	case c.Host != 0 && c.Host != 1:
		return fmt.Errorf("%w: issuer host %d, want 0 or 1", ErrInvalidRequest, c.Host)
	case c.Engineer == "":
		return fmt.Errorf("%w: no engineer", ErrInvalidRequest)
	case c.Environment == "":
		return fmt.Errorf("%w: no session tag value (environment)", ErrInvalidRequest)
	case c.Lifetime < time.Second || c.Lifetime > MaxTokenLifetime:
		return fmt.Errorf("%w: lifetime %s, want 1s to %s", ErrInvalidRequest, c.Lifetime, MaxTokenLifetime)
	}
	if err := policy.ValidateSessionTagValue(c.Environment); err != nil { // STS would refuse the token
		return fmt.Errorf("%w: environment: %w", ErrInvalidRequest, err)
	}
	return nil
}

type jwsHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

// tokenClaims is the token's payload. The tags claim is the layout STS reads session tags from.
type tokenClaims struct {
	Iss  string      `json:"iss"`
	Sub  string      `json:"sub"`
	Aud  string      `json:"aud"`
	Iat  int64       `json:"iat"`
	Nbf  int64       `json:"nbf"`
	Exp  int64       `json:"exp"`
	Jti  string      `json:"jti"`
	Tags sessionTags `json:"https://aws.amazon.com/tags"`
}

type sessionTags struct {
	PrincipalTags     map[string][]string `json:"principal_tags"`
	TransitiveTagKeys []string            `json:"transitive_tag_keys"`
}

// Mint returns a compact JWS (ES256) for the account, signed in KMS by its active key.
func (i *Issuer) Mint(ctx context.Context, account string, c Claims) (string, error) {
	if err := c.validate(); err != nil {
		return "", err
	}
	keys, err := i.accountKeys(ctx, account)
	if err != nil {
		return "", err
	}
	// With a Publisher, a key signs only once a JWKS listing it is published: STS could not verify
	// a token signed by any other.
	key, ok := signingKey(keys, i.Now(), i.publisher != nil)
	switch {
	case !ok && i.publisher != nil:
		return "", fmt.Errorf("%w: account %s has no published key that may sign yet", ErrNotPublished, account)
	case !ok: // an active key whose lead has not passed, and no older key: a crash mid-rotation
		return "", fmt.Errorf("account %s: no key may sign yet (the newest starts at %s)", account, keys[len(keys)-1].SignsFrom)
	}
	sub, err := i.Subject(ctx, account, c.Engineer)
	if err != nil {
		return "", err
	}
	jti, err := newJTI()
	if err != nil {
		return "", err
	}
	iat := i.Now().Unix()
	tagKey := i.vendor.SessionTagKey()
	claims := tokenClaims{
		Iss: i.vendor.IssuerURL(i.target(account), c.Host),
		Sub: sub,
		Aud: i.vendor.Audience(i.target(account)),
		Iat: iat,
		Nbf: iat - int64(NotBeforeSkew/time.Second),
		Exp: iat + int64(c.Lifetime/time.Second),
		Jti: jti,
		Tags: sessionTags{
			PrincipalTags:     map[string][]string{tagKey: {c.Environment}},
			TransitiveTagKeys: []string{tagKey},
		},
	}
	input, err := signingInput(jwsHeader{Alg: "ES256", Typ: "JWT", Kid: key.KeyID}, claims)
	if err != nil {
		return "", err
	}
	sig, err := i.sign(ctx, key.KeyID, []byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func signingInput(h jwsHeader, c tokenClaims) (string, error) {
	hb, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("encoding JWS header: %w", err)
	}
	cb, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encoding token claims: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(hb) + "." + enc.EncodeToString(cb), nil
}

// sign has KMS sign the SHA-256 digest of input and returns the 64-byte R||S signature.
func (i *Issuer) sign(ctx context.Context, keyID string, input []byte) ([]byte, error) {
	digest := sha256.Sum256(input)
	msg := digest[:]
	if i.messageType == types.MessageTypeRaw {
		msg = input
	}
	out, err := i.signKMS.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(keyID),
		Message:          msg,
		MessageType:      i.messageType,
		SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256,
	})
	if err != nil {
		return nil, fmt.Errorf("signing with key %s: %w", keyID, err)
	}
	sig, err := DERToRS(out.Signature)
	if err != nil {
		return nil, fmt.Errorf("signature from key %s: %w", keyID, err)
	}
	return sig, nil
}

// newJTI is a random token ID, 128 bits, base64url.
func newJTI() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating jti: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
