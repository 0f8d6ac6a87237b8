package hook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// A gateway claim names a role; the backend proves it genuine the only way that proves it: it
// mints a token for the account with the account's own key (published first, since STS fetches the
// JWKS from the issuer host) and assumes the claimed role with it, through STS, with a session
// policy that allows only reading that role. STS admits it only if the account has the vendor's
// identity provider for this issuer with this account's audience, and the role trusts it: what the
// customer's gateway stack deploys, and nothing a forged event can make. In that session the backend
// reads the role's TenantToken tag, which the account's stack set from its own parameter: the
// account's word on its organization, where an event's token is only a claim.

// RoleEvidence is what a proof read on the role in the customer's account.
type RoleEvidence struct {
	// TokenHash is registry.TokenHash of the token on the role's TenantTokenTag; "" when it has none.
	TokenHash string
	// Runbooks and Diagnostic are the options the role has: its inline policies of those names
	// (policy.Vendor.GatewayOptionPolicyNames).
	Runbooks, Diagnostic bool
	// RoleID is the role's unique ID (AROA…): a role deleted and made again at the same ARN has
	// another (IAM User Guide, "Unique identifiers").
	RoleID string
}

// RoleProver proves a gateway role genuine. ProveRole returns what it read on success; an error
// wrapping ErrRoleRefused when STS kept refusing the role for the whole budget (it does not exist,
// or does not trust the vendor's issuer for this account); any other error when the proof could not
// be made (throttling, the vendor's own KMS or publishing, an invocation ending before the budget
// did): the claim then stays pending.
type RoleProver interface {
	ProveRole(ctx context.Context, account, roleARN string, budget time.Duration) (RoleEvidence, error)
}

// ErrRoleRefused means STS refused the claimed role the proof's token, for good.
var ErrRoleRefused = errors.New("the role refused the account's own token")

// Minter is the part of the issuer a proof needs.
type Minter interface {
	CreateAccountKey(ctx context.Context, account string) (issuer.KeyRecord, error)
	Mint(ctx context.Context, account string, c issuer.Claims) (string, error)
	EnsureSubjectKey(ctx context.Context) (string, error)
}

var _ Minter = (*issuer.Issuer)(nil)

// WebIdentitySTS is the part of STS a proof uses.
type WebIdentitySTS interface {
	AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error)
}

var _ WebIdentitySTS = (*sts.Client)(nil)

// RoleReader reads a role (its tags, the names of its inline policies), as the proof's session in
// the customer's account.
type RoleReader interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListRolePolicies(ctx context.Context, in *iam.ListRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
}

var _ RoleReader = (*iam.Client)(nil)

// WebIdentityProver proves a role with a token of the account's own issuer.
type WebIdentityProver struct {
	Vendor policy.Vendor
	Issuer Minter
	STS    WebIdentitySTS
	// IAM returns an IAM client that uses the given credentials (the proof's session).
	IAM     func(aws.CredentialsProvider) RoleReader
	Backoff awsx.Backoff // zero: awsx.DefaultBackoff
}

var _ RoleProver = (*WebIdentityProver)(nil)

// proofEngineer is who the proof's token is minted for: its sub is the pairwise identifier of this
// name in the account, and the customer's CloudTrail shows the session as <vendor>-registration-check.
const proofEngineer = "registration-check"

