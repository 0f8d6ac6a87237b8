package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/test/lambdaruntime"
)

// The hook's performance, on the real binary (make bench). Figures go in the README with the
// machine's noise in mind: run with -count and compare medians.

// BenchmarkHookColdStart starts a fresh process for every iteration and measures the time from
// exec to the first response delivered (a Delete of a resource the hook never created: one PUT to
// the response bucket, no other AWS call).
func BenchmarkHookColdStart(b *testing.B) {
	binary := buildHook(b)
	e := newEnv(b, binary)
	var cold, first time.Duration
	var n int
	for b.Loop() {
		start := time.Now()
		fn, err := lambdaruntime.Start(context.Background(), lambdaruntime.Config{Binary: binary, Env: e.fnEnv})
		require.NoError(b, err)
		r := e.newRequest(b, "Delete", stackARN(customerAccount, "cold"), fmt.Sprintf("cold-%d", n), map[string]any{"ServiceToken": hookTopic})
		r.PhysicalResourceID = "never-created"
		inv, err := fn.Invoke(context.Background(), direct(b, r), time.Minute)
		require.NoError(b, err)
		require.Nil(b, inv.Error)
		total := time.Since(start)
		cold += fn.ColdStart()
		first += total
		require.NoError(b, fn.Close())
		n++
	}
	b.ReportMetric(float64(cold.Microseconds())/float64(n)/1000, "init-ms")
	b.ReportMetric(float64(first.Microseconds())/float64(n)/1000, "first-response-ms")
}

// BenchmarkHookUpdateEvent measures one full Update against moto on a warm process: decode,
// registry read, two AssumeRole calls, a conditional write and the response PUT.
func BenchmarkHookUpdateEvent(b *testing.B) {
	binary := buildHook(b)
	e := newEnv(b, binary)
	ext := e.onboard(b, customerAccount)
	props := e.deployManagementRole(b, customerAccount, ext)
	stack := stackARN(customerAccount, "doit-management-role")
	create := e.newRequest(b, "Create", stack, "bench-create", props)
	e.invoke(b, direct(b, create))
	if res, ok := e.answer(b, create.RequestID); !ok || res.Status != "SUCCESS" {
		b.Fatalf("setup Create: %+v", res)
	}
	n := 0
	for b.Loop() {
		b.StopTimer()
		u := e.newRequest(b, "Update", stack, fmt.Sprintf("bench-update-%d", n), maps.Clone(props))
		u.PhysicalResourceID, u.OldResourceProperties = "doit-support-gateway:management:"+customerAccount, props
		payload := direct(b, u)
		b.StartTimer()
		e.invoke(b, payload)
		n++
	}
	b.StopTimer()
	if res, ok := e.answer(b, fmt.Sprintf("bench-update-%d", n-1)); !ok || res.Status != "SUCCESS" {
		b.Fatalf("last Update: %+v", res)
	}
	rss, err := e.fn.PeakRSS()
	require.NoError(b, err)
	b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
	info, err := os.Stat(binary)
	require.NoError(b, err)
	b.ReportMetric(float64(info.Size())/(1<<20), "binary-MiB")
}
