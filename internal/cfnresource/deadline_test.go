package cfnresource

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClaimedTimes(t *testing.T) {
	signed := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	sigV4 := func(date string, expires string) string {
		return bucketURL + "&X-Amz-Date=" + date + "&X-Amz-Expires=" + expires
	}
	tests := map[string]struct {
		e           Event
		sent, until time.Time
	}{
		"SigV4 date and expiry": {Event{ResponseURL: sigV4("20261129T100000Z", "7200")}, signed, signed.Add(2 * time.Hour)},
		"SigV2 expiry, no date": {Event{ResponseURL: bucketURL + "&Expires=" + strconv.FormatInt(signed.Unix(), 10)}, time.Time{}, signed},
		"SNS Timestamp only":    {Event{ResponseURL: bucketURL, SNSTimestamp: signed}, signed, time.Time{}},
		"the earlier of the two": {Event{ResponseURL: sigV4("20261129T100000Z", "7200"), SNSTimestamp: signed.Add(-time.Minute)},
			signed.Add(-time.Minute), signed.Add(2 * time.Hour)},
		"malformed date":           {Event{ResponseURL: sigV4("yesterday", "7200")}, time.Time{}, time.Time{}},
		"expiry not a number":      {Event{ResponseURL: sigV4("20261129T100000Z", "soon")}, signed, time.Time{}},
		"expiry over S3's 7 days":  {Event{ResponseURL: sigV4("20261129T100000Z", "99999999999")}, signed, time.Time{}},
		"negative expiry":          {Event{ResponseURL: sigV4("20261129T100000Z", "-5")}, signed, time.Time{}},
		"SigV2 expiry absurd":      {Event{ResponseURL: bucketURL + "&Expires=99999999999999999"}, time.Time{}, time.Time{}},
		"no claims":                {Event{ResponseURL: bucketURL}, time.Time{}, time.Time{}},
		"not a URL":                {Event{ResponseURL: "%zz"}, time.Time{}, time.Time{}},
		"no claims, SNS zero time": {Event{}, time.Time{}, time.Time{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := claimedTimes(tc.e)
			assert.True(t, tc.sent.Equal(got.sent), "sent: want %s, got %s", tc.sent, got.sent)
			assert.True(t, tc.until.Equal(got.expires), "expires: want %s, got %s", tc.until, got.expires)
		})
	}
}

// TestAnswerByUsesClaims: a request's claims about when CloudFormation sent it only ever bring the
// answer forward; they never push it past the invocation's own limits.
func TestAnswerByUsesClaims(t *testing.T) {
	start := time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)
	lambda, cancel := context.WithDeadline(context.Background(), start.Add(15*time.Minute))
	defer cancel()
	const margin = 10 * time.Second
	url := func(signed time.Time, expires int) string {
		return bucketURL + "&X-Amz-Date=" + signed.Format(sigV4Date) + "&X-Amz-Expires=" + strconv.Itoa(expires)
	}
	props := map[string]any{"ServiceTimeout": "3600"}
	tests := map[string]struct {
		e    Event
		want time.Time
	}{
		"sent 50 minutes ago (SNS)":      {Event{ResourceProperties: props, SNSTimestamp: start.Add(-50 * time.Minute)}, start.Add(10*time.Minute - margin)},
		"signed 50 minutes ago (URL)":    {Event{ResourceProperties: props, ResponseURL: url(start.Add(-50*time.Minute), 7200)}, start.Add(10*time.Minute - margin)},
		"URL expiring in 2 minutes":      {Event{ResourceProperties: props, ResponseURL: url(start.Add(-time.Minute), 180)}, start.Add(2*time.Minute - margin)},
		"fresh request: Lambda deadline": {Event{ResourceProperties: props, ResponseURL: url(start, 7200), SNSTimestamp: start}, start.Add(15*time.Minute - margin)},
		"claims from the future ignored": {Event{ResourceProperties: props, ResponseURL: url(start.Add(10*time.Hour), 7200), SNSTimestamp: start.Add(time.Hour)}, start.Add(15*time.Minute - margin)},
		"ServiceTimeout 300, sent 4 min": {Event{ResourceProperties: map[string]any{"ServiceTimeout": "300"}, SNSTimestamp: start.Add(-4 * time.Minute)}, start.Add(time.Minute - margin)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, answerBy(lambda, tc.e, start, margin))
		})
	}
}