// ProveRole creates (and publishes) the account's key if it has none, assumes roleARN with a token
// of the account's issuer, retrying the refusals that mean "not propagated yet" (a role or identity
// provider created seconds ago, a JWKS just published) within budget, and reads the role's tenant
// token tag in that session.
func (p *WebIdentityProver) ProveRole(ctx context.Context, account, roleARN string, budget time.Duration) (RoleEvidence, error) {
	// A throttled KMS CreateKey waits its turn (awsx.PatientRetryer) for keyWait, or the proof's
	// budget if that is longer.
	kctx, cancel := context.WithTimeout(ctx, max(budget, keyWait))
	_, err := p.Issuer.CreateAccountKey(kctx, account)
	cancel()
	if err != nil {
		return RoleEvidence{}, fmt.Errorf("creating the account's signing key: %w", err)
	}
	backoff := p.Backoff
	if backoff == (awsx.Backoff{}) {
		backoff = awsx.DefaultBackoff
	}
	target := policy.Target{Partition: "aws", AccountID: account}
	if a, err := parseARN(roleARN); err == nil {
		target.Partition = a.Partition
	}
	session := p.Vendor.ProofSessionPolicy(target).JSON()
	claims := issuer.Claims{Engineer: proofEngineer, Environment: proofEngineer, Lifetime: issuer.MaxTokenLifetime}
	start := time.Now()
	var out *sts.AssumeRoleWithWebIdentityOutput
	var refusal error // STS's last refusal, if it refused
	err = awsx.Retry(ctx, budget, backoff, refusedByTrust, func(ctx context.Context) error {
		token, err := p.Issuer.Mint(ctx, account, claims)
		if errors.Is(err, issuer.ErrNoSubjectKey) { // the vendor's first proof: make the one subject key
			if _, err = p.Issuer.EnsureSubjectKey(ctx); err == nil {
				token, err = p.Issuer.Mint(ctx, account, claims)
			}
		}
		if err != nil {
			return fmt.Errorf("minting the proof's token: %w", err)
		}
		out, err = p.STS.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
			RoleArn:          aws.String(roleARN),
			RoleSessionName:  aws.String(p.Vendor.Name + "-" + proofEngineer),
			WebIdentityToken: aws.String(token),
			DurationSeconds:  aws.Int32(int32(awsx.SessionDuration / time.Second)),
			Policy:           aws.String(session), // the session can only read the role
		})
		if refusedByTrust(err) {
			refusal = err
		}
		return err
	})
	if refusal != nil && !refusedByTrust(err) && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		// The budget ran out during an attempt (a slow KMS or STS call): STS refused every attempt
		// that finished, for the whole budget, which is what a refusal for good is.
		err = fmt.Errorf("still refused when the %s budget ran out: %w", budget, refusal)
	}
	if refusedByTrust(err) {
		if deadline, ok := ctx.Deadline(); ok && deadline.Before(start.Add(budget)) {
			// The invocation ended before the budget did: not refused for good, only not yet proven.
			return RoleEvidence{}, fmt.Errorf("the proof was cut short before its %s budget: %w", budget, err)
		}
		return RoleEvidence{}, fmt.Errorf("%w: %w", ErrRoleRefused, err)
	}
	if err != nil {
		return RoleEvidence{}, err
	}
	if out.Credentials == nil {
		return RoleEvidence{}, errors.New("STS returned no credentials for the proof's session")
	}
	c := out.Credentials
	reader := p.IAM(credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)))
	name := aws.String(p.Vendor.GatewayRoleName())
	role, err := reader.GetRole(ctx, &iam.GetRoleInput{RoleName: name})
	if err != nil {
		return RoleEvidence{}, fmt.Errorf("reading the role's %s tag: %w", p.Vendor.TenantTokenTag(), err)
	}
	ev := RoleEvidence{RoleID: aws.ToString(role.Role.RoleId)}
	for _, tag := range role.Role.Tags {
		if aws.ToString(tag.Key) == p.Vendor.TenantTokenTag() && aws.ToString(tag.Value) != "" {
			ev.TokenHash = registry.TokenHash(aws.ToString(tag.Value))
		}
	}
	runbooks, diagnostics := p.Vendor.GatewayOptionPolicyNames()
	for pages := iam.NewListRolePoliciesPaginator(reader, &iam.ListRolePoliciesInput{RoleName: name}); pages.HasMorePages(); {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return RoleEvidence{}, fmt.Errorf("reading the role's inline policies: %w", err)
		}
		ev.Runbooks = ev.Runbooks || slices.Contains(page.PolicyNames, runbooks)
		ev.Diagnostic = ev.Diagnostic || slices.Contains(page.PolicyNames, diagnostics)
	}
	return ev, nil
}

