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
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
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
// injected on every IAM call, so that wall time is mostly round trips, as against IAM: the Create
// (empty account → converged) and the Delete (→ nothing left), concurrent as shipped and strictly
// sequential (Reconciler.Sequential), both in every iteration, in alternating order.
//
// It measures the design, not the stand-in: what is moto's is kept out of the timed part, or
// reported apart.
//
//   - A fresh moto server is slow on its first calls. The first error it answers (NoSuchEntity, which
//     every read of an empty account gets) lists the services botocore knows, some 25 ms, and
//     concurrent first errors each do it, so the flow that comes first on a fresh server pays
//     100–300 ms more (make bench runs one iteration per -count, each on a fresh server). Each
//     flow's account gets an untimed Create and Delete before the loop, which warm moto, the proxy's
//     connections to it and the client's (one pool for both flows).
//   - A new account costs moto about a second (it loads the AWS managed policies into it): each flow
//     reconciles one account, made before the loop, which every Delete leaves as the Create found it.
//   - moto, one Python process, answers concurrent calls mostly one at a time, so a wave of k calls
//     takes the latency once plus up to k of moto's service times. moto's time is reported (moto-ms:
//     the sequential flow's calls less the injected latency), with the speedup expected if moto
//     answered strictly one call at a time: (sequential round trips × latency + moto-ms) /
//     (concurrent round trips × latency + moto-ms). The speedup measured lies between that and the
//     round-trip ratio, which is what it tends to as latency dominates, as against IAM.
//
// Figures are medians over the iterations. Round trips are the sequential calls on the critical path
// (faultproxy.CriticalPath); calls counts every IAM call of a Create and Delete, retries included
// (mean over the iterations: a fraction means some iterations retried).
func BenchmarkReconcileCriticalPath(b *testing.B) {
	const latency = 25 * time.Millisecond
	ctx := context.Background()
	srv := moto.StartForTest(b)
	proxy := faultproxy.StartForTest(b, srv.URL())
	proxy.Inject(faultproxy.Rule{Service: "iam", Fault: faultproxy.Latency, Latency: latency})
	v := policy.DefaultVendor()
	httpClient := awshttp.NewBuildableClient() // one pool of connections for both flows, kept warm

	// phase is what one reconcile measured.
	type phase struct {
		wall       time.Duration
		roundTrips int
		calls      int
		moto       time.Duration // the calls' time less the injected latency
		passes     int
		waves      int
	}
	type flow struct {
		r                *gateway.Reconciler
		d                gateway.Desired
		create, del      []phase
		createP, deleteP phase // the untimed warm-up's, to check each iteration against
	}
	reconcile := func(f *flow, goal gateway.Goal) phase {
		proxy.ResetCalls()
		start := time.Now()
		rep, err := f.r.Reconcile(ctx, f.d, goal)
		wall := time.Since(start)
		require.NoError(b, err)
		calls := proxy.Calls()
		p := phase{wall: wall, roundTrips: faultproxy.CriticalPath(calls), calls: len(calls), passes: rep.Passes, waves: rep.Waves}
		for _, c := range calls {
			p.moto += c.Duration() - latency
		}
		return p
	}
	newFlow := func(account string, sequential bool) *flow {
		cfg, err := srv.Config(ctx, account)
		require.NoError(b, err)
		target := policy.Target{Partition: "aws", AccountID: account}
		_, err = iam.NewFromConfig(cfg).CreatePolicy(ctx, &iam.CreatePolicyInput{
			PolicyName: aws.String(v.BoundaryName()), PolicyDocument: aws.String(v.Boundary(target).JSON())})
		require.NoError(b, err)
		client := iam.NewFromConfig(cfg, func(o *iam.Options) {
			o.BaseEndpoint, o.HTTPClient = aws.String(proxy.URL()), httpClient
		})
		f := &flow{
			r: &gateway.Reconciler{IAM: client, Sequential: sequential, Logger: slog.New(slog.DiscardHandler)},
			d: gateway.DesiredState(v, target, gateway.Options{TemplateVersion: "bench"}),
		}
		f.createP, f.deleteP = reconcile(f, gateway.Present), reconcile(f, gateway.Absent)
		return f
	}
	conc, seq := newFlow("400000000001", false), newFlow("400000000002", true)

	run := func(f *flow) {
		for _, x := range []struct {
			goal gateway.Goal
			want phase
			got  *[]phase
		}{{gateway.Present, f.createP, &f.create}, {gateway.Absent, f.deleteP, &f.del}} {
			p := reconcile(f, x.goal)
			// The same plan every time, from the same state: an account left otherwise would be
			// measuring something else.
			require.Equal(b, []int{x.want.passes, x.want.waves}, []int{p.passes, p.waves}, "passes and waves")
			*x.got = append(*x.got, p)
		}
	}
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			run(conc)
			run(seq)
		} else {
			run(seq)
			run(conc)
		}
		i++
	}

	median := func(ps []phase, of func(phase) float64) float64 {
		xs := make([]float64, len(ps))
		for i, p := range ps {
			xs[i] = of(p)
		}
		slices.Sort(xs)
		if n := len(xs); n%2 == 0 {
			return (xs[n/2-1] + xs[n/2]) / 2
		}
		return xs[len(xs)/2]
	}
	ms := func(p phase) float64 { return float64(p.wall.Microseconds()) / 1000 }
	rt := func(p phase) float64 { return float64(p.roundTrips) }
	motoMS := func(p phase) float64 { return float64(p.moto.Microseconds()) / 1000 }
	lat := float64(latency.Milliseconds())
	for _, x := range []struct {
		name      string
		conc, seq []phase
	}{{"create", conc.create, seq.create}, {"delete", conc.del, seq.del}} {
		c, s := median(x.conc, ms), median(x.seq, ms)
		cRT, sRT := median(x.conc, rt), median(x.seq, rt)
		m := median(x.seq, motoMS)
		b.ReportMetric(c, x.name+"-ms")
		b.ReportMetric(s, "seq-"+x.name+"-ms")
		b.ReportMetric(cRT, x.name+"-roundtrips")
		b.ReportMetric(sRT, "seq-"+x.name+"-roundtrips")
		b.ReportMetric(m, x.name+"-moto-ms")
		b.ReportMetric(s/c, x.name+"-speedup")
		b.ReportMetric((sRT*lat+m)/(cRT*lat+m), x.name+"-speedup-expected")
	}
	calls := func(f *flow) float64 {
		n := 0
		for i := range f.create {
			n += f.create[i].calls + f.del[i].calls
		}
		return float64(n) / float64(len(f.create))
	}
	b.ReportMetric(calls(conc), "calls")
	b.ReportMetric(calls(seq), "seq-calls")
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
