package quotas_test

import (
	"errors"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/test/faultproxy"
	"github.com/supportaccess/gateway/test/moto"
	"github.com/supportaccess/gateway/test/quotas"
)

var motoSrv moto.Shared

func TestMain(m *testing.M) { os.Exit(motoSrv.Run(m)) }

// TestTable: every quota is a usable bucket, says whose it is and how sure its figure is, and
// names its sources.
func TestTable(t *testing.T) {
	table := quotas.Table()
	require.NotEmpty(t, table)
	for _, q := range table {
		t.Run(q.String(), func(t *testing.T) {
			assert.NotEmpty(t, q.Service)
			assert.NotContains(t, q.Operations, "")
			assert.Positive(t, q.Rate)
			assert.GreaterOrEqual(t, q.Burst, 1)
			assert.Contains(t, []quotas.Scope{quotas.VendorAccount, quotas.CustomerAccount}, q.Scope)
			assert.Contains(t, []quotas.Evidence{quotas.Documented, quotas.Quoted, quotas.Assumed}, q.Evidence)
			if q.Evidence != quotas.Documented || q.Reference {
				assert.NotEmpty(t, q.Note, "an unconfirmed figure, or one left out of Rules, says why")
			}
			require.NotEmpty(t, q.Sources)
			for _, s := range q.Sources {
				assert.NotEmpty(t, s.Title)
				u, err := url.Parse(s.URL)
				require.NoError(t, err)
				assert.Equal(t, "https", u.Scheme, s.URL)
			}
		})
	}
	assert.NotSame(t, &table[0], &quotas.Table()[0], "a new slice each time: no shared state between tests")
}

// TestKeyQuotas pins the figures the burst tests depend on, as the sources give them.
func TestKeyQuotas(t *testing.T) {
	find := func(service, operation string) quotas.Quota {
		t.Helper()
		for _, q := range quotas.Table() {
			if q.Service == service && !q.Reference && (q.Operations == nil || slices.Contains(q.Operations, operation)) {
				return q
			}
		}
		t.Fatalf("no quota for %s %s", service, operation)
		return quotas.Quota{}
	}
	tests := []struct {
		service, operation string
		rate               float64
		scope              quotas.Scope
		evidence           quotas.Evidence
	}{
		{"kms", "CreateKey", 5, quotas.VendorAccount, quotas.Documented},
		{"kms", "CreateAlias", 5, quotas.VendorAccount, quotas.Documented},
		{"kms", "ScheduleKeyDeletion", 15, quotas.VendorAccount, quotas.Documented},
		{"kms", "Sign", 1000, quotas.VendorAccount, quotas.Documented},
		{"kms", "GenerateMac", 100_000, quotas.VendorAccount, quotas.Documented},
		{"sts", "AssumeRole", 600, quotas.VendorAccount, quotas.Quoted},
		{"sts", "AssumeRoleWithWebIdentity", 600, quotas.CustomerAccount, quotas.Assumed},
		{"iam", "CreateRole", 10, quotas.CustomerAccount, quotas.Assumed},
		{"sns", "Publish", 30_000, quotas.VendorAccount, quotas.Documented},
		{"dynamodb", "TransactWriteItems", 4000, quotas.VendorAccount, quotas.Documented},
		{"dynamodb", "Query", 12_000, quotas.VendorAccount, quotas.Documented},
		{"s3", "PutObject", 3500, quotas.VendorAccount, quotas.Documented},
		{"s3", "GetObject", 5500, quotas.VendorAccount, quotas.Documented},
	}
	for _, tt := range tests {
		q := find(tt.service, tt.operation)
		assert.Equal(t, tt.rate, q.Rate, "%s %s", tt.service, tt.operation)
		assert.Equal(t, tt.scope, q.Scope, "%s %s", tt.service, tt.operation)
		assert.Equal(t, tt.evidence, q.Evidence, "%s %s", tt.service, tt.operation)
	}
}

