package issuer

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// derInt encodes an INTEGER from its content bytes exactly as given.
func derInt(content ...byte) []byte { return append([]byte{0x02, byte(len(content))}, content...) }

func derSeq(parts ...[]byte) []byte {
	body := bytes.Join(parts, nil)
	return append([]byte{0x30, byte(len(body))}, body...)
}

func repeat(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

func TestDERToRS(t *testing.T) {
	r32 := append([]byte{0x12}, repeat(0x34, 31)...)
	s32 := append([]byte{0x56}, repeat(0x78, 31)...)
	high := append([]byte{0x9a}, repeat(0xbc, 31)...)  // high bit set: DER adds 0x00
	short := append([]byte{0x01}, repeat(0x02, 29)...) // 30 bytes: two leading zero bytes dropped

	tests := map[string]struct {
		der  []byte
		want []byte
	}{
		"plain 32-byte R and S":      {derSeq(derInt(r32...), derInt(s32...)), append(r32, s32...)},
		"R with high bit (33 bytes)": {derSeq(derInt(append([]byte{0}, high...)...), derInt(s32...)), append(high, s32...)},
		"S with high bit (33 bytes)": {derSeq(derInt(r32...), derInt(append([]byte{0}, high...)...)), append(r32, high...)},
		"both with high bit":         {derSeq(derInt(append([]byte{0}, high...)...), derInt(append([]byte{0}, high...)...)), append(high, high...)},
		"short R (leading zeros)":    {derSeq(derInt(short...), derInt(s32...)), append(append(repeat(0, 2), short...), s32...)},
		"short S (leading zeros)":    {derSeq(derInt(r32...), derInt(short...)), append(r32, append(repeat(0, 2), short...)...)},
		"one-byte R and S":           {derSeq(derInt(0x01), derInt(0x7f)), append(append(repeat(0, 31), 0x01), append(repeat(0, 31), 0x7f)...)},
		"short with high bit after zero pad": {derSeq(derInt(0x00, 0x80), derInt(s32...)),
			append(append(repeat(0, 31), 0x80), s32...)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := DERToRS(tc.der)
			require.NoError(t, err)
			assert.Len(t, got, 64)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDERToRSRefuses(t *testing.T) {
	s32 := append([]byte{0x56}, repeat(0x78, 31)...)
	n := p256Order.Bytes()
	tests := map[string][]byte{
		"empty":                  nil,
		"not a sequence":         derInt(0x01),
		"trailing bytes":         append(derSeq(derInt(0x01), derInt(0x01)), 0x00),
		"non-minimal integer":    derSeq(derInt(0x00, 0x01), derInt(s32...)),
		"negative R":             derSeq(derInt(0xff), derInt(s32...)),
		"zero S":                 derSeq(derInt(s32...), derInt(0x00)),
		"R equal to the order":   derSeq(derInt(append([]byte{0}, n...)...), derInt(s32...)),
		"R longer than 32 bytes": derSeq(derInt(append([]byte{0x01}, repeat(0, 32)...)...), derInt(s32...)),
		"truncated":              derSeq(derInt(0x01), derInt(s32...))[:10],
		"one integer":            derSeq(derInt(0x01)),
		"extra element":          derSeq(derInt(0x01), derInt(0x01), derInt(0x01)),
		"extra byte in sequence": derSeq(derInt(0x01), derInt(0x01), []byte{0x00}),
	}
	for name, der := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := DERToRS(der)
			assert.Error(t, err)
		})
	}
}

// verifyRS checks a 64-byte R||S signature over digest.
func verifyRS(pub *ecdsa.PublicKey, digest, rs []byte) bool {
	r, s := new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])
	return ecdsa.Verify(pub, digest, r, s)
}

// Real signatures have R and S of every length DER can give them: about half have the high bit
// set (33 bytes in DER), about one in 256 has a leading zero byte (31 bytes or fewer).
func TestDERToRSOnLocalSignatures(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	var highBit, short int
	for range 2000 {
		digest := make([]byte, 32)
		_, _ = rand.Read(digest)
		der, err := ecdsa.SignASN1(rand.Reader, key, digest)
		require.NoError(t, err)
		var sig struct{ R, S *big.Int }
		_, err = asn1.Unmarshal(der, &sig)
		require.NoError(t, err)
		for _, v := range []*big.Int{sig.R, sig.S} {
			if v.BitLen() == 256 {
				highBit++
			}
			if v.BitLen() <= 248 {
				short++
			}
		}

		rs, err := DERToRS(der)
		require.NoError(t, err)
		require.Len(t, rs, 64)
		require.True(t, verifyRS(&key.PublicKey, digest, rs), "signature %x", der)
		require.Equal(t, 0, sig.R.Cmp(new(big.Int).SetBytes(rs[:32])))
		require.Equal(t, 0, sig.S.Cmp(new(big.Int).SetBytes(rs[32:])))
	}
	t.Logf("of 4000 integers: %d with the high bit set, %d with a leading zero byte", highBit, short)
	assert.Greater(t, highBit, 0, "no 33-byte DER integer was exercised")
	assert.Greater(t, short, 0, "no short DER integer was exercised")
}

var fuzzKey = func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}()

// FuzzDERToRS checks two things on every input: arbitrary bytes either are refused or convert to
// exactly 64 bytes that encode back to the very same DER (so nothing is dropped or invented); and a
// signature made by crypto/ecdsa over the SHA-256 of the input converts to 64 bytes that verify.
func FuzzDERToRS(f *testing.F) {
	f.Add([]byte("seed"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if rs, err := DERToRS(data); err == nil {
			if len(rs) != 64 {
				t.Fatalf("accepted %x as %d bytes", data, len(rs))
			}
			again, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])})
			if err != nil || !bytes.Equal(again, data) {
				t.Fatalf("accepted %x, which re-encodes as %x", data, again)
			}
		}

		digest := sha256.Sum256(data)
		der, err := ecdsa.SignASN1(rand.Reader, fuzzKey, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		rs, err := DERToRS(der)
		if err != nil {
			t.Fatalf("refused crypto/ecdsa's %x: %v", der, err)
		}
		if len(rs) != 64 || !verifyRS(&fuzzKey.PublicKey, digest[:], rs) {
			t.Fatalf("signature %x converts to %x, which does not verify", der, rs)
		}
	})
}
