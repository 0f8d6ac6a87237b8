package auth

import (
	"fmt"
	"net/http"
	"sync"
)

// fetchWatch wraps the transport that fetches the discovery document and the JWKS and remembers
// how the latest fetch ended. go-oidc folds "the keys could not be fetched" and "no key verifies
// the signature" into one untyped error; this tells them apart without reading its text, so an
// unreachable identity provider answers 503 (try again) rather than 401 (sign in again).
type fetchWatch struct {
	base http.RoundTripper

	mu      sync.Mutex
	fetches uint64 // fetches finished so far
	lastErr error  // how the latest one ended; nil when it answered 200
}

func (f *fetchWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := f.base.RoundTrip(req)
	outcome := err
	if err == nil && resp.StatusCode != http.StatusOK {
		outcome = fmt.Errorf("GET %s: %s", req.URL.Redacted(), resp.Status)
	}
	f.mu.Lock()
	f.fetches++
	f.lastErr = outcome
	f.mu.Unlock()
	return resp, err
}

// count is the number of fetches finished so far.
func (f *fetchWatch) count() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetches
}

// failedSince is the error of the latest fetch if one finished after count() returned before and
// it failed. go-oidc fetches the JWKS whenever no cached key verifies a token, so a failed
// verification always waits for a fetch (its own, or one already in flight).
func (f *fetchWatch) failedSince(before uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fetches == before {
		return nil
	}
	return f.lastErr
}
