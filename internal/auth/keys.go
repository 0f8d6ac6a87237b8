package auth

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// maxJWKSBytes bounds the JWKS read: an identity provider's is a few kilobytes.
const maxJWKSBytes = 1 << 20

// jwks is the issuer's key set as the verifier holds it: fetched when a token names a key ID it
// does not have, and at most once per Config.JWKSRefetchInterval, however many tokens name unknown
// key IDs: anyone can make up a kid, and each must not cost a request to the identity provider.
// A token whose kid is known is checked against the keys held, and a signature that does not verify
// with them costs no fetch either. Requests that need a fetch while one is in flight wait for it.
//
// go-oidc's RemoteKeySet, used before, fetches whenever no cached key verifies a token, so every
// forged token cost a fetch; signatures are still verified by go-oidc (Verifier.Verify).
type jwks struct {
	url    string
	client *http.Client
	every  time.Duration
	now    func() time.Time

	mu      sync.Mutex
	keys    []jose.JSONWebKey // from the latest fetch that succeeded
	started time.Time         // when the latest fetch began; zero before the first
	err     error             // how the latest fetch ended: nil if it succeeded
	pending chan struct{}     // closed when the fetch in flight ends; nil when none is
}

// lookup returns the public keys a token whose header names kid may be signed with: the key of
// that ID, or every key for a token without one. A refusal is UnknownKey, or KeysUnavailable when
// the latest fetch failed or ctx ended while waiting for one.
func (j *jwks) lookup(ctx context.Context, kid string) ([]crypto.PublicKey, error) {
	j.mu.Lock()
	if keys := match(j.keys, kid); len(keys) > 0 {
		j.mu.Unlock()
		return keys, nil
	}
	if j.pending == nil {
		if next := j.started.Add(j.every); !j.started.IsZero() && j.now().Before(next) {
			err := j.refusal(kid, next)
			j.mu.Unlock()
			return nil, err
		}
		j.started, j.pending = j.now(), make(chan struct{})
		// the fetch is everyone's who waits for it: it does not end with the request that began it
		go j.fetch(context.WithoutCancel(ctx), j.pending)
	}
	pending := j.pending
	j.mu.Unlock()

	select {
	case <-ctx.Done():
		return nil, refuse(KeysUnavailable, "the request ended while the keys were fetched: "+ctx.Err().Error())
	case <-pending:
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if keys := match(j.keys, kid); len(keys) > 0 {
		return keys, nil
	}
	return nil, j.refusal(kid, time.Time{})
}

// refusal is the answer for a kid the keys held do not have (j.mu held): KeysUnavailable if the
// latest fetch failed (the key may have been published since), else UnknownKey. next is when the
// next fetch may begin, zero if one just ended.
func (j *jwks) refusal(kid string, next time.Time) error {
	when := ""
	if !next.IsZero() {
		when = fmt.Sprintf("; the next fetch may begin in %v", next.Sub(j.now()).Round(time.Second))
	}
	if j.err != nil {
		return refuse(KeysUnavailable, fmt.Sprintf("fetching %s: %v%s", j.url, j.err, when))
	}
	return refuse(UnknownKey, fmt.Sprintf("kid %q is not in %s%s", kid, j.url, when))
}

// fetch gets the key set and records how it ended, then closes done.
func (j *jwks) fetch(ctx context.Context, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, DefaultHTTPTimeout)
	defer cancel()
	keys, err := j.get(ctx)
	j.mu.Lock()
	if err == nil {
		j.keys = keys
	}
	j.err, j.pending = err, nil
	j.mu.Unlock()
	close(done)
}

// get reads the JWKS: its public signing keys. Keys of a type go-jose does not know, private keys
// and encryption keys are left out (RFC 7517 §5: a key not understood is ignored); a set without
// any key left is an error.
func (j *jwks) get(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", j.url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", j.url, err)
	case len(body) > maxJWKSBytes:
		return nil, fmt.Errorf("%s is over %d bytes", j.url, maxJWKSBytes)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("%s is not a JWK set: %w", j.url, err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if json.Unmarshal(raw, &k) != nil || !k.Valid() || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New(j.url + " has no public signing key")
	}
	return keys, nil
}

// match is the public keys of keys with ID kid, or all of them when kid is "".
func match(keys []jose.JSONWebKey, kid string) []crypto.PublicKey {
	var out []crypto.PublicKey
	for _, k := range keys {
		if kid == "" || k.KeyID == kid {
			out = append(out, k.Key)
		}
	}
	return out
}
