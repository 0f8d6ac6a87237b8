package burst

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/test/faultproxy"
	"github.com/supportaccess/gateway/test/quotas"
	"github.com/supportaccess/gateway/test/sim"
)

const (
	tenant     = "acme"
	management = "210987654321"
)

// setup is how a burst runs.
type setup struct {
	accounts int // member accounts at the start, three quarters in the prod OU, the rest in its child
	// changes is how many accounts join, move between the targeted OUs, move out of them and leave
	// the organization, each (0: none, and no sweep).
	changes     int
	serving     sim.Serving
	hooks       int                       // the hook's execution environments
	duplicates  float64                   // the share of notifications SNS delivers twice
	dupDelay    time.Duration             // the second delivery comes up to this much later (0: at once)
	preferences *sim.OperationPreferences // nil: the committed template's
	hookEnv     []string
	// faults are injected before the vendor's endpoint from the start (sim.Config.FaultProxy): where
	// AWS's quotas on the vendor's calls (KMS CreateKey and Sign, STS, DynamoDB) go, as
	// test/faultproxy rules.
	faults []faultproxy.Rule
	// weekLater runs the sweep a week after the leaves too, which retires the leavers' keys.
	weekLater bool
	// catchUp runs the vendor's sweep 6 minutes after the roll-out, which proves the claims whose
	// proof could not be made in the invocation that answered them (the Lambda's time ran out).
	catchUp bool
}

// burst is one run: the stand-ins, the organization and what happened, phase by phase.
type burst struct {
	setup
	a            *sim.AWS
	org          *sim.Organization
	prod, eu, sb string // the targeted OU, its child, and an OU the StackSet does not target
	token        string
	members      []string
	deploy       *sim.Operation
	auto         *sim.Operation
	joined       []string
	movedWithin  []string
	left         []string      // moved out of the targets, or out of the organization
	costs        []cost        // wall time per phase, in order
	sweepOut     []string      // what each sweep printed
	pending      int           // gateway claims still waiting for their proof after the roll-out
	registering  time.Duration // from the roll-out's start until the hook's proofs after it had ended
	pendingWhy   []string      // and why
}

type cost struct {
	phase string
	took  time.Duration
}

func (b *burst) timed(phase string, f func() error) error {
	start := time.Now()
	err := f()
	b.costs = append(b.costs, cost{phase, time.Since(start)})
	if err != nil {
		return fmt.Errorf("%s: %w", phase, err)
	}
	return nil
}

// Costs is the phases' wall times, one a line.
func (b *burst) Costs() string {
	var s strings.Builder
	for _, c := range b.costs {
		fmt.Fprintf(&s, "%-62s %8.1fs\n", c.phase, c.took.Seconds())
	}
	return s.String()
}

// start runs the stand-ins; the caller closes b.a.
func start(ctx context.Context, s setup) (*burst, error) {
	b := &burst{setup: s}
	err := b.timed("start moto, the front ends and the hook's environments", func() error {
		var err error
		b.a, err = sim.Start(ctx, sim.Config{Root: "../..", HookConcurrency: s.hooks, Serving: s.serving,
			Duplicates: s.duplicates, DuplicateDelay: s.dupDelay, FaultProxy: true, HookEnv: s.hookEnv})
		if err == nil {
			b.a.Faults().Inject(s.faults...)
		}
		return err
	})
	return b, err
}

