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
//
// It is enough to know the latest fetch: go-oidc fetches the JWKS whenever no cached key verifies a
// token, so a failed verification has just waited for a fetch, its own or one in flight (or, in
// the moment after a fetch ends, that fetch's result). If that fetch failed, the keys were
// unavailable.
type fetchWatch struct {
	base http.RoundTripper

	mu      sync.Mutex
	lastErr error // how the latest fetch ended; nil when it answered 200
}

func (f *fetchWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := f.base.RoundTrip(req)
	outcome := err
	if err == nil && resp.StatusCode != http.StatusOK {
		outcome = fmt.Errorf("GET %s: %s", req.URL.Redacted(), resp.Status)
	}
	f.mu.Lock()
	f.lastErr = outcome
	f.mu.Unlock()
	return resp, err
}

// failed is the error of the latest fetch, nil if it succeeded.
func (f *fetchWatch) failed() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastErr
}