// Issue 9 B.5: a request SNS redelivered late. CloudFormation started its clock when it sent the
// request (59 minutes ago by the notification's Timestamp), so the watchdog answers within the
// minute left, not after the Lambda's own 15 minutes.
func TestRunnerAnswersBeforeCloudFormationStopsWaiting(t *testing.T) {
	for name, late := range map[string]func(b *bucket) []byte{
		"SNS Timestamp": func(b *bucket) []byte {
			return fixtureAt(t, "sns-update", b.responseURL("u"), time.Now().Add(-3600*time.Second+1500*time.Millisecond), sts3600)
		},
		"URL signing time": func(b *bucket) []byte {
			return fixture(t, "update", b.signedURL("u", time.Now().Add(-3600*time.Second+2*time.Second), 7200), sts3600)
		},
	} {
		t.Run(name, func(t *testing.T) {
			b := newBucket(t)
			release := make(chan struct{})
			defer close(release)
			h := &fakeHandler{do: func(context.Context, Event) (Result, error) {
				<-release
				return Result{}, nil
			}}
			r := newRunner(b, h, &logBuffer{})
			r.Margin = 500 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			begin := time.Now()
			require.NoError(t, r.HandleRaw(ctx, late(b)))
			assert.Less(t, time.Since(begin), 2*time.Second, "answered before CloudFormation's hour is up")
			got := b.onlyResponse(t)
			assert.Equal(t, statusFailed, got.Status)
			assert.Contains(t, got.Reason, "timed out")
		})
	}
}

func sts3600(e map[string]any) { e["ResourceProperties"].(map[string]any)["ServiceTimeout"] = "3600" }

// Issue 9 B.3 and B.5: a request CloudFormation has stopped waiting for does no work, and is never
// turned into a function error that Lambda would retry.
func TestRunnerRequestCloudFormationGaveUpOn(t *testing.T) {
	hourAgo := time.Now().Add(-61 * time.Minute)
	tests := map[string]struct {
		payload  func(b *bucket) []byte
		putFails bool
		answer   string // "" for no PUT at all
	}{
		"URL expired": {payload: func(b *bucket) []byte {
			return fixture(t, "create", b.signedURL("c", time.Now().Add(-3*time.Hour), 7200), nil)
		}},
		"sent over an hour ago, URL still valid": {payload: func(b *bucket) []byte {
			return fixtureAt(t, "sns-create", b.responseURL("c"), hourAgo, sts3600)
		}, answer: statusFailed},
		"sent over an hour ago, the PUT refused": {payload: func(b *bucket) []byte {
			return fixtureAt(t, "sns-create", b.responseURL("c"), hourAgo, sts3600)
		}, putFails: true, answer: statusFailed},
		"a Delete sent over an hour ago": {payload: func(b *bucket) []byte {
			return fixtureAt(t, "sns-delete", b.responseURL("d"), hourAgo, sts3600)
		}, answer: statusSuccess},
		"URL signed over an hour ago": {payload: func(b *bucket) []byte {
			return fixture(t, "update", b.signedURL("u", hourAgo, 7200), sts3600)
		}, answer: statusFailed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := newBucket(t)
			if tc.putFails {
				b.fail(9, http.StatusForbidden)
			}
			h := &fakeHandler{}
			logs := &logBuffer{}
			err := newRunner(b, h, logs).HandleRaw(context.Background(), tc.payload(b))
			require.NoError(t, err, "nobody waits for the answer: no Lambda retry")
			assert.Empty(t, h.called(), "no work for a request CloudFormation gave up")
			if tc.answer == "" {
				assert.Empty(t, b.recorded())
				assert.True(t, logs.has("request dropped: its response URL has expired, CloudFormation stopped waiting; nothing done"))
				return
			}
			puts := b.responses(t)
			require.NotEmpty(t, puts)
			assert.Equal(t, tc.answer, puts[0].Status)
			assert.Contains(t, puts[0].Reason, "too late")
		})
	}
}

// Issue 9 B.6: two records in one SNS invocation are each answered, and a record whose answer could
// not be delivered fails the invocation so that nothing is lost silently.
func TestRunnerSeveralSNSRecords(t *testing.T) {
	twoRecords := func(t *testing.T, b *bucket, first, second string) []byte {
		var one, two map[string]any
		require.NoError(t, json.Unmarshal(fixture(t, "sns-create", first, nil), &one))
		require.NoError(t, json.Unmarshal(fixture(t, "sns-update", second, nil), &two))
		one["Records"] = append(one["Records"].([]any), two["Records"].([]any)...)
		return mustJSON(t, one)
	}
	t.Run("each answered", func(t *testing.T) {
		b := newBucket(t)
		h := &fakeHandler{}
		require.NoError(t, newRunner(b, h, &logBuffer{}).HandleRaw(context.Background(), twoRecords(t, b, b.responseURL("c"), b.responseURL("u"))))
		got := map[string]string{}
		for _, r := range b.responses(t) {
			got[r.RequestID] = r.Status
		}
		assert.Equal(t, map[string]string{requestIDs["create"]: statusSuccess, requestIDs["update"]: statusSuccess}, got)
		assert.Len(t, h.called(), 2)
	})
	t.Run("one undeliverable fails the invocation", func(t *testing.T) {
		b := newBucket(t)
		gone := newBucket(t)
		gone.srv.Close()
		r := newRunner(b, &fakeHandler{}, &logBuffer{})
		r.Responder.Hosts.Extra = append(r.Responder.Hosts.Extra, gone.host())
		r.Responder.MaxAttempts = 1
		err := r.HandleRaw(context.Background(), twoRecords(t, b, b.responseURL("c"), gone.responseURL("u")))
		require.Error(t, err, "Lambda retries the invocation; the answered request is answered again, harmlessly")
		assert.Contains(t, err.Error(), requestIDs["update"])
		assert.Len(t, b.responses(t), 1)
	})
}