// organize makes the organization: the OUs, the accounts, the tenant's token.
func (b *burst) organize(ctx context.Context) error {
	return b.timed(fmt.Sprintf("organization: %d accounts in 2 nested OUs (5 created at a time)", b.accounts), func() error {
		var err error
		if b.org, err = b.a.CreateOrganization(ctx, management); err != nil {
			return err
		}
		if b.prod, err = b.org.CreateOU(ctx, b.org.Root, "prod"); err != nil {
			return err
		}
		if b.eu, err = b.org.CreateOU(ctx, b.prod, "prod-eu"); err != nil {
			return err
		}
		if b.sb, err = b.org.CreateOU(ctx, b.org.Root, "sandbox"); err != nil {
			return err
		}
		inProd, err := b.org.CreateAccounts(ctx, b.prod, "prod", b.accounts-b.accounts/4)
		if err != nil {
			return err
		}
		inEU, err := b.org.CreateAccounts(ctx, b.eu, "eu", b.accounts/4)
		if err != nil {
			return err
		}
		b.members = append(inProd, inEU...)
		b.token, err = b.a.Registry().IssueTenantToken(ctx, tenant)
		if err != nil {
			return err
		}
		_, err = b.a.CreateSubjectKey(ctx) // the operator's setup, before customers onboard
		return err
	})
}

// rollOut deploys the StackSet to the prod OU (its child included) and waits for the hook to finish.
func (b *burst) rollOut(ctx context.Context) error {
	started := time.Now()
	defer func() { b.registering = time.Since(started) }()
	err := b.timed(fmt.Sprintf("StackSet: %d stacks, answers collected", b.accounts), func() error {
		var err error
		b.deploy, err = b.org.DeployStackSet(ctx, sim.StackSetInput{
			Parameters:  map[string]string{"OrganizationalUnitIds": b.prod, "TenantToken": b.token},
			Preferences: b.preferences})
		return err
	})
	if err != nil {
		return err
	}
	err = b.timed("the hook's proofs after its answers (Settle)", func() error { return b.a.Settle(ctx) })
	if err != nil {
		return err
	}
	pending, err := b.a.Registry().ListByStatus(ctx, registry.PendingProof)
	if err != nil {
		return err
	}
	b.pending = len(pending)
	for _, r := range pending {
		if r.Proof != nil {
			b.pendingWhy = append(b.pendingWhy, r.AccountID+": "+r.Proof.Reason)
		}
	}
	return nil
}

// catchUpSweep has the sweep prove the claims the roll-out left waiting for their proof, as the
// vendor's sweep would 6 minutes later.
func (b *burst) catchUpSweep(ctx context.Context) error {
	if b.pending == 0 {
		return nil
	}
	return b.sweepAt(ctx, fmt.Sprintf("the sweep 6 minutes later proves the %d claims left waiting", b.pending), 6*time.Minute, hook.Paces{})
}

// change has accounts join the targets, move within them, move out of them and leave the
// organization, and lets the StackSet's automatic deployment act on it.
func (b *burst) change(ctx context.Context) error {
	n := b.changes
	err := b.timed(fmt.Sprintf("%d join, %d move within, %d move out, %d leave; auto-deployment", n, n, n, n), func() error {
		var err error
		if b.joined, err = b.org.CreateAccounts(ctx, b.eu, "joined", n); err != nil {
			return err
		}
		prod := b.members[:b.accounts-b.accounts/4]
		b.movedWithin = prod[:n]
		for _, acct := range b.movedWithin {
			if err := b.org.MoveAccount(ctx, acct, b.eu); err != nil {
				return err
			}
		}
		out, gone := prod[n:2*n], prod[2*n:3*n]
		for _, acct := range out {
			if err := b.org.MoveAccount(ctx, acct, b.sb); err != nil {
				return err
			}
		}
		for _, acct := range gone {
			if err := b.org.RemoveAccount(ctx, acct); err != nil {
				return err
			}
		}
		b.left = append(slices.Clone(out), gone...)
		ops, err := b.org.AutoDeploy(ctx)
		if len(ops) == 1 {
			b.auto = ops[0]
		}
		return err
	})
	if err != nil {
		return err
	}
	return b.timed("the hook's follow-ups (a Delete re-checks its role 5 s later, for 10 s)", func() error { return b.a.Settle(ctx) })
}