// refusedByTrust reports STS refusing the role or the token: AccessDenied (no such role, or its
// trust does not admit the token), InvalidIdentityToken (no identity provider for the issuer, wrong
// audience, a key it has not fetched yet) and IDPRejectedClaim. Right after the stack created the
// role and the providers, and after the JWKS was published, these also mean "not yet".
func refusedByTrust(err error) bool {
	switch awsx.ErrorCode(err) {
	case "AccessDenied", "InvalidIdentityToken", "IDPRejectedClaim":
		return true
	}
	return false
}

// proofBudget is how long a proof retries STS's refusals (IAM propagating the role and the
// providers the stack created seconds ago, STS fetching a JWKS just published).
func (h *Hook) proofBudget() time.Duration {
	if h.ProofBudget > 0 {
		return h.ProofBudget
	}
	return awsx.PropagationBudget
}

// Paces. A proof costs the vendor a KMS key (kept 7 days once retired) and an STS call; anyone can
// ask for one. Claims without a token share one budget; claims naming a tenant are paced per tenant,
// so no tenant's burst waits behind another's, nor behind the token-less ones.
const unprovenBudget = "unproven-gateway-claims"

// periodicBudget paces the sweep's daily re-proofs of registrations.
const periodicBudget = "periodic-reproofs"

// The default paces (README, "Configuration").
const (
	defaultUnprovenPerHour = 100
	// A thousand-account organization's StackSet, its proofs retried, fits in an hour with room:
	// 1,000 left the last accounts of such a rollout (and every retried proof) queued for the
	// next hour (test/burst). KMS CreateKey's quota is 18,000 an hour.
	defaultTenantClaimsPerHour    = 5000
	defaultTenantRejectionsPerDay = 100
	defaultReproofsPerHour        = 1000
)

func (h *Hook) reproofsPerHour() int { return cmp.Or(h.ReproofsPerHour, defaultReproofsPerHour) }

func (h *Hook) unprovenPerHour() int { return cmp.Or(h.UnprovenPerHour, defaultUnprovenPerHour) }

func (h *Hook) tenantPerHour() int { return cmp.Or(h.TenantClaimsPerHour, defaultTenantClaimsPerHour) }

// rejectionsPerDay is how many of a tenant's claims may be rejected a day before its claims are
// paced with the token-less ones: a genuine organization's stacks are proven, so rejections are what
// an abuse of its token (readable on its accounts' role tags) costs, in KMS keys that count against
// the vendor's KMS quota for their 7 days pending deletion.
func (h *Hook) rejectionsPerDay() int {
	return cmp.Or(h.TenantRejectionsPerDay, defaultTenantRejectionsPerDay)
}

func rejectionsBudget(tenant string) string { return "tenant-rejections#" + registry.TokenHash(tenant) }

// take takes one proof from the pace that applies to g: a claim naming a tenant (a new one, or one
// with another token than the role was proven with) is paced with that tenant's (unless its claims
// were rejected, or named a token the role did not carry, too often today); the sweep's daily re-proofs in
// their own lane; everything else (claims without a token, re-checks) with the token-less ones. ok
// false means wait until next.
//
// A tenant's rejections are counted when a proof ends, so proofs already running when the day's
// rejections are spent still count: the overshoot is bounded by the proofs in flight at once (the
// hook function's concurrency).
func (h *Hook) take(ctx context.Context, g registry.Onboarding) (ok bool, next time.Time, err error) {
	if g.ProofPeriodic && g.Status != registry.PendingProof {
		return h.Registry.Take(ctx, periodicBudget, h.reproofsPerHour(), time.Hour)
	}
	if (g.Status == registry.PendingProof || g.TenantAsked) && g.ClaimTenant != "" {
		spent, err := h.Registry.Exhausted(ctx, rejectionsBudget(g.ClaimTenant), h.rejectionsPerDay(), 24*time.Hour)
		if err != nil {
			return false, time.Time{}, err
		}
		if !spent {
			return h.Registry.Take(ctx, "tenant-claims#"+registry.TokenHash(g.ClaimTenant), h.tenantPerHour(), time.Hour)
		}
	}
	return h.Registry.Take(ctx, unprovenBudget, h.unprovenPerHour(), time.Hour)
}

