package broker_test

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/test/moto"
)

// The broker's store and audit log are conditional DynamoDB writes, so they run against moto (one
// server per test binary, one table per test); the registry, the issuer and STS are fakes.
var server moto.Shared

func TestMain(m *testing.M) { os.Exit(server.Run(m)) }

var tables atomic.Int64

// newTable creates a broker table (with its TTL) on moto and returns a client for it.
func newTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	cfg, err := server.Server(t).Config(t.Context(), "")
	require.NoError(t, err)
	db := dynamodb.NewFromConfig(cfg)
	name := fmt.Sprintf("broker-%d", tables.Add(1))
	require.NoError(t, broker.CreateTable(t.Context(), db, name))
	return db, name
}

const (
	acct    = "111122223333"
	other   = "444455556666"
	pending = "777788889999" // onboarding started, no stack registered
	gwAcct  = "222233334444" // gateway stack registered
	// issue 9: nothing pending grants access, nor an unclaimed account, nor one two tenants claimed
	proofPending = "222200000001" // a gateway claim with acme's token, its role not proven yet
	unclaimed    = "222200000002" // a proven gateway registration without a tenant
	disputed     = "222200000003" // registered for acme, then its own role named globex (a proven conflict)
	claimedOnly  = "222200000004" // registered for acme; globex's claim was refused (an unproven conflict)
	engineer     = "alice@doit.com"
	ticket       = "SUP-1234"
	approver     = "tenant:acme/bob"
)

// fakeRegistry holds onboardings by account and kind ("<account>/CONFLICT": the account is in a
// proven conflict; "<account>/CLAIMED": a refused claim named another tenant, an unproven conflict).
type fakeRegistry map[string]registry.Onboarding

func (f fakeRegistry) Account(_ context.Context, account string) (registry.AccountState, error) {
	st := registry.AccountState{AccountID: account}
	for kind, slot := range map[registry.Kind]**registry.Onboarding{registry.Management: &st.Management, registry.Gateway: &st.Gateway} {
		if o, ok := f[account+"/"+string(kind)]; ok {
			*slot = &o
		}
	}
	if _, ok := f[account+"/CONFLICT"]; ok {
		st.Conflict = &registry.Conflict{AccountID: account, Proven: true, Tenant: "acme", Claimant: "globex"}
	}
	if _, ok := f[account+"/CLAIMED"]; ok {
		st.Conflict = &registry.Conflict{AccountID: account, Tenant: "acme", Claimant: "globex"}
	}
	return st, nil
}

func newRegistry() fakeRegistry {
	return fakeRegistry{
		acct + "/MANAGEMENT":    {AccountID: acct, Kind: registry.Management, Tenant: "acme", Status: registry.Registered},
		other + "/MANAGEMENT":   {AccountID: other, Kind: registry.Management, Tenant: "globex", Status: registry.Registered},
		pending + "/MANAGEMENT": {AccountID: pending, Kind: registry.Management, Tenant: "acme", Status: registry.Pending},
		gwAcct + "/MANAGEMENT":  {AccountID: gwAcct, Kind: registry.Management, Tenant: "acme", Status: registry.Registered},
		gwAcct + "/GATEWAY": {AccountID: gwAcct, Kind: registry.Gateway, Tenant: "acme", Status: registry.Registered,
			RoleARN: "arn:aws:iam::" + gwAcct + ":role/DoiT-Support-Gateway", DiagnosticTool: true},
		proofPending + "/GATEWAY":   {AccountID: proofPending, Kind: registry.Gateway, Tenant: "acme", Status: registry.PendingProof},
		unclaimed + "/GATEWAY":      {AccountID: unclaimed, Kind: registry.Gateway, Status: registry.Unclaimed},
		disputed + "/MANAGEMENT":    {AccountID: disputed, Kind: registry.Management, Tenant: "acme", Status: registry.Registered},
		disputed + "/CONFLICT":      {},
		claimedOnly + "/MANAGEMENT": {AccountID: claimedOnly, Kind: registry.Management, Tenant: "acme", Status: registry.Registered},
		claimedOnly + "/CLAIMED":    {},
	}
}

// fakeMinter makes unsigned tokens with the claims the real issuer would set; forAccount, if set,
// makes every token name that account instead (a broken issuer).
type fakeMinter struct {
	mu         sync.Mutex
	calls      []issuer.Claims
	forAccount string
	sub        string // if set, every token's sub (a broken issuer)
	now        func() time.Time
	during     func() // if set, runs inside each Mint (something that lands while a token is minted)
}