// sweep is the vendor's sweep 6 minutes later: the leavers' registrations end (STS has refused
// their roles for 5 minutes since their Delete), their keys kept for registry.RestoreWindow in case a
// role comes back. With weekLater, the sweep a week later too, which retires those keys (its daily
// re-proofs of every other registration held to one an hour: they are not what is measured): about
// 17 s for 200 accounts, two DynamoDB transactions a registration.
func (b *burst) sweep(ctx context.Context) error {
	if err := b.sweepAt(ctx, "the sweep 6 minutes later: the leavers' registrations end", 6*time.Minute, hook.Paces{}); err != nil || !b.weekLater {
		return err
	}
	return b.sweepAt(ctx, "the sweep a week later: their keys are retired", registry.RestoreWindow+time.Hour, hook.Paces{ReproofsPerHour: 1})
}

// sweepAt runs the vendor's sweep as if after had passed, with paces, as the phase, keeping what
// it printed.
func (b *burst) sweepAt(ctx context.Context, phase string, after time.Duration, paces hook.Paces) error {
	return b.timed(phase, func() error {
		out, err := b.a.Sweep(ctx, time.Now().Add(after), paces)
		b.sweepOut = append(b.sweepOut, out)
		if err != nil {
			return fmt.Errorf("%w\n%s", err, out)
		}
		return nil
	})
}

// outcome is what a customer and the vendor are owed, counted: every field but the figures must be
// zero (or empty).
type outcome struct {
	failedStacks []string // instances not CURRENT (DELETED, for the leavers' deletions)
	// registrations
	lost        []string // a member with no REGISTERED gateway record for the tenant
	wrongTenant []string
	unexpected  []string // gateway records in another status than REGISTERED, of accounts still targeted
	keys        []string // an account still targeted without exactly one Enabled key
	// answers
	unanswered []string // a Create or Delete of the hook with no answer
	late       []string // the first answer after the ServiceTimeout
	notSuccess []string // a first answer that was not SUCCESS
	disagree   []string // a duplicate's answer that differs from the first (status or physical ID)
	// after the leaves
	leftovers  []string // a leaver with a registration not ended, a vendor resource or role, or a key neither pending deletion nor kept for the restore window
	orphanKeys []string // a signing key in KMS no account explains: untagged, a member's not Enabled or not one, a leaver's not as the sweeps left it
	createKeys int      // KMS CreateKey calls the vendor made (through the fault proxy)
	duplicates int      // notifications delivered twice
	requests   int
	latencies  []time.Duration // each Create's answer, from Create sent
	stackTimes []time.Duration // each stack's creation in the StackSet operation
	rate       float64         // accounts per second, the StackSet operation's
	// registered is accounts per second proven, from the roll-out's start until the hook's proofs
	// after its answers have ended: what the binding quota (KMS CreateKey) bounds.
	registered  float64
	quotas      []faultproxy.RateCount // what the quotas' rate rules admitted and throttled, by operation
	leaversSeen int
}

func (o outcome) problems() map[string][]string {
	p := map[string][]string{}
	for name, l := range map[string][]string{
		"failed stacks": o.failedStacks, "lost registrations": o.lost, "wrong tenant": o.wrongTenant,
		"unexpected records": o.unexpected, "keys": o.keys, "unanswered": o.unanswered, "answered late": o.late,
		"not SUCCESS": o.notSuccess, "duplicate answers that disagree": o.disagree, "left behind by leavers": o.leftovers,
		"orphaned or spare KMS keys": o.orphanKeys,
	} {
		if len(l) > 0 {
			p[name] = l
		}
	}
	return p
}