// thenHandler answers at once and records when its follow-up ran, relative to the PUT.
type thenHandler struct {
	fakeHandler
	b    *bucket
	mu   sync.Mutex
	ran  bool
	puts int // PUTs the bucket had received when Then started
	left time.Duration
	do   func(ctx context.Context)
}

func (h *thenHandler) Create(ctx context.Context, e Event) (Result, error) {
	res, err := h.fakeHandler.Create(ctx, e)
	res.Then = func(ctx context.Context) {
		h.mu.Lock()
		h.ran, h.puts = true, len(h.b.recorded())
		if d, ok := ctx.Deadline(); ok {
			h.left = time.Until(d)
		}
		h.mu.Unlock()
		if h.do != nil {
			h.do(ctx)
		}
	}
	return res, err
}

func TestRunnerThenRunsAfterTheAnswer(t *testing.T) {
	t.Run("after the PUT, within the invocation less the margin", func(t *testing.T) {
		b := newBucket(t)
		h := &thenHandler{b: b}
		r := newRunner(b, h, &logBuffer{})
		r.Margin = time.Second
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, r.HandleRaw(ctx, fixture(t, "create", b.responseURL("c"), nil)))
		assert.True(t, h.ran)
		assert.Equal(t, 1, h.puts, "the answer went out first")
		assert.InDelta(t, 4*time.Second, h.left, float64(500*time.Millisecond))
	})
	t.Run("also when the answer could not be delivered", func(t *testing.T) {
		b := newBucket(t)
		b.fail(9, http.StatusForbidden) // a forged URL: anyone can make the PUT fail
		h := &thenHandler{b: b}
		require.Error(t, newRunner(b, h, &logBuffer{}).HandleRaw(context.Background(), fixture(t, "create", b.responseURL("c"), nil)))
		assert.True(t, h.ran, "the follow-up does not depend on the answer's delivery")
	})
	t.Run("not when the handler failed", func(t *testing.T) {
		b := newBucket(t)
		h := &thenHandler{b: b}
		h.fakeHandler.do = func(context.Context, Event) (Result, error) { return Result{}, errors.New("no") }
		require.NoError(t, newRunner(b, h, &logBuffer{}).HandleRaw(context.Background(), fixture(t, "create", b.responseURL("c"), nil)))
		assert.False(t, h.ran)
	})
	t.Run("a panic in it is recovered and logged", func(t *testing.T) {
		b := newBucket(t)
		h := &thenHandler{b: b, do: func(context.Context) { panic("proof exploded") }}
		logs := &logBuffer{}
		require.NoError(t, newRunner(b, h, logs).HandleRaw(context.Background(), fixture(t, "create", b.responseURL("c"), nil)))
		assert.Equal(t, statusSuccess, b.onlyResponse(t).Status)
		assert.Equal(t, "proof exploded", logs.line(t, "follow-up work panicked after the answer")["panic"])
	})
}

// failedCreateRecorder is a Handler that hears of rolled-back Creates.
type failedCreateRecorder struct {
	fakeHandler
	mu      sync.Mutex
	markers []string
}

func (f *failedCreateRecorder) DeleteFailedCreate(_ context.Context, e Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.markers = append(f.markers, e.PhysicalResourceID+" "+e.ResponseURL)
}

func TestRunnerReportsTheDeleteOfAFailedCreate(t *testing.T) {
	b := newBucket(t)
	h := &failedCreateRecorder{}
	marker := FailedCreateID(Event{RequestID: requestIDs["create"]})
	require.NoError(t, newRunner(b, h, &logBuffer{}).HandleRaw(context.Background(), fixture(t, "sns-delete", b.responseURL("d"),
		func(e map[string]any) { e["PhysicalResourceId"] = marker })))
	assert.Equal(t, statusSuccess, b.onlyResponse(t).Status)
	assert.Equal(t, []string{marker + " "}, h.markers, "told once, after the answer, without the ResponseURL")
	assert.Empty(t, h.called(), "Delete itself is not called for the marker")
}