func (f *fakeMinter) Mint(_ context.Context, account string, c issuer.Claims) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	if f.during != nil {
		f.during()
	}
	if f.forAccount != "" {
		account = f.forAccount
	}
	v, t := policy.DefaultVendor(), policy.Target{AccountID: account}
	sub := f.sub
	if sub == "" {
		sub = fakeSubject(account, c.Engineer)
	}
	claims, _ := json.Marshal(map[string]any{"iss": v.IssuerURL(t, c.Host), "aud": v.Audience(t), "sub": sub,
		"exp": f.now().Add(c.Lifetime).Unix(), "jti": fmt.Sprintf("jti-%d", len(f.calls))})
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"ES256"}`)) + "." + enc.EncodeToString(claims) + ".c2ln", nil
}

// fakeSubject is a pairwise sub of the issuer's shape (the derivation is the issuer's, tested there).
func fakeSubject(account, engineer string) string {
	h := sha256.Sum256([]byte(account + "\x00" + engineer))
	return policy.DefaultVendor().SubjectPrefix() + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:16]))
}

func (f *fakeMinter) count() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.calls) }

// fakeSTS answers AssumeRoleWithWebIdentity and remembers the inputs.
type fakeSTS struct {
	mu    sync.Mutex
	calls []*sts.AssumeRoleWithWebIdentityInput
	now   func() time.Time
	// packed and tokenUse, if set, are the answer's PackedPolicySize and SessionTokenUtilization.
	packed, tokenUse *int32
	during           func() // if set, runs inside each call (something that lands while STS opens the session)
}

func (f *fakeSTS) AssumeRoleWithWebIdentity(_ context.Context, in *sts.AssumeRoleWithWebIdentityInput, _ ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, in)
	if f.during != nil {
		f.during()
	}
	return &sts.AssumeRoleWithWebIdentityOutput{
		Credentials: &ststypes.Credentials{AccessKeyId: aws.String("ASIAEXAMPLEKEY1WXYZ"), SecretAccessKey: aws.String("secret-value"),
			SessionToken: aws.String("session-token-value"),
			Expiration:   aws.Time(f.now().Add(time.Duration(aws.ToInt32(in.DurationSeconds)) * time.Second))},
		AssumedRoleUser:         &ststypes.AssumedRoleUser{Arn: aws.String("arn:aws:sts::" + acct + ":assumed-role/x/" + aws.ToString(in.RoleSessionName))},
		PackedPolicySize:        f.packed,
		SessionTokenUtilization: f.tokenUse,
	}, nil
}

func (f *fakeSTS) count() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.calls) }

// clock is a settable clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

type fixture struct {
	db    *dynamodb.Client
	table string
	b     *broker.Broker
	reg   fakeRegistry
	mint  *fakeMinter
	sts   *fakeSTS
	clock *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, broker.Config{})
}

// newFixtureWith is newFixture with a broker configured by cfg.
func newFixtureWith(t *testing.T, cfg broker.Config) *fixture {
	t.Helper()
	c := &clock{}
	c.ns.Store(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC).UnixNano())
	f := &fixture{reg: newRegistry(), mint: &fakeMinter{now: c.Now}, sts: &fakeSTS{now: c.Now}, clock: c}
	db, table := newTable(t)
	b, err := broker.New(cfg, f.reg, f.mint, f.sts, db, table)
	require.NoError(t, err)
	b.SetClock(c.Now)
	f.b, f.db, f.table = b, db, table
	return f
}

// request makes a pending request by engineer for acct, for an hour.
func (f *fixture) request(t *testing.T) broker.Request {
	t.Helper()
	r, err := f.b.Request(t.Context(), engineer, acct, ticket, "customer reports failing deploys", time.Hour)
	require.NoError(t, err)
	return r
}

// events lists the audit events of acct.
func (f *fixture) events(t *testing.T, filter broker.Filter) []broker.Event {
	t.Helper()
	ev, err := f.b.Audit().List(t.Context(), filter)
	require.NoError(t, err)
	return ev
}

func lastRefusal(t *testing.T, events []broker.Event) broker.Event {
	t.Helper()
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Type == broker.EventRefused {
			return events[i]
		}
	}
	t.Fatalf("no refusal among %d events", len(events))
	return broker.Event{}
}