// verify reads what the run left: the operations, the registry, the keys, the hook's answers and
// the leavers' accounts.
func (b *burst) verify(ctx context.Context) (outcome, error) {
	var o outcome
	err := b.timed("verify: registry, keys, answers, leavers", func() error {
		for _, in := range b.deploy.Instances {
			if in.Status != sim.Current {
				o.failedStacks = append(o.failedStacks, in.Account+" "+in.Status+" "+in.Reason)
			}
			o.stackTimes = append(o.stackTimes, in.Took)
		}
		o.rate = float64(len(b.deploy.Instances)) / b.deploy.Took.Seconds()
		o.registered = float64(len(b.deploy.Instances)-b.pending) / b.registering.Seconds()
		if b.auto != nil {
			for _, in := range b.auto.Instances {
				want := sim.Current
				if in.Action == sim.Delete {
					want = sim.Deleted
				}
				if in.Status != want {
					o.failedStacks = append(o.failedStacks, in.Account+" "+in.Action+" "+in.Status+" "+in.Reason)
				}
			}
		}
		gone := map[string]bool{}
		for _, a := range b.left {
			gone[a] = true
		}
		targeted := slices.DeleteFunc(append(slices.Clone(b.members), b.joined...), func(a string) bool { return gone[a] })
		if err := b.registrations(ctx, targeted, gone, &o); err != nil {
			return err
		}
		b.answers(&o)
		calls := b.a.Faults().Calls()
		for _, c := range calls {
			if c.Service == "kms" && c.Operation == "CreateKey" && c.Status == 200 {
				o.createKeys++
			}
		}
		o.quotas = faultproxy.RateCounts(calls)
		if err := b.leavers(ctx, &o); err != nil {
			return err
		}
		return b.inventory(ctx, targeted, &o)
	})
	return o, err
}

// inventory lists every KMS key of the vendor's account, as KMS holds them (not as the issuer's
// records say): one Enabled signing key per targeted account, the leavers' as the sweeps left them, one
// subject key, and no other.
func (b *burst) inventory(ctx context.Context, targeted []string, o *outcome) error {
	want := map[string]kmstypes.KeyState{}
	for _, a := range targeted {
		want[a] = kmstypes.KeyStateEnabled
	}
	for _, a := range b.left {
		want[a] = kmstypes.KeyStatePendingDeletion
		if !b.weekLater {
			want[a] = kmstypes.KeyStateEnabled // kept for the restore window (leavers checks under what)
		}
	}
	c := kms.NewFromConfig(b.a.Vendor())
	enabled := map[string]int{}
	found := map[string]bool{} // accounts with a key in the state wanted
	subjects := 0
	for pages := kms.NewListKeysPaginator(c, &kms.ListKeysInput{}); pages.HasMorePages(); {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, k := range page.Keys {
			d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
			if err != nil {
				return err
			}
			m := d.KeyMetadata
			if m.KeyManager == kmstypes.KeyManagerTypeAws {
				continue // AWS's own (moto makes aws/dynamodb when DynamoDB shares its server)
			}
			if m.KeySpec == kmstypes.KeySpecHmac256 {
				if m.KeyState == kmstypes.KeyStateEnabled {
					subjects++
				}
				continue
			}
			tags, err := c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyId})
			if err != nil {
				return err
			}
			account := ""
			for _, t := range tags.Tags {
				if aws.ToString(t.TagKey) == policy.IssuerKeyTagAccount {
					account = aws.ToString(t.TagValue)
				}
			}
			state, known := want[account]
			switch {
			case !known:
				o.orphanKeys = append(o.orphanKeys, fmt.Sprintf("%s (account %q) %s %s %q created %s", aws.ToString(k.KeyId), account, m.KeyState,
					m.KeySpec, aws.ToString(m.Description), aws.ToTime(m.CreationDate).Format(time.RFC3339Nano)))
			case m.KeyState != state:
				o.orphanKeys = append(o.orphanKeys, fmt.Sprintf("%s of %s %s, want %s", aws.ToString(k.KeyId), account, m.KeyState, state))
			default:
				found[account] = true
			}
			if known && m.KeyState == kmstypes.KeyStateEnabled && state == kmstypes.KeyStateEnabled {
				if enabled[account]++; enabled[account] > 1 {
					o.orphanKeys = append(o.orphanKeys, fmt.Sprintf("%s: %d Enabled keys", account, enabled[account]))
				}
			}
		}
	}
	if subjects != 1 {
		o.orphanKeys = append(o.orphanKeys, fmt.Sprintf("%d Enabled subject keys, want 1", subjects))
	}
	for account, state := range want {
		if !found[account] {
			o.orphanKeys = append(o.orphanKeys, fmt.Sprintf("%s: no key %s in KMS", account, state))
		}
	}
	return nil
}

