package auth_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/auth"
)

// TestForgedKeyIDsCostOneFetch: tokens that name key IDs the issuer does not publish, as anyone can
// make them, cost at most one JWKS fetch per JWKSRefetchInterval, however many and however
// concurrent; each is refused as UnknownKey (401), and a tampered token with a known kid costs none.
func TestForgedKeyIDsCostOneFetch(t *testing.T) {
	ti := newTestIssuer(t)
	ti.delay.Store(int64(50 * time.Millisecond)) // so that the forgeries arrive while it is in flight
	clock := newFakeClock()
	v := ti.verifier(t, func(c *auth.Config) { c.Now = clock.Now })
	forger := rsaKey(t)

	const n = 40
	forged := make([]string, n)
	for i := range n {
		forged[i] = sign(t, jose.RS256, forger, fmt.Sprintf("forged-%d", i), ti.claims(nil))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = v.Verify(t.Context(), forged[i]) })
	}
	wg.Wait()
	for _, err := range errs {
		requireReason(t, auth.UnknownKey, err)
		assert.Equal(t, http.StatusUnauthorized, auth.ReasonOf(err).Status())
	}
	assert.Equal(t, int32(1), ti.fetches.Load(), "concurrent forgeries share one fetch")

	for i := range n {
		_, err := v.Verify(t.Context(), sign(t, jose.RS256, forger, fmt.Sprintf("later-%d", i), ti.claims(nil)))
		requireReason(t, auth.UnknownKey, err)
	}
	_, err := v.Verify(t.Context(), flipSignatureByte(t, ti.token(t, nil)))
	requireReason(t, auth.Signature, err)
	_, err = v.Verify(t.Context(), ti.token(t, nil))
	require.NoError(t, err, "the keys fetched serve")
	assert.Equal(t, int32(1), ti.fetches.Load(), "no fetch within the interval")

	clock.Advance(auth.DefaultJWKSRefetchInterval)
	_, err = v.Verify(t.Context(), sign(t, jose.RS256, forger, "after", ti.claims(nil)))
	requireReason(t, auth.UnknownKey, err)
	assert.Equal(t, int32(2), ti.fetches.Load(), "one fetch once the interval has passed")
}

// TestKeyRotationIsPickedUp: a key the issuer publishes after the latest fetch is refused as
// UnknownKey until the interval has passed, then fetched and accepted; the keys fetched before
// serve throughout.
func TestKeyRotationIsPickedUp(t *testing.T) {
	ti := newTestIssuer(t)
	clock := newFakeClock()
	v := ti.verifier(t, func(c *auth.Config) { c.Now, c.JWKSRefetchInterval = clock.Now, 5*time.Minute })
	_, err := v.Verify(t.Context(), ti.token(t, nil))
	require.NoError(t, err)
	require.Equal(t, int32(1), ti.fetches.Load())

	next := ti.rotate(t, "rsa-2")
	rotated := func() string { return sign(t, jose.RS256, next, "rsa-2", ti.claims(nil)) }
	clock.Advance(5*time.Minute - time.Second)
	_, err = v.Verify(t.Context(), rotated())
	requireReason(t, auth.UnknownKey, err)
	assert.Equal(t, int32(1), ti.fetches.Load())

	clock.Advance(time.Second)
	id, err := v.Verify(t.Context(), rotated())
	require.NoError(t, err, "the new key is fetched once the interval has passed")
	assert.Equal(t, "alice@doit.com", id.Principal())
	_, err = v.Verify(t.Context(), ti.token(t, nil))
	require.NoError(t, err, "the old key still serves")
	assert.Equal(t, int32(2), ti.fetches.Load())
}
