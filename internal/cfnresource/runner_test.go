package cfnresource

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requestIDs of the fixtures, by fixture name without the "sns-" prefix.
var requestIDs = map[string]string{
	"create": "2c6f6b7e-6d8e-4a4f-9f0a-3e2b1c0d9e8f",
	"update": "8d1a2b3c-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
	"delete": "f0e1d2c3-b4a5-4968-8776-a5b4c3d2e1f0",
}

// TestRunnerMatrix: every RequestType × {ok, error, panic, timeout} × {direct, SNS} gets exactly
// one response, with the right status and physical ID.
func TestRunnerMatrix(t *testing.T) {
	const customerError = "the role arn:aws:iam::111122223333:role/DoiT_Management_Role_DO-NOT-DELETE cannot be assumed with this ExternalId: check the stack's ExternalId parameter"
	type behaviour struct {
		do         func(release <-chan struct{}) func(context.Context, Event) (Result, error)
		status     string
		reason     *regexp.Regexp
		okID       bool // SUCCESS physical ID rules apply, else FAILED ones
		late       bool // the handler's result comes after the answer
		deadline   time.Duration
		wantLogMsg string
	}
	behaviours := map[string]behaviour{
		"ok": {
			do:     func(<-chan struct{}) func(context.Context, Event) (Result, error) { return nil },
			status: statusSuccess, reason: regexp.MustCompile(`^$`), okID: true,
		},
		"error": {
			do: func(<-chan struct{}) func(context.Context, Event) (Result, error) {
				return func(context.Context, Event) (Result, error) { return Result{}, errors.New(customerError) }
			},
			status: statusFailed, reason: regexp.MustCompile("^" + regexp.QuoteMeta(customerError) + "$"),
		},
		"panic": {
			do: func(<-chan struct{}) func(context.Context, Event) (Result, error) {
				return func(context.Context, Event) (Result, error) { panic("nil map in the business") }
			},
			status: statusFailed, reason: regexp.MustCompile(`^internal error \(correlation id [0-9a-f]{8}\)$`),
			wantLogMsg: "handler panicked",
		},
		"timeout": {
			do: func(release <-chan struct{}) func(context.Context, Event) (Result, error) {
				return func(context.Context, Event) (Result, error) { // ignores its context
					<-release
					return Result{PhysicalResourceID: businessID}, nil
				}
			},
			status: statusFailed, reason: regexp.MustCompile(`^timed out: the handler did not finish within \S+ \(answering 250ms before the deadline\)$`),
			late: true, deadline: 300 * time.Millisecond,
			wantLogMsg: "late handler result discarded: the watchdog answered first",
		},
	}
	for _, fixtureName := range []string{"create", "update", "delete"} {
		for outcomeName, bh := range behaviours {
			for _, via := range []string{"", "sns-"} {
				t.Run(fixtureName+"/"+outcomeName+"/"+strings.TrimSuffix(cmpOr(via, "direct"), "-"), func(t *testing.T) {
					b := newBucket(t)
					logs := &logBuffer{}
					release := make(chan struct{})
					h := &fakeHandler{do: bh.do(release)}
					r := newRunner(b, h, logs)
					ctx := context.Background()
					if bh.deadline > 0 {
						r.Margin = 250 * time.Millisecond
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, bh.deadline)
						defer cancel()
					}
					url := b.responseURL(requestIDs[fixtureName])

					require.NoError(t, r.HandleRaw(ctx, fixture(t, via+fixtureName, url, nil)))

					got := b.onlyResponse(t)
					status, reason := bh.status, bh.reason
					if fixtureName == "delete" && status == statusFailed {
						// a Delete never blocks the stack deletion: SUCCESS, with what went wrong
						status = statusSuccess
						reason = regexp.MustCompile(`^not everything was cleaned up \(` + strings.TrimSuffix(strings.TrimPrefix(bh.reason.String(), "^"), "$") +
							`\); the stack deletion goes on and the rest is cleaned up later$`)
						assert.Equal(t, alertDeleteIncomplete, logs.line(t, "Delete answered SUCCESS without finishing, so the stack deletion is not blocked: check what it left behind")["alert"])
					}
					assert.Equal(t, status, got.Status)
					assert.Regexp(t, reason, got.Reason)
					assert.Equal(t, requestIDs[fixtureName], got.RequestID)
					assert.Equal(t, fixtureStack, got.StackID)
					assert.Equal(t, "Hook", got.LogicalResourceID)
					assert.Equal(t, wantPhysicalID(fixtureName, bh.okID), got.PhysicalResourceID)
					assert.Equal(t, bh.okID, got.Data != nil, "Data only on success")

					calls := h.called()
					require.Len(t, calls, 1)
					assert.Equal(t, RequestType(strings.ToUpper(fixtureName[:1])+fixtureName[1:]), calls[0].RequestType)
					assert.Empty(t, calls[0].ResponseURL, "the handler never sees the ResponseURL")

					if bh.late {
						close(release)
						require.Eventually(t, func() bool { return logs.has(bh.wantLogMsg) }, 2*time.Second, 5*time.Millisecond)
						assert.Len(t, b.recorded(), 1, "the late result is never sent")
					}
					if bh.wantLogMsg != "" {
						line := logs.line(t, bh.wantLogMsg)
						if outcomeName == "panic" {
							id := regexp.MustCompile(`correlation id ([0-9a-f]{8})`).FindStringSubmatch(got.Reason)
							require.Len(t, id, 2, got.Reason)
							assert.Equal(t, id[1], line["correlation_id"])
							assert.Contains(t, line["stack"], "runtime/debug.Stack")
							assert.Equal(t, "nil map in the business", line["panic"])
						}
					}
					assertNoURL(t, logs.String(), url)
				})
			}
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// wantPhysicalID: successes keep the business ID; a failed Create answers the marker, a failed
// Update or Delete the ID CloudFormation knows.
func wantPhysicalID(fixtureName string, ok bool) string {
	if fixtureName == "create" && !ok {
		return FailedCreateID(Event{RequestID: requestIDs["create"]})
	}
	return businessID
}

func TestRunnerPhysicalIDs(t *testing.T) {
	marker := FailedCreateID(Event{RequestID: requestIDs["create"]})
	result := func(id string) func(context.Context, Event) (Result, error) {
		return func(context.Context, Event) (Result, error) { return Result{PhysicalResourceID: id}, nil }
	}
	fail := func(context.Context, Event) (Result, error) {
		return Result{PhysicalResourceID: "new-id"}, errors.New("boom")
	}
	tests := map[string]struct {
		fixture    string
		do         func(context.Context, Event) (Result, error)
		status     string
		physicalID string
		reason     string
	}{
		"Create with an empty ID":             {"create", result(""), statusFailed, marker, "internal error: empty physical ID"},
		"Create with a reserved ID":           {"create", result("create-failed-x"), statusFailed, marker, `internal error: physical ID starts with "create-failed-"`},
		"Create with an ID over 1 KB":         {"create", result(strings.Repeat("p", 1025)), statusFailed, marker, "internal error: physical ID is 1025 bytes"},
		"Create error ignores the result":     {"create", fail, statusFailed, marker, "boom"},
		"Update with an empty ID keeps it":    {"update", result(""), statusSuccess, businessID, ""},
		"Update with a new ID replaces":       {"update", result("onboarding-v2"), statusSuccess, "onboarding-v2", ""},
		"Update error keeps the old ID":       {"update", fail, statusFailed, businessID, "boom"},
		"Update with a bad ID keeps the old":  {"update", result("a\nb"), statusFailed, businessID, "internal error: physical ID contains control characters"},
		"Delete keeps the ID":                 {"delete", result("something-else"), statusSuccess, businessID, ""},
		"Delete error succeeds, keeps the ID": {"delete", fail, statusSuccess, businessID, "not everything was cleaned up (boom)"},
		"Delete error with an empty message":  {"delete", func(context.Context, Event) (Result, error) { return Result{}, errors.New("") }, statusSuccess, businessID, "(failed without a reason)"},
		"Goexit in the handler": {"create", func(context.Context, Event) (Result, error) { runtime.Goexit(); return Result{}, nil },
			statusFailed, marker, "internal error: the handler exited without returning"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := newBucket(t)
			r := newRunner(b, &fakeHandler{do: tc.do}, &logBuffer{})
			require.NoError(t, r.HandleRaw(context.Background(), fixture(t, tc.fixture, b.responseURL("r"), nil)))
			got := b.onlyResponse(t)
			assert.Equal(t, tc.status, got.Status)
			assert.Equal(t, tc.physicalID, got.PhysicalResourceID)
			assert.NotEmpty(t, got.PhysicalResourceID)
			assert.Contains(t, got.Reason, tc.reason)
		})
	}
}

func TestRunnerDeleteAfterFailedCreate(t *testing.T) {
	for _, via := range []string{"", "sns-"} {
		t.Run(cmpOr(via, "direct"), func(t *testing.T) {
			b := newBucket(t)
			h := &fakeHandler{do: func(context.Context, Event) (Result, error) {
				return Result{}, errors.New("account 111122223333 is already onboarded by stack other-stack")
			}}
			r := newRunner(b, h, &logBuffer{})
			require.NoError(t, r.HandleRaw(context.Background(), fixture(t, via+"create", b.responseURL("c"), nil)))
			created := b.onlyResponse(t)
			require.Equal(t, statusFailed, created.Status)
			require.True(t, IsFailedCreateID(created.PhysicalResourceID))

			// The rollback: CloudFormation deletes the marker. Properties may even be broken.
			require.NoError(t, r.HandleRaw(context.Background(), fixture(t, via+"delete", b.responseURL("d"), func(e map[string]any) {
				e["PhysicalResourceId"] = created.PhysicalResourceID
				e["ResourceProperties"] = "broken"
			})))
			all := b.responses(t)
			require.Len(t, all, 2)
			assert.Equal(t, statusSuccess, all[1].Status)
			assert.Equal(t, created.PhysicalResourceID, all[1].PhysicalResourceID)
			assert.Equal(t, "nothing to delete: the Create failed", all[1].Reason)
			assert.Len(t, h.called(), 1, "the handler is not called for the marker's Delete")
		})
	}
}

func TestRunnerRollbackUpdate(t *testing.T) {
	// A rollback is an Update whose properties are the old ones, and whose old ones are the new.
	swap := func(e map[string]any) {
		e["ResourceProperties"], e["OldResourceProperties"] = e["OldResourceProperties"], e["ResourceProperties"]
	}
	for name, do := range map[string]func(context.Context, Event) (Result, error){
		"handler fails":  func(context.Context, Event) (Result, error) { return Result{}, errors.New("cannot roll back") },
		"handler panics": func(context.Context, Event) (Result, error) { panic("bug") },
	} {
		t.Run(name, func(t *testing.T) {
			b := newBucket(t)
			h := &fakeHandler{do: do}
			r := newRunner(b, h, &logBuffer{})
			require.NoError(t, r.HandleRaw(context.Background(), fixture(t, "sns-update", b.responseURL("u"), swap)))
			got := b.onlyResponse(t)
			assert.Equal(t, statusFailed, got.Status)
			assert.Equal(t, businessID, got.PhysicalResourceID, "a failed Update keeps the old ID")
			calls := h.called()
			require.Len(t, calls, 1)
			assert.Equal(t, "1", calls[0].ResourceProperties["TemplateVersion"], "new properties: the old template's")
			assert.Equal(t, "2", calls[0].OldResourceProperties["TemplateVersion"])
		})
	}
}

func TestRunnerBadInput(t *testing.T) {
	tests := map[string]struct {
		edit   func(e map[string]any)
		raw    string // instead of a fixture
		answer string // FAILED reason, or empty for a drop
	}{
		"unsupported RequestType": {edit: func(e map[string]any) { e["RequestType"] = "Replace" }, answer: `invalid custom-resource request: unsupported RequestType "Replace"`},
		"ResourceProperties not an object": {edit: func(e map[string]any) { e["ResourceProperties"] = []any{"x"} },
			answer: "invalid custom-resource request: ResourceProperties is a JSON array, want an object"},
		"missing ResourceType": {edit: func(e map[string]any) { delete(e, "ResourceType") }, answer: "invalid custom-resource request: missing ResourceType"},
		"missing RequestId":    {edit: func(e map[string]any) { delete(e, "RequestId") }},
		"missing ResponseURL":  {edit: func(e map[string]any) { delete(e, "ResponseURL") }},
		"malformed JSON":       {raw: `{"RequestType":"Create",`},
		"two SNS records":      {raw: `{"Records":[{"EventSource":"aws:sns","Sns":{"Message":"{}"}},{"EventSource":"aws:sns","Sns":{"Message":"{}"}}]}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := newBucket(t)
			h := &fakeHandler{}
			logs := &logBuffer{}
			r := newRunner(b, h, logs)
			payload := []byte(tc.raw)
			if tc.raw == "" {
				payload = fixture(t, "sns-create", b.responseURL("c"), tc.edit)
			}
			require.NoError(t, r.HandleRaw(context.Background(), payload))
			assert.Empty(t, h.called(), "the handler never sees bad input")
			if tc.answer == "" {
				assert.Empty(t, b.recorded())
				line := logs.line(t, "request dropped: it cannot be answered")
				assert.Equal(t, "WARN", line["level"])
				assert.NotEmpty(t, line["reason"])
				return
			}
			got := b.onlyResponse(t)
			assert.Equal(t, statusFailed, got.Status)
			assert.Equal(t, tc.answer, got.Reason)
			assert.True(t, IsFailedCreateID(got.PhysicalResourceID))
		})
	}
}

// A malformed Delete never blocks a stack deletion: SUCCESS, the handler not run, an error logged.
func TestRunnerMalformedDeleteSucceeds(t *testing.T) {
	b := newBucket(t)
	h := &fakeHandler{}
	logs := &logBuffer{}
	r := newRunner(b, h, logs)
	payload := fixture(t, "sns-delete", b.responseURL("d"), func(e map[string]any) { delete(e, "ResourceType") })
	require.NoError(t, r.HandleRaw(context.Background(), payload))
	assert.Empty(t, h.called())
	got := b.onlyResponse(t)
	assert.Equal(t, statusSuccess, got.Status)
	assert.Contains(t, got.Reason, "missing ResourceType")
	assert.NotEmpty(t, got.PhysicalResourceID)
	line := logs.line(t, "Delete answered SUCCESS without finishing, so the stack deletion is not blocked: check what it left behind")
	assert.Equal(t, "ERROR", line["level"])
	assert.Equal(t, alertDeleteIncomplete, line["alert"])
}

func TestRunnerIsALambdaHandler(t *testing.T) {
	b := newBucket(t)
	r := newRunner(b, &fakeHandler{}, &logBuffer{})
	out, err := r.Invoke(context.Background(), []byte(`{"RequestType":`))
	require.NoError(t, err, "malformed JSON is logged and dropped, not a function error")
	assert.Nil(t, out)
	assert.Empty(t, b.recorded())
}

func TestRunnerForeignHostIsDropped(t *testing.T) {
	b := newBucket(t)
	for name, url := range map[string]string{
		"foreign https host":        "https://collector.example.net/steal?X-Amz-Signature=" + signature,
		"response bucket over http": "http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/k?X-Amz-Signature=" + signature,
		"test bucket not allowed":   strings.Replace(b.responseURL("c"), "127.0.0.1", "localhost", 1),
	} {
		t.Run(name, func(t *testing.T) {
			h := &fakeHandler{}
			logs := &logBuffer{}
			r := newRunner(b, h, logs)
			require.NoError(t, r.HandleRaw(context.Background(), fixture(t, "create", url, nil)), "a drop is not retried")
			assert.Empty(t, h.called(), "the handler does not run for a foreign host")
			assert.Empty(t, b.recorded())
			line := logs.line(t, "request dropped: its response URL is not allowed")
			assert.Equal(t, requestIDs["create"], line["request_id"])
			assertNoURL(t, logs.String(), url)
		})
	}
}

func TestRunnerDuplicateDelivery(t *testing.T) {
	for name, do := range map[string]func(context.Context, Event) (Result, error){
		"success": nil,
		"failure": func(context.Context, Event) (Result, error) { return Result{}, errors.New("not yet") },
	} {
		for _, fixtureName := range []string{"create", "sns-create", "update", "sns-delete"} {
			t.Run(name+"/"+fixtureName, func(t *testing.T) {
				b := newBucket(t)
				r := newRunner(b, &fakeHandler{do: do}, &logBuffer{})
				payload := fixture(t, fixtureName, b.responseURL("dup"), nil)
				require.NoError(t, r.HandleRaw(context.Background(), payload))
				require.NoError(t, r.HandleRaw(context.Background(), payload))
				puts := b.recorded()
				require.Len(t, puts, 2)
				assert.Equal(t, string(puts[0].body), string(puts[1].body), "the same event gets the same answer")
			})
		}
	}
}

func TestRunnerDelivery(t *testing.T) {
	tests := map[string]struct {
		failures int
		status   int
		wantPuts int
		wantErr  string
	}{
		"PUT 5xx then 200":       {2, http.StatusInternalServerError, 3, ""},
		"PUT 403 is not retried": {99, http.StatusForbidden, 1, "HTTP 403 Forbidden"},
		"PUT 5xx every time":     {99, http.StatusServiceUnavailable, 5, "(attempt 5 of 5): HTTP 503"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := newBucket(t)
			b.fail(tc.failures, tc.status)
			logs := &logBuffer{}
			url := b.responseURL("c")
			err := newRunner(b, &fakeHandler{}, logs).HandleRaw(context.Background(), fixture(t, "create", url, nil))
			assert.Len(t, b.recorded(), tc.wantPuts)
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, "INFO", logs.line(t, "response delivered")["level"])
				return
			}
			require.Error(t, err, "no response delivered: Lambda should retry")
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Contains(t, err.Error(), "answering Create request "+requestIDs["create"]+" for Hook")
			assert.Equal(t, "ERROR", logs.line(t, "response not delivered")["level"])
			assertNoURL(t, err.Error(), url)
			assertNoURL(t, logs.String(), url)
		})
	}
}

// TestRunnerURLNeverLogged drives every path that logs or returns an error and checks that
// nothing of the ResponseURL comes out.
func TestRunnerURLNeverLogged(t *testing.T) {
	paths := map[string]struct {
		setup func(b *bucket)
		do    func(context.Context, Event) (Result, error)
		edit  func(e map[string]any)
	}{
		"success":         {},
		"handler error":   {do: func(context.Context, Event) (Result, error) { return Result{}, errors.New("denied") }},
		"handler panic":   {do: func(context.Context, Event) (Result, error) { panic("bug") }},
		"bad input":       {edit: func(e map[string]any) { e["ResourceProperties"] = 3 }},
		"unanswerable":    {edit: func(e map[string]any) { delete(e, "StackId") }},
		"PUT refused":     {setup: func(b *bucket) { b.fail(9, http.StatusForbidden) }},
		"PUT unreachable": {setup: func(b *bucket) { b.srv.Close() }},
		"PUT 5xx":         {setup: func(b *bucket) { b.fail(9, http.StatusInternalServerError) }},
	}
	for name, p := range paths {
		t.Run(name, func(t *testing.T) {
			b := newBucket(t)
			url := b.responseURL(requestIDs["create"])
			if p.setup != nil {
				p.setup(b)
			}
			logs := &logBuffer{}
			err := newRunner(b, &fakeHandler{do: p.do}, logs).HandleRaw(context.Background(), fixture(t, "sns-create", url, p.edit))
			assertNoURL(t, logs.String(), url)
			if err != nil {
				assertNoURL(t, err.Error(), url)
			}
			assert.NotEmpty(t, logs.lines(t), "every path logs its decision")
		})
	}
}

func TestRunnerLogKeys(t *testing.T) {
	b := newBucket(t)
	logs := &logBuffer{}
	require.NoError(t, newRunner(b, &fakeHandler{}, logs).HandleRaw(context.Background(), fixture(t, "update", b.responseURL("u"), nil)))
	lines := logs.lines(t)
	require.Len(t, lines, 1, "one line per decision")
	line := lines[0]
	assert.Equal(t, "response delivered", line["msg"])
	for key, want := range map[string]any{
		"request_type":         "Update",
		"stack_id":             fixtureStack,
		"request_id":           requestIDs["update"],
		"logical_resource_id":  "Hook",
		"physical_resource_id": businessID,
		"status":               statusSuccess,
		"reason":               "",
	} {
		assert.Equal(t, want, line[key], key)
	}
	assert.NotContains(t, logs.String(), "registered", "Data is never logged")
}

// TestRunnerHandlerFinishingAtTheDeadline races the handler against the watchdog: whichever wins,
// exactly one response goes out (run with -race).
func TestRunnerHandlerFinishingAtTheDeadline(t *testing.T) {
	winners := map[string]int{}
	defer func() { t.Logf("answers: %v", winners) }()
	for i := range 40 {
		b := newBucket(t)
		logs := &logBuffer{}
		h := &fakeHandler{do: func(ctx context.Context, _ Event) (Result, error) {
			<-ctx.Done() // returns right at the watchdog's deadline
			return Result{PhysicalResourceID: businessID}, nil
		}}
		r := newRunner(b, h, logs)
		r.Margin = 30 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Millisecond)
		require.NoError(t, r.HandleRaw(ctx, fixture(t, "create", b.responseURL("c"), nil)), "run %d", i)
		cancel()
		got := b.onlyResponse(t)
		winners[got.Status]++
		if got.Status == statusFailed {
			assert.True(t, strings.HasPrefix(got.Reason, "timed out: "), got.Reason)
			require.Eventually(t, func() bool { return logs.has("late handler result discarded: the watchdog answered first") },
				time.Second, time.Millisecond)
		} else {
			assert.Equal(t, businessID, got.PhysicalResourceID)
		}
		time.Sleep(5 * time.Millisecond)
		assert.Len(t, b.recorded(), 1, "run %d: exactly one response", i)
	}
}

func TestRunnerServiceTimeout(t *testing.T) {
	b := newBucket(t)
	h := &fakeHandler{do: func(ctx context.Context, _ Event) (Result, error) {
		<-ctx.Done() // a well-behaved handler: whoever wins, the answer says "timed out"
		return Result{}, ctx.Err()
	}}
	r := newRunner(b, h, &logBuffer{})
	r.Margin = 850 * time.Millisecond
	// a URL without a signing time: only the invocation's own start counts
	payload := fixture(t, "update", b.srv.URL+"/u?X-Amz-Signature="+signature, func(e map[string]any) {
		e["ResourceProperties"].(map[string]any)["ServiceTimeout"] = "1"
	})
	start := time.Now()
	require.NoError(t, r.HandleRaw(context.Background(), payload), "no ctx deadline: ServiceTimeout bounds the handler")
	assert.Less(t, time.Since(start), 800*time.Millisecond)
	got := b.onlyResponse(t)
	assert.Equal(t, statusFailed, got.Status)
	assert.Regexp(t, `^timed out: the handler did not finish within 1[0-5][0-9]ms \(answering 850ms before the deadline\)`, got.Reason)
	assert.Equal(t, businessID, got.PhysicalResourceID)
}

func TestRunnerNoTimeLeft(t *testing.T) {
	b := newBucket(t)
	h := &fakeHandler{}
	r := newRunner(b, h, &logBuffer{})
	r.Margin = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	require.NoError(t, r.HandleRaw(ctx, fixture(t, "create", b.responseURL("c"), nil)))
	got := b.onlyResponse(t)
	assert.Equal(t, statusFailed, got.Status)
	assert.Equal(t, "timed out: less than the 1s margin was left to run the handler", got.Reason)
	assert.Empty(t, h.called())
}

func TestRunnerCancelledInvocationStillAnswers(t *testing.T) {
	b := newBucket(t)
	ctx, cancel := context.WithCancel(context.Background())
	h := &fakeHandler{do: func(hctx context.Context, _ Event) (Result, error) {
		cancel()
		<-hctx.Done()
		return Result{}, hctx.Err()
	}}
	require.NoError(t, newRunner(b, h, &logBuffer{}).HandleRaw(ctx, fixture(t, "update", b.responseURL("u"), nil)))
	got := b.onlyResponse(t)
	assert.Equal(t, statusFailed, got.Status)
	assert.Equal(t, businessID, got.PhysicalResourceID)
	assert.True(t, strings.HasPrefix(got.Reason, "cancelled: the invocation ended before the handler finished"), got.Reason)
}

func TestRunnerNilHandlerIsAnInternalError(t *testing.T) {
	b := newBucket(t)
	r := newRunner(b, nil, &logBuffer{})
	require.NoError(t, r.HandleRaw(context.Background(), fixture(t, "create", b.responseURL("c"), nil)))
	assert.Regexp(t, `^internal error \(correlation id [0-9a-f]{8}\)$`, b.onlyResponse(t).Reason)
}

func TestRunnerDefaults(t *testing.T) {
	r := &Runner{}
	assert.Equal(t, 10*time.Second, r.margin())
	assert.NotNil(t, r.logger())
	assert.WithinDuration(t, time.Now(), r.now(), time.Second)
	fixed := time.Date(2024, 6, 12, 10, 15, 0, 0, time.UTC)
	r.Now = func() time.Time { return fixed }
	assert.Equal(t, fixed, r.now())
}