// retryAfter is when a proof that could not be made is due again.
const retryAfter = 5 * time.Minute

// recheckWindow is how long after a Delete the role is checked again before the Delete is taken not
// to be the stack's (CloudFormation deletes the role within minutes).
const recheckWindow = time.Hour

// maxProofAttempts bounds the proofs of one claim that could not be made (neither proven nor refused):
// then a claim never proven is rejected, and a re-check is given up.
const maxProofAttempts = 24

// reproveAfter is how old a registration's last proof may get before the sweep proves it again: a
// Delete lost to an outage is found this way.
const reproveAfter = 24 * time.Hour

// queued is the reason of a claim waiting for the pace.
const queued = "queued: proofs are made at a bounded pace"

// Prove proves the account's gateway role, if a proof is due, and records what it found
// (decideProof). Proofs are paced; one over the pace waits in the queue (supportctl sweep). Safe to
// run concurrently and repeatedly: an outcome is recorded on the record as it is when the proof ends,
// and only if no proof that started later is on record already.
func (h *Hook) Prove(ctx context.Context, account string) {
	st, err := h.Registry.Account(ctx, account)
	if err != nil {
		h.log().ErrorContext(ctx, "proof: the registry could not be read; the proof stays due", "account", account, "error", err)
		return
	}
	g := st.Gateway
	if !g.Provable(h.now()) || !g.ProofDue || (g.Proof != nil && g.Proof.NextAt.After(h.now())) {
		return // nothing due now (a queued or retried proof is the sweep's, at its time)
	}
	out := proofOutcome{claimed: *g, start: h.now()}
	if h.Prover == nil {
		h.record(ctx, out, "no issuer is configured to prove the role", time.Time{})
		return
	}
	ok, next, err := h.take(ctx, out.claimed)
	if err != nil || !ok {
		if err == nil {
			h.log().InfoContext(ctx, "proof queued: the pace is reached", "account", account, "next", next)
		} else {
			next = h.now().Add(retryAfter)
		}
		h.record(ctx, out, queued, next)
		return
	}
	budget := h.proofBudget()
	// A role proven before has propagated: a refusal needs no long retrying. So for the daily
	// re-proof, and for a Delete's re-check of a registration, which expects the refusal (the stack
	// deletes the role): retrying it for the whole budget held the Lambda's execution environment
	// that long for every deleted stack, and a StackSet's mass deletion queued every other event
	// behind them. Not for a proof a Create or an Update asked for since the Delete (ProofAsked after
	// RecheckAfter): its stack may have made the role seconds ago.
	c := out.claimed
	recheck := !c.RecheckAfter.IsZero() && !c.ProofAsked.After(c.RecheckAfter) && c.Status != registry.PendingProof
	if c.ProofPeriodic || recheck {
		budget = min(budget, reproofBudget)
	}
	out.ev, out.err = h.Prover.ProveRole(ctx, account, out.claimed.RoleARN, budget)
	out.attempted = true
	if errors.Is(out.err, ErrRoleRefused) {
		out.refused, out.err = true, nil
	}
	if out.err == nil && out.ev.TokenHash != "" && !out.refused {
		if out.tenant, out.known, err = h.Registry.ResolveTokenHash(ctx, out.ev.TokenHash); err != nil {
			out.err = fmt.Errorf("the proof could not be recorded yet: %w", err)
		}
	}
	h.record(ctx, out, "", time.Time{})
}

