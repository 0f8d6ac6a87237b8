package cfnresource

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"time"
)

// Responder PUTs responses.
type Responder struct {
	Client      *http.Client  // nil: a client of its own with timeouts (dial, TLS, response header, overall)
	Hosts       ResponseHosts // which ResponseURL hosts may be answered
	MaxAttempts int           // default 5
	BaseBackoff time.Duration // default 200ms, exponential with full jitter, never past ctx's deadline
}

const (
	defaultMaxAttempts = 5
	defaultBaseBackoff = 200 * time.Millisecond
	maxBackoff         = 5 * time.Second
	// putTimeout bounds one PUT of the default client; Runner.Margin's default (10s) covers it.
	putTimeout = 8 * time.Second
)

// defaultClient is used when Responder.Client is nil. It is never changed after start-up.
var defaultClient = &http.Client{
	Timeout: putTimeout,
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 5 * time.Second,
		ForceAttemptHTTP2:     true,
	},
}

// Send PUTs resp to responseURL: after checking the host, with the body cut to 4096 bytes, and
// retrying 5xx, 429 and network errors with backoff bounded by ctx. Other 4xx are final (a
// pre-signed URL that is refused once is refused for ever). Its errors never contain the URL.
func (r *Responder) Send(ctx context.Context, responseURL string, resp Response) error {
	if err := r.Hosts.Check(responseURL); err != nil {
		return fmt.Errorf("refusing to send the response: %w", err)
	}
	body, err := encodeResponse(resp)
	if err != nil {
		return fmt.Errorf("encoding the response: %w", err)
	}
	client := r.client()
	attempts := r.MaxAttempts
	if attempts <= 0 {
		attempts = defaultMaxAttempts
	}
	for attempt := 1; ; attempt++ {
		retry, err := put(ctx, client, responseURL, body)
		if err == nil {
			return nil
		}
		err = fmt.Errorf("sending the response (attempt %d of %d): %w", attempt, attempts, err)
		if !retry || attempt == attempts {
			return err
		}
		if waitErr := sleep(ctx, r.backoff(attempt)); waitErr != nil {
			return fmt.Errorf("%w; not retrying: %w", err, waitErr)
		}
	}
}

// client returns the Responder's client, made not to follow redirects: a redirect could lead the
// answer to a host that was never checked.
func (r *Responder) client() *http.Client {
	c := *defaultClient
	if r.Client != nil {
		c = *r.Client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// put makes one PUT and reports whether a failure is worth retrying. The request carries no
// Content-Type (the URL is signed without one, and S3 would refuse the signature) and a
// Content-Length.
func put(ctx context.Context, client *http.Client, rawURL string, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, rawURL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("building the request: %w", redact(err, rawURL))
	}
	res, err := client.Do(req)
	if err != nil {
		return true, redact(err, rawURL)
	}
	defer res.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // lets the connection be reused
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return false, nil
	}
	retry = res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests
	return retry, &statusError{status: res.Status, s3Code: s3ErrorCode(head)}
}

// statusError is a non-2xx answer to the PUT.
type statusError struct {
	status string // "403 Forbidden"
	s3Code string // "SignatureDoesNotMatch", if S3 said
}

func (e *statusError) Error() string {
	if e.s3Code != "" {
		return fmt.Sprintf("HTTP %s (S3 error %s)", e.status, e.s3Code)
	}
	return "HTTP " + e.status
}

// s3Code finds the code in an S3 error document. Only the code is kept: the rest of the document
// can echo the request, signature material included.
var s3Code = regexp.MustCompile(`<Code>([A-Za-z]{1,64})</Code>`)

func s3ErrorCode(body []byte) string {
	if m := s3Code.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return ""
}
