package cfnresource

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testResponder(b *bucket) *Responder {
	return &Responder{Hosts: ResponseHosts{Extra: []string{b.host()}}, BaseBackoff: time.Millisecond}
}

func TestSendRequestShape(t *testing.T) {
	b := newBucket(t)
	resp := sampleResponse("role cannot be assumed")
	require.NoError(t, testResponder(b).Send(context.Background(), b.responseURL("r-1"), resp))

	puts := b.recorded()
	require.Len(t, puts, 1)
	put := puts[0]
	assert.Equal(t, http.MethodPut, put.method)
	_, hasContentType := put.header["Content-Type"]
	assert.False(t, hasContentType, "no Content-Type header at all: the URL is signed without one")
	assert.Equal(t, int64(len(put.body)), put.contentLength)
	assert.Equal(t, strconv.Itoa(len(put.body)), put.header.Get("Content-Length"))
	assert.Empty(t, put.header.Get("Transfer-Encoding"))
	assert.Equal(t, resp, decodeBody(t, put.body))
}

func TestSendRetries(t *testing.T) {
	tests := map[string]struct {
		failures    int
		status      int
		maxAttempts int
		wantPuts    int
		wantErr     string
	}{
		"200 at once":              {0, 0, 0, 1, ""},
		"5xx, then 200":            {2, http.StatusServiceUnavailable, 0, 3, ""},
		"500 four times, then 200": {4, http.StatusInternalServerError, 0, 5, ""},
		"429, then 200":            {1, http.StatusTooManyRequests, 0, 2, ""},
		"5xx every time":           {99, http.StatusBadGateway, 0, 5, "sending the response (attempt 5 of 5): HTTP 502 Bad Gateway"},
		"5xx beyond MaxAttempts":   {99, http.StatusInternalServerError, 2, 2, "(attempt 2 of 2): HTTP 500"},
		"403 is not retried":       {99, http.StatusForbidden, 0, 1, "sending the response (attempt 1 of 5): HTTP 403 Forbidden"},
		"404 is not retried":       {99, http.StatusNotFound, 0, 1, "HTTP 404 Not Found"},
		"400 is not retried":       {99, http.StatusBadRequest, 0, 1, "HTTP 400 Bad Request"},
		"3xx is a failure":         {99, http.StatusMovedPermanently, 0, 1, "HTTP 301 Moved Permanently"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := newBucket(t)
			b.fail(tc.failures, tc.status)
			r := testResponder(b)
			r.MaxAttempts = tc.maxAttempts
			url := b.responseURL("r-1")
			err := r.Send(context.Background(), url, sampleResponse("x"))
			assert.Len(t, b.recorded(), tc.wantPuts)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assertNoURL(t, err.Error(), url)
		})
	}
}

func TestSendKeepsOnlyTheS3ErrorCode(t *testing.T) {
	b := newBucket(t)
	b.fail(1, http.StatusForbidden)
	b.failBody = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code>` +
		`<Message>The request signature we calculated does not match</Message><StringToSign>AWS4-HMAC-SHA256 secret-scope</StringToSign></Error>`
	err := testResponder(b).Send(context.Background(), b.responseURL("r-1"), sampleResponse("x"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HTTP 403 Forbidden (S3 error SignatureDoesNotMatch)")
	assert.NotContains(t, err.Error(), "secret-scope")
}

func TestSendNetworkErrorHidesTheURL(t *testing.T) {
	b := newBucket(t)
	url := b.responseURL("r-1")
	b.srv.Close()
	r := testResponder(b)
	r.MaxAttempts = 2
	err := r.Send(context.Background(), url, sampleResponse("x"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "(attempt 2 of 2): Put [ResponseURL]: ")
	assertNoURL(t, err.Error(), url)
}

// The jitter is random (a draw can be short enough for another attempt to fit), so the test checks
// the invariant itself: whatever the draws, Send gives up rather than sleep past the deadline.
func TestSendBackoffNeverPassesTheDeadline(t *testing.T) {
	for range 20 {
		b := newBucket(t)
		b.fail(1000, http.StatusServiceUnavailable)
		r := testResponder(b)
		r.BaseBackoff = time.Hour // capped at maxBackoff, far beyond the deadline
		r.MaxAttempts = 1000
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		err := r.Send(ctx, b.responseURL("r-1"), sampleResponse("x"))
		elapsed := time.Since(start)
		cancel()
		require.Error(t, err)
		// A retry that starts just before the deadline is cut off by it: a few ms late at most.
		assert.Less(t, elapsed, 350*time.Millisecond, "gave up instead of sleeping past the deadline")
		assert.Contains(t, err.Error(), "deadline")
		assert.NotEmpty(t, b.recorded())
	}
}

func TestSendStopsWhenContextEnds(t *testing.T) {
	b := newBucket(t)
	b.fail(99, http.StatusServiceUnavailable)
	r := testResponder(b)
	r.BaseBackoff = 200 * time.Millisecond
	r.MaxAttempts = 100
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	err := r.Send(ctx, b.responseURL("r-1"), sampleResponse("x"))
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSendDoesNotFollowRedirects(t *testing.T) {
	elsewhere := newBucket(t)
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Redirect(w, r, elsewhere.responseURL("r-1"), http.StatusTemporaryRedirect)
	}))
	defer redirecting.Close()
	r := &Responder{Hosts: ResponseHosts{Extra: []string{redirecting.Listener.Addr().String(), elsewhere.host()}}}
	err := r.Send(context.Background(), redirecting.URL+"/key?X-Amz-Signature="+signature, sampleResponse("x"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HTTP 307 Temporary Redirect")
	assert.Empty(t, elsewhere.recorded(), "the redirect was not followed")
}

func TestSendRefusesForeignHosts(t *testing.T) {
	b := newBucket(t)
	r := &Responder{} // b's host is not in Extra
	err := r.Send(context.Background(), b.responseURL("r-1"), sampleResponse("x"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing to send the response: the response URL scheme \"http\" is not https")
	assert.Empty(t, b.recorded())
}

func TestSendUsesTheGivenClient(t *testing.T) {
	b := newBucket(t)
	var used bool
	client := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(req)
	})}
	r := testResponder(b)
	r.Client = client
	require.NoError(t, r.Send(context.Background(), b.responseURL("r-1"), sampleResponse("x")))
	assert.True(t, used)
	assert.Nil(t, client.CheckRedirect, "the caller's client is not modified")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestBackoffIsFullJitterCapped(t *testing.T) {
	r := &Responder{BaseBackoff: 100 * time.Millisecond}
	for attempt, ceiling := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 30: maxBackoff} {
		var sawLow, sawHigh bool
		for range 200 {
			d := r.backoff(attempt)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.LessOrEqual(t, d, ceiling, "attempt %d", attempt)
			sawLow = sawLow || d < ceiling/4
			sawHigh = sawHigh || d > ceiling*3/4
		}
		assert.True(t, sawLow && sawHigh, "attempt %d: jitter spans 0..%s", attempt, ceiling)
	}
	assert.LessOrEqual(t, (&Responder{}).backoff(1), defaultBaseBackoff)
}