// proofOutcome is what one proof attempt found.
type proofOutcome struct {
	claimed   registry.Onboarding // the record as the proof read it
	start     time.Time           // when the proof started: the time its evidence speaks for
	attempted bool                // STS was asked
	refused   bool                // STS refused the role for the whole budget
	err       error               // the proof could not be made (neither proven nor refused)
	ev        RoleEvidence        // what it read on the role, when proven
	tenant    string              // the tenant ev.TokenHash was issued for, if known
	known     bool
}

// proofEffects are what recording an outcome does besides the account's records.
type proofEffects struct {
	ended          bool   // a registration ended or a claim was rejected: retire the account's keys if nothing else stands
	rejectedTenant string // a claim naming this tenant was rejected: counted against its rejections of the day
	alerts         [][2]string
	notes          []string // logged at INFO
}

func (fx *proofEffects) alert(key, msg string) { fx.alerts = append(fx.alerts, [2]string{key, msg}) }

// record writes an outcome: a proof's (decideProof), or, with notMade, why no proof was made (no
// issuer, queued until next).
func (h *Hook) record(ctx context.Context, out proofOutcome, notMade string, next time.Time) {
	var fx proofEffects
	written := false
	st, err := h.Registry.Update(ctx, out.claimed.AccountID, func(st registry.AccountState) (registry.Writes, error) {
		fx = proofEffects{}
		var w registry.Writes
		if notMade != "" {
			w = h.notProven(st, out, notMade, next)
		} else {
			w = h.decideProof(st, out, &fx)
		}
		written = w.Gateway != nil || w.Conflict != nil
		return w, nil
	})
	if err != nil {
		h.log().ErrorContext(ctx, "proof: the outcome was not recorded; the proof stays due", "account", out.claimed.AccountID, "error", err)
		return
	}
	if !written {
		h.log().InfoContext(ctx, "proof: outcome not recorded (the record changed, or a later proof is on record)", "account", out.claimed.AccountID)
		return
	}
	for _, a := range fx.alerts {
		h.alert(ctx, a[0], a[1], "account", out.claimed.AccountID)
	}
	for _, n := range fx.notes {
		h.log().InfoContext(ctx, "proof: "+n, "account", out.claimed.AccountID)
	}
	if fx.ended {
		h.retireKeysIfLast(ctx, st)
	}
	if fx.rejectedTenant != "" {
		if _, _, err := h.Registry.Take(ctx, rejectionsBudget(fx.rejectedTenant), h.rejectionsPerDay(), 24*time.Hour); err != nil {
			h.log().ErrorContext(ctx, "proof: the tenant's rejection was not counted", "account", out.claimed.AccountID, "error", err)
		}
	}
	if g := st.Gateway; g != nil && notMade == "" {
		h.log().InfoContext(ctx, "proof recorded", "account", out.claimed.AccountID, "status", g.Status, "due", g.ProofDue)
	}
}

// notProven records why no proof was made.
func (h *Hook) notProven(st registry.AccountState, out proofOutcome, reason string, next time.Time) registry.Writes {
	g := st.Gateway
	if g == nil || !g.Status.Live() || g.RoleARN != out.claimed.RoleARN {
		return registry.Writes{}
	}
	upd := *g
	proof := registry.ProofState{}
	if g.Proof != nil {
		proof = *g.Proof
	}
	proof.Reason, proof.NextAt = reason, next
	upd.Proof = &proof
	return registry.Writes{Gateway: &upd}
}

// keyWait bounds a proof's wait for its key while KMS throttles CreateKey: long enough for a
// StackSet's burst to take its turn at KMS's 5 a second (bounded by test/sim's 20 s proof budget,
// 6 of 200 keys gave up and left their claims for the sweep), short enough that a long throttling
// holds an execution environment two minutes, not the invocation's 390 s, while other events queue
// towards MaxEventAge: with the proof's 90 s, a follow-up ends within 3.5 minutes.
const keyWait = 2 * time.Minute

// reproofBudget bounds the retries of a periodic re-proof: its role was proven before, so STS's
// refusal is not IAM propagating it.
const reproofBudget = 10 * time.Second

