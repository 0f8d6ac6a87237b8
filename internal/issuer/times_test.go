package issuer

import (
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tokenTimes are a token's iat, nbf and exp, read without verifying it.
type tokenTimes struct{ Iat, Nbf, Exp int64 }

func readTimes(t *testing.T, token string) tokenTimes {
	t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	require.NoError(t, err)
	var tt tokenTimes
	require.NoError(t, json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &tt))
	return tt
}

// nbf is back-dated by NotBeforeSkew; exp stays iat + the lifetime, within MaxTokenLifetime.
func TestMintedTokenTimes(t *testing.T) {
	pub := &memoryPublisher{}
	iss, _, clk := newPublishingIssuer(t, pub, nil)
	ctx := t.Context()
	account := newAccount()
	_, err := iss.CreateAccountKey(ctx, account)
	require.NoError(t, err)
	clk.Advance(1234 * time.Millisecond) // iat is truncated to the second

	for _, lifetime := range []time.Duration{time.Second, time.Minute, MaxTokenLifetime} {
		token, err := iss.Mint(ctx, account, Claims{Engineer: "alice@doit.com", Environment: "support", Lifetime: lifetime})
		require.NoError(t, err)
		got := readTimes(t, token)
		assert.Equal(t, clk.Now().Unix(), got.Iat)
		assert.Equal(t, got.Iat-60, got.Nbf, "nbf = iat − 60 s")
		assert.Equal(t, int64(lifetime/time.Second), got.Exp-got.Iat, "exp − iat = the lifetime")
		assert.LessOrEqual(t, got.Exp-got.Iat, int64(MaxTokenLifetime/time.Second))
		assert.LessOrEqual(t, got.Exp-got.Nbf, int64((MaxTokenLifetime+NotBeforeSkew)/time.Second))
	}
	_, err = iss.Mint(ctx, account, Claims{Engineer: "alice@doit.com", Environment: "support", Lifetime: MaxTokenLifetime + time.Second})
	assert.ErrorIs(t, err, ErrInvalidRequest, "back-dating nbf leaves the lifetime's bound as it was")
}

// A verifier whose clock is behind the issuer's by less than NotBeforeSkew accepts a token the
// moment it is minted; one further behind still refuses it, and no verifier accepts it after exp.
// The verifier is go-jose's, over the signature and the two claims RFC 7519 gives a validity
// meaning (nbf, §4.1.5; exp, §4.1.4), with no leeway of its own.
func TestVerifierWithASlowClockAcceptsAFreshToken(t *testing.T) {
	pub := &memoryPublisher{}
	iss, _, clk := newPublishingIssuer(t, pub, nil)
	ctx := t.Context()
	account := newAccount()
	_, err := iss.CreateAccountKey(ctx, account)
	require.NoError(t, err)
	token, err := iss.Mint(ctx, account, Claims{Engineer: "alice@doit.com", Environment: "support", Lifetime: MaxTokenLifetime})
	require.NoError(t, err)
	minted := clk.Now()

	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	require.NoError(t, err)
	var c jwt.Claims
	require.NoError(t, parsed.Claims(pub.jwks(t, account), &c), "the signature verifies against the published JWKS")
	rfc7519 := func(at time.Time) error {
		return jwt.Claims{NotBefore: c.NotBefore, Expiry: c.Expiry}.ValidateWithLeeway(jwt.Expected{Time: at}, 0)
	}

	assert.NoError(t, rfc7519(minted), "a verifier on the issuer's time")
	assert.NoError(t, rfc7519(minted.Add(-30*time.Second)), "a verifier 30 s behind")
	assert.NoError(t, rfc7519(minted.Add(-NotBeforeSkew)), "a verifier NotBeforeSkew behind")
	assert.ErrorIs(t, rfc7519(minted.Add(-2*time.Minute)), jwt.ErrNotValidYet, "a verifier 2 minutes behind")
	assert.NoError(t, rfc7519(minted.Add(MaxTokenLifetime-time.Second)), "valid until exp")
	assert.ErrorIs(t, rfc7519(minted.Add(MaxTokenLifetime+time.Second)), jwt.ErrExpired, "not after exp, however nbf was set")

	// go-jose's full validation also refuses an iat in the verifier's future, with the same leeway it
	// gives nbf: for such a verifier, only its own leeway helps (its default, one minute, does).
	assert.ErrorIs(t, c.ValidateWithLeeway(jwt.Expected{Time: minted.Add(-30 * time.Second)}, 0), jwt.ErrIssuedInTheFuture)
	assert.NoError(t, c.ValidateWithLeeway(jwt.Expected{Time: minted.Add(-30 * time.Second)}, jwt.DefaultLeeway))
	assert.Error(t, c.ValidateWithLeeway(jwt.Expected{Time: minted.Add(-2 * time.Minute)}, jwt.DefaultLeeway))
}