func (b *burst) registrations(ctx context.Context, targeted []string, gone map[string]bool, o *outcome) error {
	reg := b.a.Registry()
	byAccount := map[string]registry.Onboarding{}
	for _, status := range []registry.Status{registry.Pending, registry.PendingProof, registry.Registered, registry.Unclaimed,
		registry.Rejected, registry.Deregistered} {
		all, err := reg.ListByStatus(ctx, status)
		if err != nil {
			return err
		}
		for _, r := range all {
			if r.Kind != registry.Gateway {
				continue
			}
			if _, twice := byAccount[r.AccountID]; twice {
				o.unexpected = append(o.unexpected, r.AccountID+": two gateway records")
			}
			byAccount[r.AccountID] = r
			if !gone[r.AccountID] && r.Status != registry.Registered {
				reason := ""
				if r.Proof != nil {
					reason = r.Proof.Reason
				}
				o.unexpected = append(o.unexpected, fmt.Sprintf("%s %s %s", r.AccountID, r.Status, reason))
			}
		}
	}
	for _, acct := range targeted {
		r, ok := byAccount[acct]
		switch {
		case !ok || r.Status != registry.Registered:
			o.lost = append(o.lost, acct)
		case r.Tenant != tenant:
			o.wrongTenant = append(o.wrongTenant, acct+" "+r.Tenant)
		}
		keys, err := b.a.KeyStates(ctx, acct)
		if err != nil {
			return err
		}
		if !slices.Equal(keys, []string{"Enabled"}) {
			o.keys = append(o.keys, fmt.Sprintf("%s %v", acct, keys))
		}
	}
	return nil
}

func (b *burst) answers(o *outcome) {
	for _, d := range b.a.Deliveries() {
		o.requests++
		o.duplicates += d.Notifications - 1
		id := d.RequestType + " " + d.StackID
		if len(d.Answers) == 0 {
			o.unanswered = append(o.unanswered, id+" "+strings.Join(d.Errors, "; "))
			continue
		}
		first := d.Answers[0].Response
		if d.Latency() > d.ServiceTimeout {
			o.late = append(o.late, fmt.Sprintf("%s after %s", id, d.Latency()))
		}
		if first.Status != "SUCCESS" {
			o.notSuccess = append(o.notSuccess, id+" "+first.Status+" "+first.Reason)
		}
		for _, later := range d.Answers[1:] {
			if later.Response.Status != first.Status || later.Response.PhysicalResourceID != first.PhysicalResourceID {
				o.disagree = append(o.disagree, fmt.Sprintf("%s: %s %s, then %s %s (%s)", id, first.Status, first.PhysicalResourceID,
					later.Response.Status, later.Response.PhysicalResourceID, later.Response.Reason))
			}
		}
		if d.RequestType == "Create" {
			o.latencies = append(o.latencies, d.Latency())
		}
	}
}

