package issuer

import (
	"bytes"
	"crypto/elliptic"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// sigSize is the length of an ES256 JWS signature: R and S, each left-padded to 32 bytes (RFC 7518 §3.4).
const sigSize = 64

var p256Order = elliptic.P256().Params().N

// DERToRS converts a DER-encoded ECDSA P-256 signature, the form KMS returns (an ASN.1 SEQUENCE of
// two INTEGERs), to the fixed 64-byte R||S form of JWS. DER drops an integer's leading zero bytes
// and adds a 0x00 before one whose high bit is set, so R and S arrive as 1 to 33 bytes; each is
// left-padded to exactly 32 here. Anything but a strict DER encoding of 0 < R, S < n is refused.
func DERToRS(der []byte) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil {
		return nil, fmt.Errorf("decoding ECDSA signature: %w", err)
	}
	if len(rest) != 0 {
		return nil, errors.New("decoding ECDSA signature: trailing bytes after the signature")
	}
	// encoding/asn1 skips extra elements inside the SEQUENCE; DER has one encoding per value.
	if again, err := asn1.Marshal(sig); err != nil || !bytes.Equal(again, der) {
		return nil, errors.New("decoding ECDSA signature: not the DER encoding of two INTEGERs")
	}
	out := make([]byte, sigSize)
	for j, v := range []*big.Int{sig.R, sig.S} {
		if v.Sign() <= 0 || v.Cmp(p256Order) >= 0 {
			return nil, errors.New("decoding ECDSA signature: R or S outside (0, n)")
		}
		v.FillBytes(out[j*32 : (j+1)*32])
	}
	return out, nil
}