// noDeleteGrace is how long STS must keep refusing a registered role, when no Delete was heard, before
// the registration ends: a vendor-side fault (a JWKS STS cannot fetch) or a customer's short-lived
// policy must not end registrations; a stack's deletion is heard and ends it within minutes.
const noDeleteGrace = 24 * time.Hour

// decideProof is the rule for a proof's outcome on the account's records as they are now:
//
//   - a proof that started before the one on record (Proof.EvidenceAt) is dropped: older evidence
//     never overwrites newer; a refusal of a pending claim that another claim replaced meanwhile is
//     dropped too (the new claim has its own proof);
//   - the role refused, for a claim never proven: REJECTED, the account's keys retired if nothing
//     else of the account stands. For a registration proven before: it ends once STS has refused
//     the role for retryAfter after a Delete was heard (RecheckAfter set), or for noDeleteGrace
//     otherwise, keeping its binding and keys for registry.RestoreWindow (restore); if a claim or
//     Delete asked for a proof after the ending proof started, what is left is a new claim waiting
//     for its proof (binding nothing), so a stack that re-created the role meanwhile is proven afresh;
//   - the role admitted the account's token (bindProof);
//   - the proof could not be made: still due, later (at most maxProofAttempts times in a row).
func (h *Hook) decideProof(st registry.AccountState, out proofOutcome, fx *proofEffects) registry.Writes {
	g, now := st.Gateway, h.now()
	if !g.Provable(now) || g.RoleARN != out.claimed.RoleARN {
		return registry.Writes{}
	}
	proof := registry.ProofState{}
	if g.Proof != nil {
		proof = *g.Proof
	}
	answered := out.err == nil
	if answered && !proof.EvidenceAt.IsZero() && !out.start.After(proof.EvidenceAt) {
		return registry.Writes{}
	}
	if out.refused && g.Status != out.claimed.Status ||
		out.refused && g.Status == registry.PendingProof && g.LastRequestID != out.claimed.LastRequestID {
		return registry.Writes{}
	}
	upd := *g
	proof.Attempts++
	proof.LastAt, proof.NextAt = now, time.Time{}
	if answered {
		proof.EvidenceAt = out.start
	}
	upd.Proof, upd.ProofPeriodic = &proof, false
	askedSince := g.ProofAsked.After(out.start)
	if !askedSince {
		upd.TenantAsked = false
	}
	// A Delete stays heard until a proof finds the role standing after the re-check's window
	// (bindProof), however long the re-check's proofs waited for the pace.
	deleteHeard := !g.RecheckAfter.IsZero()
	var w registry.Writes
	switch {
	case g.Status == registry.Deregistered:
		w = h.restore(st, &upd, out, fx)
	case out.refused && g.Status == registry.PendingProof:
		h.rejectClaim(&upd, fx, "the role "+g.RoleARN+" does not exist, or does not trust "+h.Vendor.Name+"'s identity providers for this account")
	case out.refused:
		grace, again := noDeleteGrace, time.Hour
		if deleteHeard {
			grace, again = retryAfter, retryAfter
		}
		if proof.RefusedSince.IsZero() {
			proof.RefusedSince = now
		}
		if now.Sub(proof.RefusedSince) < grace {
			upd.ProofDue, proof.NextAt = true, now.Add(again)
			proof.Reason = "STS refused the role: checked again before the registration ends"
		} else { // ended; the binding and the keys are kept for registry.RestoreWindow, in case the role comes back
			fx.ended = true
			upd = *deregistered(upd, "proof")
			upd.TokenHash = g.TokenHash
			upd.Proof.EndedAt = now
			upd.Proof.Reason = "the role is gone"
			fx.notes = append(fx.notes, "the role is gone; the registration ends")
		}
	case out.err != nil:
		proof.Failures++
		if g.Status == registry.PendingProof && proof.Failures >= maxProofAttempts {
			h.rejectClaim(&upd, fx, fmt.Sprintf("the role could not be proven in %d attempts: %v", proof.Failures, out.err))
			break
		}
		upd.ProofDue = proof.Failures < maxProofAttempts // a re-check that can never be made is given up
		proof.Reason, proof.NextAt = "the proof could not be made yet: "+out.err.Error(), now.Add(retryAfter)
	default:
		w = h.bindProof(st, &upd, out, fx, now)
	}
	if askedSince && upd.Provable(now) {
		// asked again meanwhile: that request gets its own proof (of a registration just ended too: a
		// stack may have made the role again, and restore proves it)
		upd.ProofDue, upd.Proof.NextAt = true, time.Time{}
	}
	w.Gateway = &upd
	return w
}

