package hook

import (
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
	if _, err := p.Issuer.CreateAccountKey(ctx, account); err != nil {
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
	err := awsx.Retry(ctx, budget, backoff, refusedByTrust, func(ctx context.Context) error {
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
		return err
	})
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
	var ev RoleEvidence
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

// The default paces (README, "Configuration").
const (
	defaultUnprovenPerHour        = 100
	defaultTenantClaimsPerHour    = 1000
	defaultTenantRejectionsPerDay = 100
)

func (h *Hook) unprovenPerHour() int {
	if h.UnprovenPerHour > 0 {
		return h.UnprovenPerHour
	}
	return defaultUnprovenPerHour
}

func (h *Hook) tenantPerHour() int {
	if h.TenantClaimsPerHour > 0 {
		return h.TenantClaimsPerHour
	}
	return defaultTenantClaimsPerHour
}

// rejectionsPerDay is how many of a tenant's claims may be rejected a day before its claims are
// paced with the token-less ones: a genuine organization's stacks are proven, so rejections are what
// an abuse of its token (readable on its accounts' role tags) costs, in KMS keys that count against
// the vendor's KMS quota for their 7 days pending deletion.
func (h *Hook) rejectionsPerDay() int {
	if h.TenantRejectionsPerDay > 0 {
		return h.TenantRejectionsPerDay
	}
	return defaultTenantRejectionsPerDay
}

func rejectionsBudget(tenant string) string { return "tenant-rejections#" + registry.TokenHash(tenant) }

// take takes one proof from the pace that applies to g: a new claim naming a tenant is paced with
// that tenant's (unless its claims were rejected too often today); everything else (claims without
// a token, re-checks, periodic checks) with the token-less ones. ok false means wait until next.
func (h *Hook) take(ctx context.Context, g registry.Onboarding) (ok bool, next time.Time, err error) {
	if g.Status == registry.PendingProof && g.ClaimTenant != "" {
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

// Prove proves the account's gateway role, if a proof is due, and records what it found:
//
//   - the role refused, for a claim never proven: REJECTED, the account's keys retired if nothing
//     else of the account is registered; for a registration proven before: the role is gone if STS
//     refuses it again at a check at least retryAfter later, and the registration ends;
//   - the role admitted the account's token: the account is bound to the tenant the role's tag names
//     (REGISTERED), or to none (UNCLAIMED), with the options the role has; a role naming another
//     tenant than the account is bound to, at two checks minutes apart, is a proven conflict
//     (recorded; the account unusable until an operator decides); a bound account whose role names
//     none stays bound;
//   - the proof could not be made: still due, later (at most maxProofAttempts times).
//
// Proofs are paced; one over the pace waits in the queue (supportctl sweep). Safe to run concurrently
// and repeatedly.
func (h *Hook) Prove(ctx context.Context, account string) {
	st, err := h.Registry.Account(ctx, account)
	if err != nil {
		h.log().ErrorContext(ctx, "proof: the registry could not be read; the proof stays due", "account", account, "error", err)
		return
	}
	g := st.Gateway
	if g == nil || !g.Status.Live() || !g.ProofDue || (g.Proof != nil && g.Proof.NextAt.After(h.now())) {
		return // nothing due now (a queued or retried proof is the sweep's, at its time)
	}
	claimed, start := *g, h.now()
	if h.Prover == nil {
		h.recordProof(ctx, claimed, start, false, func(o *registry.Onboarding) { o.Proof.Reason = "no issuer is configured to prove the role" })
		return
	}
	ok, next, err := h.take(ctx, claimed)
	if err != nil || !ok {
		if err == nil {
			h.log().InfoContext(ctx, "proof queued: the pace is reached", "account", account, "next", next)
		} else {
			next = h.now().Add(retryAfter)
		}
		h.recordProof(ctx, claimed, start, false, func(o *registry.Onboarding) { o.Proof.Reason, o.Proof.NextAt = queued, next })
		return
	}
	ev, err := h.Prover.ProveRole(ctx, account, claimed.RoleARN, h.proofBudget())
	refusedBefore := claimed.Proof != nil && !claimed.Proof.RefusedSince.IsZero() && h.now().Sub(claimed.Proof.RefusedSince) >= retryAfter
	failures := 1 // in a row, counting this one if it failed
	if claimed.Proof != nil {
		failures += claimed.Proof.Failures
	}
	switch {
	case errors.Is(err, ErrRoleRefused) && claimed.Status == registry.PendingProof:
		h.reject(ctx, claimed, start, "the role "+claimed.RoleARN+" does not exist, or does not trust "+h.Vendor.Name+
			"'s identity providers for this account")
	case errors.Is(err, ErrRoleRefused) && !refusedBefore:
		// A registration proven before ends only if STS still refuses its role at a later check: one
		// refusal could be the vendor's own (a JWKS STS could not fetch for the whole budget).
		h.log().InfoContext(ctx, "proof: STS refused a role it admitted before; checked again later", "account", account)
		h.recordProof(ctx, claimed, start, true, func(o *registry.Onboarding) {
			if o.Proof.RefusedSince.IsZero() {
				o.Proof.RefusedSince = h.now()
			}
			o.ProofDue = true
			o.Proof.Reason, o.Proof.NextAt = "STS refused the role: checked again before the registration ends", h.now().Add(retryAfter)
		})
	case errors.Is(err, ErrRoleRefused):
		h.log().InfoContext(ctx, "proof: the role is gone; the registration ends", "account", account)
		if st, ok := h.recordProof(ctx, claimed, start, true, func(o *registry.Onboarding) {
			*o = *deregistered(*o, "proof")
			o.Proof.Reason = "the role is gone"
		}); ok {
			h.retireKeysIfLast(ctx, st)
		}
	case err != nil && failures >= maxProofAttempts && claimed.Status == registry.PendingProof:
		h.reject(ctx, claimed, start, fmt.Sprintf("the role could not be proven in %d attempts: %v", failures, err))
	case err != nil:
		h.log().WarnContext(ctx, "proof could not be made; it stays due", "account", account, "error", err)
		h.recordProof(ctx, claimed, start, true, func(o *registry.Onboarding) {
			o.ProofDue = failures < maxProofAttempts // a re-check that can never be made is given up
			o.Proof.Failures = failures
			o.Proof.Reason, o.Proof.NextAt = "the proof could not be made yet: "+err.Error(), h.now().Add(retryAfter)
		})
	default:
		h.bind(ctx, st, claimed, start, ev)
	}
}

// reject ends a claim never proven: REJECTED with reason, its key retired if nothing else of the
// account is registered, and, for a claim naming a tenant, one of that tenant's rejections counted.
func (h *Hook) reject(ctx context.Context, claimed registry.Onboarding, start time.Time, reason string) {
	h.alert(ctx, alertProofRejected, "gateway claim rejected", "account", claimed.AccountID, "reason", reason)
	st, ok := h.recordProof(ctx, claimed, start, true, func(o *registry.Onboarding) {
		o.Status, o.ProofDue, o.RecheckAfter = registry.Rejected, false, time.Time{}
		o.Proof.Reason = reason
	})
	if !ok {
		return
	}
	h.retireKeysIfLast(ctx, st)
	if claimed.ClaimTenant != "" {
		if _, _, err := h.Registry.Take(ctx, rejectionsBudget(claimed.ClaimTenant), h.rejectionsPerDay(), 24*time.Hour); err != nil {
			h.log().ErrorContext(ctx, "proof: the tenant's rejection was not counted", "account", claimed.AccountID, "error", err)
		}
	}
}

// bind records a successful proof: the account is bound to the tenant the role's tag names, with
// the options the role has.
func (h *Hook) bind(ctx context.Context, st registry.AccountState, claimed registry.Onboarding, start time.Time, ev RoleEvidence) {
	account := claimed.AccountID
	tenant, known := "", false
	if ev.TokenHash != "" {
		var err error
		if tenant, known, err = h.Registry.ResolveTokenHash(ctx, ev.TokenHash); err != nil {
			h.recordProof(ctx, claimed, start, true, func(o *registry.Onboarding) {
				o.Proof.Reason, o.Proof.NextAt = "the proof could not be recorded yet: "+err.Error(), h.now().Add(retryAfter)
			})
			return
		}
	}
	if claimed.ClaimTenant != "" && claimed.ClaimTenant != tenant {
		h.alert(ctx, alertClaimMismatch, "a gateway claim named another organization than the account's own role does: the role decides",
			"account", account)
	}
	// The tenant the account is bound to apart from what this proof found: its management
	// onboarding's, or the one this registration was bound to before. A role naming another is a
	// conflict an operator decides, never a move; a role naming none leaves the binding as it is.
	var bound string
	if m := st.Management; m != nil && (m.Status == registry.Pending || m.Status == registry.Registered) {
		bound = m.Tenant
	} else if claimed.Tenant != "" && (claimed.Status == registry.Registered || claimed.Status == registry.Unclaimed) {
		bound = claimed.Tenant
	}
	seen := claimed.Proof != nil && !claimed.Proof.ConflictSeenAt.IsZero() && h.now().Sub(claimed.Proof.ConflictSeenAt) >= retryAfter
	conflict := known && bound != "" && tenant != bound
	recheckOver := !claimed.RecheckAfter.IsZero() && h.now().Sub(claimed.RecheckAfter) > recheckWindow
	st, written := h.recordProof(ctx, claimed, start, true, func(o *registry.Onboarding) {
		o.Runbooks, o.DiagnosticTool = ev.Runbooks, ev.Diagnostic
		o.Proof.RefusedSince, o.Proof.Reason, o.Proof.Failures = time.Time{}, "", 0
		switch {
		case conflict && !seen:
			if o.Proof.ConflictSeenAt.IsZero() {
				o.Proof.ConflictSeenAt = h.now()
			}
			o.ProofDue, o.Proof.NextAt = true, h.now().Add(retryAfter) // look again before deciding
			o.Proof.Reason = "the role names another organization than the account's: checked again"
			return
		case conflict:
			o.Proof.Reason = "the role names another organization than the one the account is bound to: " + h.Vendor.Name + " support resolves it"
		case bound != "": // bound, and the role names that tenant, or none (or a token not issued)
			o.Status, o.Tenant = registry.Registered, bound
			if known {
				o.TokenHash = ev.TokenHash
			}
		case known:
			o.Status, o.Tenant, o.TokenHash = registry.Registered, tenant, ev.TokenHash
		default:
			o.Status, o.Tenant, o.TokenHash = registry.Unclaimed, "", ""
			if ev.TokenHash != "" {
				o.Proof.Reason = "the role's " + h.Vendor.TenantTokenTag() + " tag is not a token " + h.Vendor.Name + " issued (or it was revoked): the account stays unclaimed"
			}
		}
		if o.Status == registry.PendingProof { // a conflict on a claim never proven: proven, bound to neither
			o.Status = registry.Unclaimed
		}
		o.Proof.ConflictSeenAt = time.Time{}
		o.ProofDue = !claimed.RecheckAfter.IsZero() && !recheckOver // a re-check goes on until the window ends
		if o.ProofDue {
			o.Proof.NextAt = h.now().Add(retryAfter)
		}
		if recheckOver {
			o.RecheckAfter = time.Time{}
		}
	})
	if !written {
		return
	}
	if conflict && seen && (st.Conflict == nil || !st.Conflict.Proven) {
		h.alert(ctx, alertTenantConflict, "the account's own role names another organization than the one it is bound to: conflict recorded",
			"account", account)
		if _, err := h.Registry.Update(ctx, account, func(st registry.AccountState) (registry.Writes, error) {
			if st.Conflict != nil && st.Conflict.Proven {
				return registry.Writes{}, nil
			}
			return registry.Writes{Conflict: &registry.Conflict{Proven: true, Tenant: bound, Claimant: tenant, Kind: registry.Gateway,
				StackID: claimed.StackID, RequestID: claimed.LastRequestID}}, nil
		}); err != nil {
			h.log().ErrorContext(ctx, "proof: the conflict was not recorded", "account", account, "error", err)
		}
	}
	if recheckOver {
		h.alert(ctx, alertUnprovenDelete, "re-check: the role is still there long after a Delete; the Delete was not its stack's, the registration stands",
			"account", account)
	}
	h.log().InfoContext(ctx, "gateway role proven", "account", account, "status", st.Gateway.Status)
}

// recordProof applies a proof's outcome (edit) to the gateway record as it is now, if it is still the
// record of the role that was proven (live, same role); attempted says STS was asked. A claim or
// Delete that asked for another proof after this one started (ProofAsked) keeps it due. ok reports
// the outcome was written.
func (h *Hook) recordProof(ctx context.Context, claimed registry.Onboarding, start time.Time, attempted bool, edit func(*registry.Onboarding)) (registry.AccountState, bool) {
	written := false
	st, err := h.Registry.Update(ctx, claimed.AccountID, func(st registry.AccountState) (registry.Writes, error) {
		g := st.Gateway
		if g == nil || !g.Status.Live() || g.RoleARN != claimed.RoleARN {
			return registry.Writes{}, nil
		}
		upd := *g
		proof := registry.ProofState{}
		if g.Proof != nil {
			proof = *g.Proof
		}
		if attempted {
			proof.Attempts++
			proof.LastAt, proof.NextAt = h.now(), time.Time{}
		}
		upd.Proof = &proof
		edit(&upd)
		if g.ProofAsked.After(start) && upd.Status.Live() {
			upd.ProofDue = true // asked again meanwhile: that request gets its own proof
		}
		written = true
		return registry.Writes{Gateway: &upd}, nil
	})
	if err != nil {
		h.log().ErrorContext(ctx, "proof: the outcome was not recorded", "account", claimed.AccountID, "error", err)
		return st, false
	}
	return st, written
}

// recheckDelay is how long a Delete's follow-up waits before its one check: CloudFormation deletes
// the role once the hook has answered.
const recheckDelay = 5 * time.Second