func TestRules(t *testing.T) {
	createKey := quotas.Quota{Service: "kms", Operations: []string{"CreateKey"}, Rate: 5, Burst: 5}
	tests := []struct {
		name  string
		scale float64
		want  faultproxy.Rule
	}{
		{"AWS's rate", 1, faultproxy.Rule{Service: "kms", Operations: []string{"CreateKey"}, Rate: 5, Burst: 5}},
		{"a tenth: rate and burst alike", 0.1, faultproxy.Rule{Service: "kms", Operations: []string{"CreateKey"}, Rate: 0.5, Burst: 1}},
		{"ten times", 10, faultproxy.Rule{Service: "kms", Operations: []string{"CreateKey"}, Rate: 50, Burst: 50}},
		{"a burst is at least 1", 0.01, faultproxy.Rule{Service: "kms", Operations: []string{"CreateKey"}, Rate: 0.05, Burst: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := createKey.Rule(tt.scale)
			assert.InDelta(t, tt.want.Rate, got.Rate, 1e-12)
			got.Rate = tt.want.Rate
			assert.Equal(t, tt.want, got)
		})
	}
	t.Run("a burst scales to the nearest whole call", func(t *testing.T) {
		assert.Equal(t, 60, quotas.Quota{Service: "sts", Rate: 600, Burst: 600}.Rule(0.1).Burst)
		assert.Equal(t, 3, quotas.Quota{Service: "kms", Rate: 30, Burst: 30}.Rule(0.1).Burst)
	})
	t.Run("scale must be positive", func(t *testing.T) {
		for _, scale := range []float64{0, -1} {
			assert.Panics(t, func() { createKey.Rule(scale) })
		}
	})

	t.Run("Rules leaves Reference quotas out and keeps the order", func(t *testing.T) {
		table := quotas.Table()
		rules := quotas.Rules(table, 1)
		var want []faultproxy.Rule
		for _, q := range table {
			if !q.Reference {
				want = append(want, q.Rule(1))
			}
		}
		assert.Equal(t, want, rules)
		assert.Less(t, len(rules), len(table), "the table has reference quotas")
	})
	t.Run("Vendor is the vendor account's quotas", func(t *testing.T) {
		vendor := quotas.Vendor()
		require.NotEmpty(t, vendor)
		for _, q := range vendor {
			assert.Equal(t, quotas.VendorAccount, q.Scope, "%v", q)
		}
		assert.Len(t, quotas.In(quotas.CustomerAccount), len(quotas.Table())-len(vendor))
	})
	t.Run("the rules are valid faultproxy rules", func(t *testing.T) {
		p, err := faultproxy.Start("http://127.0.0.1:1") // never forwards here
		require.NoError(t, err)
		defer p.Close()
		assert.NotPanics(t, func() { p.Inject(quotas.Rules(quotas.Table(), 1)...) })
		assert.NotPanics(t, func() { p.Inject(quotas.Rules(quotas.Table(), 0.001)...) })
	})
}

// TestCreateKeyAtAWSRate: the vendor account's quotas at AWS's own rates, in front of moto.
// Twelve accounts' signing keys at once: KMS admits a second's worth (5), then 5 a second, so
// the callers (the SDK's standard retryer, as the hook has it) take at least 1.4 s and none fails.
func TestCreateKeyAtAWSRate(t *testing.T) {
	srv := motoSrv.Server(t)
	cfg, err := srv.Config(t.Context(), "")
	require.NoError(t, err)
	p := faultproxy.StartForTest(t, srv.URL())
	p.Inject(quotas.Rules(quotas.Vendor(), 1)...)
	cfg.BaseEndpoint = aws.String(p.URL())
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 50                    // the hook's own budget is its deadline; here, enough to get through
			o.MaxBackoff = 200 * time.Millisecond // keep the test short; the 1 s throttle backoff only stretches it
			o.RateLimiter = ratelimit.None        // a retry quota of the client's own would give up first
		})
	}
	client := kms.NewFromConfig(cfg)

	const accounts = 12
	createKey := quotas.Table()[0]
	require.Equal(t, "CreateKey request rate", createKey.Name)
	begin := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, accounts)
	for i := range accounts {
		wg.Go(func() {
			_, errs[i] = client.CreateKey(t.Context(), &kms.CreateKeyInput{
				KeyUsage: kmstypes.KeyUsageTypeSignVerify, KeySpec: kmstypes.KeySpecEccNistP256,
			})
		})
	}
	wg.Wait()
	wall := time.Since(begin)
	require.NoError(t, errors.Join(errs...), "the callers slow down; none fails")

	counts := faultproxy.RateCounts(p.Calls())
	require.Len(t, counts, 1)
	assert.Equal(t, faultproxy.RateCount{Service: "kms", Operation: "CreateKey", Admitted: accounts, Throttled: counts[0].Throttled}, counts[0])
	assert.Positive(t, counts[0].Throttled, "the quota bit")
	minimum := time.Duration(float64(accounts-createKey.Burst) / createKey.Rate * float64(time.Second))
	t.Logf("%d CreateKey at %g/s (burst %d): %d throttled on the way; %v (at least %v)",
		accounts, createKey.Rate, createKey.Burst, counts[0].Throttled, wall.Round(time.Millisecond), minimum)
	assert.GreaterOrEqual(t, wall, minimum-50*time.Millisecond)
	assert.Less(t, wall, 2*minimum+5*time.Second)
}
