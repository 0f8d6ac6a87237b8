package burst

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/supportaccess/gateway/test/faultproxy"
	"github.com/supportaccess/gateway/test/sim"
)

var (
	burstAccounts = flag.Int("burst", 0, "BenchmarkStackSetBurst: member accounts (make bench: 1000); 0 skips the benchmark")
	burstServing  = flag.String("burst-serving", "serial-dynamodb", "how moto serves the burst: threaded, serial-dynamodb or serial")
	burstHooks    = flag.Int("burst-hooks", 20, "the hook's execution environments (the backend stack reserves 20)")
	burstDup      = flag.Float64("burst-duplicates", 0.1, "the share of notifications SNS delivers twice")
	burstPercent  = flag.Int("burst-concurrency", 0, "the StackSet's MaxConcurrentPercentage, with a tenth tolerated in soft mode (0: the committed template's preferences)")
	burstTimeout  = flag.Duration("burst-timeout", 20*time.Minute, "BenchmarkStackSetBurst's timeout")
	burstQuotas   = flag.Bool("burst-quotas", true, "BenchmarkStackSetBurst: the vendor account's AWS request-rate quotas at AWS's rates (test/quotas)")
)

// testAccounts is the size of the organization TestStackSetBurst deploys to.
const testAccounts = 200

// testTimeout bounds TestStackSetBurst, which takes about 2.5 minutes on the 2-core machine (with -race).
const testTimeout = 5 * time.Minute

// preferences are the StackSet operation's preferences in a burst: percent of the accounts at a
// time, a tenth tolerated, failures not slowing it down; 0 is nil, the committed template's own
// (100 at a time, a tenth tolerated, soft: docs/templates.md, "The StackSet at scale").
func preferences(percent int) *sim.OperationPreferences {
	if percent == 0 {
		return nil
	}
	return &sim.OperationPreferences{MaxConcurrentPercentage: percent, FailureTolerancePercentage: 10,
		ConcurrencyMode: sim.SoftFailureTolerance}
}

// burstEnv runs the burst tests: make test sets it in make burst, a step of its own after the
// other packages' tests. Beside them on a 2-core machine, the burst's proofs and scans ran out of
// time (a loaded CI run: STS and DynamoDB calls cancelled at their deadlines), which is the
// stand-ins' load, not a verdict on the hook; go test ./... by hand skips them, saying so.
const burstEnv = "SUPPORT_BURST"

// needBurst skips t unless burstEnv is set, saying why.
func needBurst(t *testing.T) {
	t.Helper()
	if os.Getenv(burstEnv) == "" {
		t.Skip(burstEnv + " is unset: the burst runs alone, in make burst (make test runs it; see " + burstEnv + "'s comment)")
	}
}

// 200 accounts under one tenant's token through the StackSet, a tenth of the notifications
// delivered twice, the vendor account's AWS quotas in force at AWS's rates (the first wave's 100
// stacks at once meet KMS CreateKey's 5 a second: the hook must wait and retry, not fail), then
// accounts joining, moving and leaving: no stack fails, every account is
// registered once to the tenant with one key, every Create is answered within its ServiceTimeout and
// a duplicate's answer agrees with the first, and nothing is left of the accounts that left: no
// registration, vendor resource or role, and their keys retired by the sweep a week later.
func TestStackSetBurst(t *testing.T) {
	needBurst(t)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	started := time.Now()
	b, o := run(ctx, t, setup{accounts: testAccounts, changes: 10, serving: sim.SerialDynamoDB, hooks: 20, duplicates: 0.1,
		dupDelay: time.Second, preferences: preferences(0), weekLater: true, faults: awsQuotas()})
	t.Logf("%d accounts, %d requests, %d delivered twice, %d KMS keys created; StackSet %.1f accounts/s, answers p50 %s p99 %s; "+
		"%.1f accounts/s proven (KMS CreateKey's quota: %g/s); quotas: %s; in %s\n%s",
		testAccounts, o.requests, o.duplicates, o.createKeys, o.rate, percentile(o.latencies, 50).Round(time.Millisecond),
		percentile(o.latencies, 99).Round(time.Millisecond), o.registered, createKeyRate(), o.quotaLine(),
		time.Since(started).Round(time.Second), b.Costs())
	for what, l := range o.problems() {
		t.Errorf("%s (%d): %v", what, len(l), l)
	}
	if o.duplicates == 0 {
		t.Error("no notification was delivered twice: the test did not test at-least-once delivery")
	}
	if b.pending > 0 {
		t.Errorf("%d claims were left waiting for the sweep after the roll-out: the hook's proofs gave up instead of waiting: %v", b.pending, b.pendingWhy)
	}
	if o.throttled("kms", "CreateKey") == 0 {
		t.Errorf("KMS CreateKey was never throttled (%s): the test did not show the hook slowing down under the quota", o.quotaLine())
	}
	if o.leaversSeen != 2*b.changes {
		t.Errorf("%d leavers checked, want %d", o.leaversSeen, 2*b.changes)
	}
	// one key per account that ever registered (the operator made the subject key before)
	if want := testAccounts + b.changes; o.createKeys != want {
		t.Errorf("the hook's KMS CreateKey succeeded %d times, want %d: a key for each account, once", o.createKeys, want)
	}
}

