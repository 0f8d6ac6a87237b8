package cfnresource

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestServiceTimeout(t *testing.T) {
	tests := map[string]struct {
		props map[string]any
		want  time.Duration
	}{
		"absent":         {map[string]any{}, time.Hour},
		"nil properties": {nil, time.Hour},
		"300 seconds":    {map[string]any{"ServiceTimeout": "300"}, 300 * time.Second},
		"capped at 3600": {map[string]any{"ServiceTimeout": "86400"}, time.Hour},
		"raised to 1":    {map[string]any{"ServiceTimeout": "0"}, time.Second},
		"negative":       {map[string]any{"ServiceTimeout": "-5"}, time.Second},
		"not a number":   {map[string]any{"ServiceTimeout": "5m"}, time.Hour},
		"a JSON number":  {map[string]any{"ServiceTimeout": 300.0}, time.Hour},
		"enormous":       {map[string]any{"ServiceTimeout": "99999999999999999999"}, time.Hour},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, serviceTimeout(tc.props))
		})
	}
}

func TestAnswerBy(t *testing.T) {
	start := time.Date(2024, 6, 12, 10, 15, 0, 0, time.UTC)
	withDeadline := func(d time.Time) context.Context {
		ctx, cancel := context.WithDeadline(context.Background(), d)
		t.Cleanup(cancel)
		return ctx
	}
	props := func(timeout string) Event {
		return Event{ResourceProperties: map[string]any{"ServiceTimeout": timeout}}
	}
	tests := map[string]struct {
		ctx  context.Context
		e    Event
		want time.Time
	}{
		"Lambda deadline first": {withDeadline(start.Add(5 * time.Minute)), props("3600"), start.Add(5*time.Minute - 10*time.Second)},
		"ServiceTimeout first":  {withDeadline(start.Add(15 * time.Minute)), props("300"), start.Add(300*time.Second - 10*time.Second)},
		"no deadline":           {context.Background(), Event{}, start.Add(time.Hour - 10*time.Second)},
		"no deadline, 1s":       {context.Background(), props("1"), start.Add(time.Second - 10*time.Second)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, answerBy(tc.ctx, tc.e, start, 10*time.Second))
		})
	}
}

func TestGateHasOneWinner(t *testing.T) {
	for range 100 {
		var g gate
		var winners atomic.Int32
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if g.claim() {
					winners.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), winners.Load())
	}
}

// TestRunnerWatchdogUsesNow: the budget is computed from Now, so a clock that says most of the
// ServiceTimeout already went by leaves the handler no time.
func TestRunnerWatchdogUsesNow(t *testing.T) {
	b := newBucket(t)
	h := &fakeHandler{}
	r := newRunner(b, h, &logBuffer{})
	calls := 0
	r.Now = func() time.Time {
		calls++
		if calls == 1 {
			return time.Now().Add(-time.Hour) // the request arrived an hour ago
		}
		return time.Now()
	}
	assert.NoError(t, r.HandleRaw(context.Background(), fixture(t, "create", b.responseURL("c"), func(e map[string]any) {
		delete(e["ResourceProperties"].(map[string]any), "ServiceTimeout")
	})))
	assert.Equal(t, "timed out: less than the 50ms margin was left to run the handler", b.onlyResponse(t).Reason)
	assert.Empty(t, h.called())
}
