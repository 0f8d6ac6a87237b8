package cfnresource

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// bucket stands in for a CloudFormation response bucket: it records every PUT and can fail the
// first N of them.
type bucket struct {
	srv *httptest.Server

	mu         sync.Mutex
	puts       []recordedPut
	failFirst  int
	failStatus int
	failBody   string
}

type recordedPut struct {
	method        string
	header        http.Header
	contentLength int64
	body          []byte
}

func newBucket(t *testing.T) *bucket {
	t.Helper()
	b := &bucket{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.puts = append(b.puts, recordedPut{method: r.Method, header: r.Header.Clone(), contentLength: r.ContentLength, body: body})
		fail := b.failFirst > 0
		if fail {
			b.failFirst--
		}
		status, failBody := b.failStatus, b.failBody
		b.mu.Unlock()
		if fail {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, failBody)
		}
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// fail makes the next n PUTs answer status.
func (b *bucket) fail(n, status int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failFirst, b.failStatus = n, status
}

// host is the bucket's host:port, for ResponseHosts.Extra.
func (b *bucket) host() string { return b.srv.Listener.Addr().String() }

// signature is the secret part of every URL responseURL makes.
const signature = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// responseURL looks like a pre-signed S3 URL on the bucket, signed now for two hours (as
// CloudFormation's are).
func (b *bucket) responseURL(requestID string) string {
	return b.signedURL(requestID, time.Now(), 7199)
}

// signedURL is responseURL signed at the given time, for expires seconds.
func (b *bucket) signedURL(requestID string, signed time.Time, expires int) string {
	signed = signed.UTC()
	return b.srv.URL + "/arn%3Aaws%3Acloudformation%3Aus-east-1%3A111122223333%3Astack/doit-management-role/" +
		"5b918d10-cd98-11ea-90d5-0a9cd3354c10%7CHook%7C" + requestID +
		"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=" + signed.Format(sigV4Date) + "&X-Amz-SignedHeaders=host" +
		"&X-Amz-Expires=" + strconv.Itoa(expires) +
		"&X-Amz-Credential=AKIA6GSNGR5EXAMPLE7Q%2F" + signed.Format("20060102") + "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=" + signature
}

func (b *bucket) recorded() []recordedPut {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]recordedPut(nil), b.puts...)
}

// responses decodes every body the bucket received.
func (b *bucket) responses(t *testing.T) []Response {
	t.Helper()
	var out []Response
	for _, p := range b.recorded() {
		var r Response
		require.NoError(t, json.Unmarshal(p.body, &r), "body %s", p.body)
		out = append(out, r)
	}
	return out
}

// onlyResponse asserts exactly one PUT and returns its response.
func (b *bucket) onlyResponse(t *testing.T) Response {
	t.Helper()
	got := b.responses(t)
	require.Len(t, got, 1, "exactly one response per event")
	return got[0]
}

// fixture loads testdata/<name>.json, an event shaped as CloudFormation sends it (directly or in an
// SNS notification), with its ResponseURL set to responseURL and then edit applied to the event.
// An SNS notification's Timestamp is set to now, as if SNS had just delivered it.
func fixture(t *testing.T, name, responseURL string, edit func(event map[string]any)) []byte {
	t.Helper()
	return fixtureAt(t, name, responseURL, time.Now(), edit)
}

// fixtureAt is fixture with the SNS notification's Timestamp set to published.
func fixtureAt(t *testing.T, name, responseURL string, published time.Time, edit func(event map[string]any)) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	require.NoError(t, err)
	var payload map[string]any
	require.NoError(t, json.Unmarshal(raw, &payload))

	apply := func(event map[string]any) {
		if responseURL != "" {
			event["ResponseURL"] = responseURL
		}
		if edit != nil {
			edit(event)
		}
	}
	records, sns := payload["Records"].([]any)
	if !sns {
		apply(payload)
		return mustJSON(t, payload)
	}
	notification := records[0].(map[string]any)["Sns"].(map[string]any)
	notification["Timestamp"] = published.UTC().Format("2006-01-02T15:04:05.000Z")
	var event map[string]any
	require.NoError(t, json.Unmarshal([]byte(notification["Message"].(string)), &event))
	apply(event)
	notification["Message"] = string(mustJSON(t, event))
	return mustJSON(t, payload)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// fixtureEvent decodes a fixture, which must be valid.
func fixtureEvent(t *testing.T, name, responseURL string) Event {
	t.Helper()
	e, err := Decode(fixture(t, name, responseURL, nil))
	require.NoError(t, err)
	return e
}

// logBuffer collects log lines; the late-result line is written from another goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// lines decodes every JSON log line.
func (l *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "log line %s", line)
		out = append(out, m)
	}
	return out
}

// line returns the first log line with the message msg.
func (l *logBuffer) line(t *testing.T, msg string) map[string]any {
	t.Helper()
	for _, m := range l.lines(t) {
		if m["msg"] == msg {
			return m
		}
	}
	require.Failf(t, "log line missing", "no %q in:\n%s", msg, l.String())
	return nil
}

func (l *logBuffer) has(msg string) bool {
	return strings.Contains(l.String(), `"msg":"`+msg+`"`)
}

// fakeHandler records its calls and does what do says (by default: succeed with a fixed ID).
type fakeHandler struct {
	do func(ctx context.Context, e Event) (Result, error)

	mu    sync.Mutex
	calls []Event
}

const businessID = "onboarding-111122223333"

func (h *fakeHandler) Create(ctx context.Context, e Event) (Result, error) { return h.call(ctx, e) }
func (h *fakeHandler) Update(ctx context.Context, e Event) (Result, error) { return h.call(ctx, e) }
func (h *fakeHandler) Delete(ctx context.Context, e Event) (Result, error) { return h.call(ctx, e) }

func (h *fakeHandler) call(ctx context.Context, e Event) (Result, error) {
	h.mu.Lock()
	h.calls = append(h.calls, e)
	h.mu.Unlock()
	if h.do == nil {
		return Result{PhysicalResourceID: businessID, Data: map[string]string{"Status": "registered"}}, nil
	}
	return h.do(ctx, e)
}

func (h *fakeHandler) called() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Event(nil), h.calls...)
}

// newRunner answers to b, logs to logs, and gives handlers margin before the deadline.
func newRunner(b *bucket, h Handler, logs io.Writer) *Runner {
	return &Runner{
		Handler:   h,
		Responder: &Responder{Hosts: ResponseHosts{Extra: []string{b.host()}}, BaseBackoff: time.Millisecond},
		Logger:    slog.New(slog.NewJSONHandler(logs, nil)),
		Margin:    50 * time.Millisecond,
	}
}

// assertNoURL asserts that text holds nothing of rawURL: neither the URL, nor its query, nor its
// path, nor the signature.
func assertNoURL(t *testing.T, text, rawURL string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	require.NotContains(t, text, rawURL)
	require.NotContains(t, text, u.RawQuery)
	require.NotContains(t, text, u.EscapedPath())
	require.NotContains(t, text, signature)
}