// restore decides a proof of a registration its role's refusals ended (registry.Onboarding.Restorable):
// the same role (RoleId) admitting the account's token again brings it back as it was (the refusals
// were a fault of the vendor's or a short-lived policy of the customer's); another role at its ARN
// is a new stack's, bound by what its tag names (bindProof's rule for a role made again); a refusal
// leaves it restorable, its keys kept. An account that got a management stack meanwhile is not
// restored.
func (h *Hook) restore(st registry.AccountState, o *registry.Onboarding, out proofOutcome, fx *proofEffects) registry.Writes {
	g := st.Gateway
	o.ProofDue = false
	m := st.Management
	switch {
	case out.refused || out.err != nil:
		o.Proof.Reason = "the role is gone"
		return registry.Writes{Gateway: o}
	case m != nil && (m.Status == registry.Pending || m.Status == registry.Registered):
		o.Proof.Reason = "the role is gone (the account has the management stack now)"
		return registry.Writes{Gateway: o}
	}
	o.Status, o.RecheckAfter = registry.Unclaimed, time.Time{}
	if g.Tenant != "" {
		o.Status = registry.Registered
	}
	o.Proof.EndedAt, o.Proof.RefusedSince = time.Time{}, time.Time{}
	fx.notes = append(fx.notes, "the role admits the account's token again: the registration is restored")
	restored := *o
	st.Gateway = &restored
	w := h.bindProof(st, o, out, fx, h.now())
	w.Gateway = o
	return w
}

// rejectClaim ends a claim never proven: REJECTED with reason.
func (h *Hook) rejectClaim(o *registry.Onboarding, fx *proofEffects, reason string) {
	o.Status, o.ProofDue, o.RecheckAfter = registry.Rejected, false, time.Time{}
	o.Proof.Reason = reason
	fx.ended, fx.rejectedTenant = true, o.ClaimTenant
	fx.alert(alertProofRejected, "gateway claim rejected: "+reason)
}

