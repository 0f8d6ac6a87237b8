package issuer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// JWK is one public signing key, as RFC 7517/7518 spell an EC P-256 key.
type JWK struct {
	Kty string `json:"kty"` // "EC"
	Crv string `json:"crv"` // "P-256"
	X   string `json:"x"`   // base64url, unpadded, 32 bytes
	Y   string `json:"y"`
	Kid string `json:"kid"` // the KMS key ID
	Alg string `json:"alg"` // "ES256"
	Use string `json:"use"` // "sig"
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWKS returns the account's published keys at the issuer's clock: the active key and the
// retiring keys whose tokens may still be alive. An unknown or offboarded account is an error.
func (i *Issuer) JWKS(ctx context.Context, account string) (JWKS, error) {
	keys, err := i.accountKeys(ctx, account)
	if err != nil {
		return JWKS{}, err
	}
	set := JWKS{Keys: []JWK{}}
	now := i.Now()
	for _, k := range keys {
		if !k.Published(now) {
			continue
		}
		pub, err := i.publicKey(ctx, k.KeyID)
		if err != nil {
			return JWKS{}, err
		}
		jwk, err := newJWK(k.KeyID, pub)
		if err != nil {
			return JWKS{}, err
		}
		set.Keys = append(set.Keys, jwk)
	}
	return set, nil
}

func newJWK(kid string, pub *ecdsa.PublicKey) (JWK, error) {
	raw, err := pub.Bytes() // 0x04 || X || Y, each 32 bytes
	if err != nil || len(raw) != 65 {
		return JWK{}, fmt.Errorf("encoding public key %s: %v", kid, err)
	}
	enc := base64.RawURLEncoding
	return JWK{Kty: "EC", Crv: "P-256", X: enc.EncodeToString(raw[1:33]), Y: enc.EncodeToString(raw[33:]),
		Kid: kid, Alg: "ES256", Use: "sig"}, nil
}

// publicKey fetches a key's public half from KMS once and remembers it.
func (i *Issuer) publicKey(ctx context.Context, keyID string) (*ecdsa.PublicKey, error) {
	i.mu.Lock()
	pub, ok := i.pubKeys[keyID]
	i.mu.Unlock()
	if ok {
		return pub, nil
	}
	out, err := i.kms.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, fmt.Errorf("getting public key %s: %w", keyID, err)
	}
	if out.KeySpec != "" && out.KeySpec != types.KeySpecEccNistP256 {
		return nil, fmt.Errorf("public key %s: key spec %s, want %s", keyID, out.KeySpec, types.KeySpecEccNistP256)
	}
	parsed, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("parsing public key %s: %w", keyID, err)
	}
	pub, ok = parsed.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("public key %s: not an ECDSA P-256 key (%T)", keyID, parsed)
	}
	i.mu.Lock()
	i.pubKeys[keyID] = pub
	i.mu.Unlock()
	return pub, nil
}