// BenchmarkStackSetBurst runs the burst with -burst N accounts (make bench: 1000) and reports the
// StackSet's rate, the Creates' answers' p50 and p99 from Create sent, the failures and the
// duplicates delivered. go test -run '^$' -bench StackSetBurst -burst 1000 ./test/burst
func BenchmarkStackSetBurst(b *testing.B) {
	if *burstAccounts <= 0 {
		b.Skip("give -burst N (make bench: 1000)")
	}
	serving := map[string]sim.Serving{"threaded": sim.Threaded, "serial-dynamodb": sim.SerialDynamoDB, "serial": sim.Serial}
	s, ok := serving[*burstServing]
	if !ok {
		b.Fatalf("-burst-serving %q: threaded, serial-dynamodb or serial", *burstServing)
	}
	var faults []faultproxy.Rule
	if *burstQuotas {
		faults = awsQuotas()
	}
	for range b.N {
		ctx, cancel := context.WithTimeout(b.Context(), *burstTimeout)
		started := time.Now()
		bu, o := run(ctx, b, setup{accounts: *burstAccounts, serving: s, hooks: *burstHooks,
			duplicates: *burstDup, dupDelay: time.Second, preferences: preferences(*burstPercent), catchUp: true, faults: faults})
		cancel()
		failures := 0
		for what, l := range o.problems() {
			failures += len(l)
			b.Errorf("%s (%d): %v", what, len(l), l)
		}
		b.ReportMetric(time.Since(started).Seconds(), "wall-s")
		b.ReportMetric(o.rate, "accounts/s")
		b.ReportMetric(float64(percentile(o.latencies, 50).Milliseconds()), "p50-ms")
		b.ReportMetric(float64(percentile(o.latencies, 99).Milliseconds()), "p99-ms")
		b.ReportMetric(float64(failures), "failures")
		b.ReportMetric(float64(o.duplicates), "duplicates")
		b.ReportMetric(float64(bu.pending), "pending-after-burst")
		// the binding quota's bound: one KMS key per account proven, at most createKeyRate a second
		b.ReportMetric(o.registered, "proven-accounts/s")
		b.ReportMetric(createKeyRate(), "bound-accounts/s")
		b.ReportMetric(o.registered/createKeyRate(), "of-bound")
		b.ReportMetric(float64(o.throttled("kms", "CreateKey")), "createkey-throttled")
		for _, why := range bu.pendingWhy {
			b.Logf("left waiting after the burst: %s", why)
		}
		b.Logf("%d accounts (%s, %d hook environments), %d requests, %d delivered twice, %d KMS keys; stack p50 %s p99 %s; quotas: %s\n%s",
			*burstAccounts, *burstServing, *burstHooks, o.requests, o.duplicates, o.createKeys,
			percentile(o.stackTimes, 50).Round(time.Millisecond), percentile(o.stackTimes, 99).Round(time.Millisecond), o.quotaLine(), bu.Costs())
	}
}