// bindProof records a role that admitted the account's token: the account is bound to the tenant
// the role's tag names (REGISTERED), or to none (UNCLAIMED), with the options the role has.
//
// The tenant the account is bound to apart from this proof (its registered management stack's, or
// this registration's, proven before) stays: a role naming another is a conflict an operator
// decides (proven when two checks at least retryAfter apart find it), never a move; a role naming
// none leaves the binding as it is. An onboarding link nobody used binds nothing here (the role
// naming none leaves the account unclaimed), but a role naming another tenant than the link is a
// conflict too: one of the two is a mistake an operator sorts out.
func (h *Hook) bindProof(st registry.AccountState, o *registry.Onboarding, out proofOutcome, fx *proofEffects, now time.Time) registry.Writes {
	var w registry.Writes
	g, p, ev := st.Gateway, o.Proof, out.ev
	o.Runbooks, o.DiagnosticTool = ev.Runbooks, ev.Diagnostic
	p.RefusedSince, p.Reason, p.Failures = time.Time{}, "", 0
	// A reading that contradicts the claim that asked for it is looked at again minutes later (IAM is
	// eventually consistent: a tag set a second ago may not be read yet), whatever else is decided.
	secondLook := func() {}
	byClaim := out.claimed.Status == registry.PendingProof || out.claimed.TenantAsked
	if out.claimed.ClaimTenant != "" && out.claimed.ClaimTenant != out.tenant && byClaim {
		if !p.MismatchRetried {
			p.MismatchRetried = true
			secondLook = func() { o.ProofDue, p.NextAt, o.TenantAsked = true, now.Add(retryAfter), true }
		} else {
			fx.alert(alertClaimMismatch, "a gateway claim named another organization than the account's own role does: the role decides")
			fx.rejectedTenant = out.claimed.ClaimTenant // a token read off a tag spends its tenant's lane only so far
		}
	} else {
		p.MismatchRetried = false // the role agrees (or nobody asked): a later disagreement gets its second look again
	}
	// A role made again at the same ARN (another RoleId) is a new stack's: the registration proven on
	// the old one ended with it, and the new role is proven afresh.
	remade := g.RoleID != "" && ev.RoleID != "" && g.RoleID != ev.RoleID
	if remade {
		o.Tenant, o.TokenHash = "", ""
		fx.notes = append(fx.notes, "the account's gateway role was deleted and made again: its registration is proven afresh")
	}
	if ev.RoleID != "" {
		o.RoleID = ev.RoleID
	}
	var bound, link string
	switch m := st.Management; {
	case m != nil && m.Status == registry.Registered:
		bound = m.Tenant
	case g.Status == registry.Registered && !remade:
		bound = g.Tenant
	}
	if m := st.Management; m != nil && m.Status == registry.Pending {
		link = m.Tenant
	}
	against := cmp.Or(bound, link)
	switch conflict := out.known && against != "" && out.tenant != against; {
	case conflict && (p.ConflictSeenAt.IsZero() || now.Sub(p.ConflictSeenAt) < retryAfter):
		if p.ConflictSeenAt.IsZero() {
			p.ConflictSeenAt = now
		}
		o.ProofDue, p.NextAt = true, now.Add(retryAfter) // look again before deciding
		p.Reason = "the role names another organization than the account's: checked again"
		secondLook()
		return w
	case conflict:
		p.Reason = "the role names another organization than the one the account is bound to: " + h.Vendor.Name + " support resolves it"
		if o.Status == registry.PendingProof {
			o.Status = registry.Unclaimed // proven, bound to neither
		}
		if st.Conflict == nil || !st.Conflict.Proven {
			w.Conflict = &registry.Conflict{Proven: true, Tenant: against, Claimant: out.tenant, Kind: registry.Gateway,
				StackID: g.StackID, RequestID: g.LastRequestID}
			fx.alert(alertTenantConflict, "the account's own role names another organization than the one it is bound to: conflict recorded")
		}
	case bound != "": // the role names that tenant, or none (or a token not issued)
		o.Status, o.Tenant = registry.Registered, bound
		if out.known {
			o.TokenHash = ev.TokenHash
		}
	case out.known:
		o.Status, o.Tenant, o.TokenHash = registry.Registered, out.tenant, ev.TokenHash
	default:
		o.Status, o.Tenant, o.TokenHash = registry.Unclaimed, "", ""
		if ev.TokenHash != "" {
			p.Reason = "the role's " + h.Vendor.TenantTokenTag() + " tag is not a token " + h.Vendor.Name + " issued (or it was revoked): the account stays unclaimed"
		}
	}
	p.ConflictSeenAt = time.Time{}
	recheck := !g.RecheckAfter.IsZero()
	over := recheck && now.Sub(g.RecheckAfter) > recheckWindow
	o.ProofDue = recheck && !over // a re-check goes on until its window ends, less often as it ages
	if o.ProofDue {
		p.NextAt = now.Add(max(retryAfter, now.Sub(g.RecheckAfter)))
	}
	if over {
		o.RecheckAfter = time.Time{}
		fx.alert(alertUnprovenDelete, "re-check: the role is still there long after a Delete; the Delete was not its stack's, the registration stands")
	}
	secondLook()
	return w
}

// recheckDelay is how long a Delete's follow-up waits before its one check: CloudFormation deletes
// the role once the hook has answered.
const recheckDelay = 5 * time.Second