// leavers checks the accounts that left: their registration ended, no vendor resource and no
// gateway role is left in them, and their signing keys kept only while their registration can be
// restored (with weekLater: pending deletion).
func (b *burst) leavers(ctx context.Context, o *outcome) error {
	role := policy.DefaultVendor().GatewayRoleName()
	for _, acct := range b.left {
		o.leaversSeen++
		r, found, err := b.a.Registry().Get(ctx, acct, registry.Gateway)
		if err != nil {
			return err
		}
		if found && r.Status != registry.Deregistered {
			reason := ""
			if r.Proof != nil {
				reason = r.Proof.Reason
			}
			o.leftovers = append(o.leftovers, fmt.Sprintf("%s registration %s (%q); the hook's log of it:\n%s", acct, r.Status, reason, b.logOf(acct)))
		}
		// without the week-later sweep, the keys are kept for a week in case the role comes back:
		// only under a registration that can still be restored, which the sweep ends then
		restorable := found && r.Restorable(time.Now().Add(6*time.Minute)) && !r.Restorable(time.Now().Add(registry.RestoreWindow+time.Hour))
		made, err := b.a.Footprint(ctx, acct)
		if err != nil {
			return err
		}
		if len(made) > 0 {
			o.leftovers = append(o.leftovers, acct+" "+strings.Join(made, ", "))
		}
		cfg, err := b.a.Account(ctx, acct)
		if err != nil {
			return err
		}
		_, err = iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		switch {
		case err == nil:
			o.leftovers = append(o.leftovers, acct+" role "+role)
		case !awsx.IsNotFound(err):
			return err
		}
		keys, err := b.a.KeyStates(ctx, acct)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if k != "PendingDeletion" && (b.weekLater || k != "Enabled" || !restorable) {
				o.leftovers = append(o.leftovers, fmt.Sprintf("%s keys %v (registration restorable: %t)", acct, keys, restorable))
				break
			}
		}
	}
	return nil
}

// percentile is the p-th percentile of ds (nearest rank).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// run is the whole burst: start, organize, roll out, change, sweep, verify. It closes the stand-ins.
func run(ctx context.Context, tb testing.TB, s setup) (*burst, outcome) {
	tb.Helper()
	b, err := start(ctx, s)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("seed %d (sim.Config.Seed repeats the duplicates)", b.a.Seed())
	defer func() {
		if err := b.a.Close(); err != nil {
			tb.Error(err)
		}
	}()
	steps := []func(context.Context) error{b.organize, b.rollOut}
	if s.catchUp {
		steps = append(steps, b.catchUpSweep)
	}
	if s.changes > 0 {
		steps = append(steps, b.change, b.sweep)
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			tb.Logf("costs so far:\n%s", b.Costs())
			tb.Fatal(err)
		}
	}
	o, err := b.verify(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return b, o
}

// awsQuotas is the vendor account's request-rate quotas at AWS's documented rates (test/quotas,
// where each figure's source is named), as the fault proxy's rate rules: KMS CreateKey's 5 a
// second binds first. The SDK's throttling answers are AWS's own.
func awsQuotas() []faultproxy.Rule { return quotas.Rules(quotas.Vendor(), 1) }

// createKeyRate is KMS CreateKey's quota in awsQuotas, a second: the hook creates one signing key
// per account it proves, so n accounts are proven in at least n ÷ createKeyRate seconds.
func createKeyRate() float64 {
	for _, q := range quotas.Vendor() {
		if q.Service == "kms" && slices.Equal(q.Operations, []string{"CreateKey"}) {
			return q.Rate
		}
	}
	panic("test/quotas has no KMS CreateKey quota")
}

// throttled is how many calls of service's operation the quotas throttled.
func (o outcome) throttled(service, operation string) int {
	for _, c := range o.quotas {
		if c.Service == service && c.Operation == operation {
			return c.Throttled
		}
	}
	return 0
}

// quotaLine says what the quotas admitted and throttled, for the operations they throttled.
func (o outcome) quotaLine() string {
	var parts []string
	for _, c := range o.quotas {
		if c.Throttled > 0 {
			parts = append(parts, fmt.Sprintf("%s %s %d admitted, %d throttled", c.Service, c.Operation, c.Admitted, c.Throttled))
		}
	}
	if len(parts) == 0 {
		return "no call throttled"
	}
	return strings.Join(parts, "; ")
}

// logOf is the lines of the hook's log and the sweeps' output that name acct.
func (b *burst) logOf(acct string) string {
	var lines []string
	for _, l := range strings.Split(b.a.HookLogs()+"\n"+strings.Join(b.sweepOut, "\n"), "\n") {
		if strings.Contains(l, acct) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}
