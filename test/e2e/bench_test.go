package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/internal/registry/registrytest"
	"github.com/supportaccess/gateway/test/faultproxy"
	"github.com/supportaccess/gateway/test/lambdaruntime"
	"github.com/supportaccess/gateway/test/moto"
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

// BenchmarkReconcileCriticalPath measures the management flow's reconcile with a fixed latency
// injected on every IAM call (so wall time is dominated by round trips, as against real IAM): the
// Create (empty account → converged) and the Delete (→ nothing left), concurrent as shipped and
// strictly sequential, in the same run, each on a fresh account. It reports wall time, the number
// of sequential round trips on the critical path (faultproxy.CriticalPath) and the ratios.
func BenchmarkReconcileCriticalPath(b *testing.B) {
	const latency = 25 * time.Millisecond
	srv := moto.StartForTest(b)
	proxy := faultproxy.StartForTest(b, srv.URL())
	proxy.Inject(faultproxy.Rule{Service: "iam", Fault: faultproxy.Latency, Latency: latency})
	v := policy.DefaultVendor()

	type totals struct {
		create, del            time.Duration
		createRT, delRT, calls int
	}
	var conc, seq totals
	n := 0
	run := func(sequential bool, t *totals) {
		n++
		account := fmt.Sprintf("4000000%05d", n)
		cfg, err := srv.Config(context.Background(), account)
		require.NoError(b, err)
		target := policy.Target{Partition: "aws", AccountID: account}
		_, err = iam.NewFromConfig(cfg).CreatePolicy(context.Background(), &iam.CreatePolicyInput{
			PolicyName: aws.String(v.BoundaryName()), PolicyDocument: aws.String(v.Boundary(target).JSON())})
		require.NoError(b, err)
		client := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(proxy.URL()) })
		r := &gateway.Reconciler{IAM: client, Sequential: sequential, Logger: slog.New(slog.DiscardHandler)}
		d := gateway.DesiredState(v, target, gateway.Options{TemplateVersion: "bench"})
		for _, phase := range []struct {
			goal gateway.Goal
			wall *time.Duration
			rt   *int
		}{{gateway.Present, &t.create, &t.createRT}, {gateway.Absent, &t.del, &t.delRT}} {
			proxy.ResetCalls()
			start := time.Now()
			_, err := r.Reconcile(context.Background(), d, phase.goal)
			*phase.wall += time.Since(start)
			require.NoError(b, err)
			calls := proxy.Calls()
			*phase.rt += faultproxy.CriticalPath(calls)
			t.calls += len(calls)
		}
	}
	iterations := 0
	for b.Loop() {
		run(false, &conc)
		run(true, &seq)
		iterations++
	}
	per := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(iterations) }
	rt := func(x int) float64 { return float64(x) / float64(iterations) }
	b.ReportMetric(per(conc.create), "create-ms")
	b.ReportMetric(rt(conc.createRT), "create-roundtrips")
	b.ReportMetric(per(conc.del), "delete-ms")
	b.ReportMetric(rt(conc.delRT), "delete-roundtrips")
	b.ReportMetric(per(seq.create), "seq-create-ms")
	b.ReportMetric(rt(seq.createRT), "seq-create-roundtrips")
	b.ReportMetric(per(seq.del), "seq-delete-ms")
	b.ReportMetric(rt(seq.delRT), "seq-delete-roundtrips")
	b.ReportMetric(float64(seq.create)/float64(conc.create), "create-speedup")
	b.ReportMetric(float64(seq.del)/float64(conc.del), "delete-speedup")
	b.ReportMetric(rt(conc.calls), "calls")
}

// BenchmarkBrokerCredentials measures what an engineer waits for once access is approved: a token
// minted with the account's KMS key, AssumeRoleWithWebIdentity with the session policy, and the audit
// writes, all against moto. It reports the p50 and p99 latency and the throughput of one client.
func BenchmarkBrokerCredentials(b *testing.B) {
	srv := moto.StartForTest(b)
	ctx := context.Background()
	vendorCfg, err := srv.Config(ctx, vendorAccount)
	require.NoError(b, err)
	db := dynamodb.NewFromConfig(vendorCfg)
	reg := &registry.Registry{DB: db, Table: table}
	_, err = db.CreateTable(ctx, registry.TableInput(table))
	require.NoError(b, err)
	_, err = reg.StartOnboarding(ctx, "tenant-1", customerAccount, "ext-bench-bench-bench-bench")
	require.NoError(b, err)
	registrytest.Put(b, reg, customerAccount, registry.Writes{Management: &registry.Onboarding{Status: registry.Registered, Tenant: "tenant-1",
		ExternalID: "ext-bench-bench-bench-bench", RoleARN: "arn:aws:iam::" + customerAccount + ":role/DoiT_Management_Role_DO-NOT-DELETE",
		Owner: registry.Owner{StackID: stackARN(customerAccount, "bench"), LogicalID: "Hook"}}})
	iss, err := issuer.New(issuer.Config{Vendor: policy.DefaultVendor(), Partition: "aws", VendorAccount: vendorAccount,
		SignerRoleARN: signerRole}, kms.NewFromConfig(vendorCfg), &issuer.DynamoStore{DB: db, Table: table})
	require.NoError(b, err)
	_, err = iss.CreateAccountKey(ctx, customerAccount)
	require.NoError(b, err)
	_, err = iss.EnsureSubjectKey(ctx)
	require.NoError(b, err)
	require.NoError(b, broker.CreateTable(ctx, db, "broker"))
	br, err := broker.New(broker.Config{}, reg, iss, sts.NewFromConfig(vendorCfg), db, "broker")
	require.NoError(b, err)
	r, err := br.Request(ctx, "alice@doit.com", customerAccount, "SUP-1", "benchmark", time.Hour)
	require.NoError(b, err)
	_, err = br.Approve(ctx, "tenant:tenant-1/bob", r.ID)
	require.NoError(b, err)

	var lat []time.Duration
	start := time.Now()
	for b.Loop() {
		t0 := time.Now()
		_, err := br.Credentials(ctx, "alice@doit.com", r.ID)
		lat = append(lat, time.Since(t0))
		require.NoError(b, err)
	}
	total := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(len(lat))/total.Seconds(), "sessions/s")
}
