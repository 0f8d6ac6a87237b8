package hook

import (
	"context"
	"errors"
	"fmt"
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

// RoleEvidence is what a proof found in the customer's account.
type RoleEvidence struct {
	// TokenHash is registry.TokenHash of the token on the role's TenantTokenTag; "" when it has none.
	TokenHash string
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

// RoleReader reads a role (iam:GetRole), as the proof's session in the customer's account.
type RoleReader interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
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
	role, err := reader.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(p.Vendor.GatewayRoleName())})
	if err != nil {
		return RoleEvidence{}, fmt.Errorf("reading the role's %s tag: %w", p.Vendor.TenantTokenTag(), err)
	}
	for _, tag := range role.Role.Tags {
		if aws.ToString(tag.Key) == p.Vendor.TenantTokenTag() && aws.ToString(tag.Value) != "" {
			return RoleEvidence{TokenHash: registry.TokenHash(aws.ToString(tag.Value))}, nil
		}
	}
	return RoleEvidence{}, nil
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

func (h *Hook) unprovenPerHour() int {
	if h.UnprovenPerHour > 0 {
		return h.UnprovenPerHour
	}
	return 100
}

func (h *Hook) tenantPerHour() int {
	if h.TenantClaimsPerHour > 0 {
		return h.TenantClaimsPerHour
	}
	return 1000
}

// take takes one proof from the pace of the claim's tenant ("" for token-less claims); ok false
// means wait until next.
func (h *Hook) take(ctx context.Context, tenant string) (ok bool, next time.Time, err error) {
	if tenant == "" {
		return h.Registry.Take(ctx, unprovenBudget, h.unprovenPerHour(), time.Hour)
	}
	return h.Registry.Take(ctx, "tenant-claims#"+registry.TokenHash(tenant), h.tenantPerHour(), time.Hour)
}

// retryAfter is when a proof that could not be made is due again.
const retryAfter = 5 * time.Minute

// recheckWindow is how long after a Delete that proved nothing the role is checked again before the
// Delete is taken not to be the stack's (CloudFormation deletes the role within minutes).
const recheckWindow = time.Hour

// queued is the reason of a claim waiting for the pace.
const queued = "queued: proofs are made at a bounded pace"

// Prove proves the account's gateway role, if a proof is due, and records what it found:
//
//   - the role refused, for a claim never proven: REJECTED, the account's keys retired if nothing
//     else of the account is registered; for a registration proven before (a re-check): the role is
//     gone, the registration ends;
//   - the role admitted the account's token: the account is bound to the tenant the role's tag names
//     (REGISTERED), or to none (UNCLAIMED); a tag naming another tenant than the account is bound to
//     is a proven conflict (recorded; the account unusable until an operator decides);
//   - the proof could not be made: still due, later.
//
// Proofs are paced; one over the pace waits in the queue (supportctl sweep). Safe to run concurrently
// and repeatedly: an outcome is recorded only on the record it proved, unchanged.
func (h *Hook) Prove(ctx context.Context, account string) {
	st, err := h.Registry.Account(ctx, account)
	if err != nil {
		h.log().ErrorContext(ctx, "proof: the registry could not be read; the proof stays due", "account", account, "error", err)
		return
	}
	g := st.Gateway
	if g == nil || !g.Status.Live() || !g.ProofDue {
		return
	}
	claimed := *g
	if h.Prover == nil {
		h.recordProof(ctx, claimed, func(o *registry.Onboarding) { o.Proof.Reason = "no issuer is configured to prove the role" }, false)
		return
	}
	ok, next, err := h.take(ctx, claimed.ClaimTenant)
	if err != nil || !ok {
		if err == nil {
			h.log().InfoContext(ctx, "proof queued: the pace is reached", "account", account, "next", next)
		} else {
			next = h.now().Add(retryAfter)
		}
		h.recordProof(ctx, claimed, func(o *registry.Onboarding) { o.Proof.Reason, o.Proof.NextAt = queued, next }, false)
		return
	}
	ev, err := h.Prover.ProveRole(ctx, account, claimed.RoleARN, h.proofBudget())
	switch {
	case errors.Is(err, ErrRoleRefused) && claimed.Status == registry.PendingProof:
		h.alert(ctx, alertProofRejected, "gateway claim rejected: its role refused the account's own token", "account", account, "error", err)
		if st, ok := h.recordProof(ctx, claimed, func(o *registry.Onboarding) {
			o.Status, o.ProofDue, o.RecheckAfter = registry.Rejected, false, time.Time{}
			o.Proof.Reason = "the role " + claimed.RoleARN + " does not exist, or does not trust " + h.Vendor.Name +
				"'s identity providers for this account"
		}, true); ok {
			h.retireKeysIfLast(ctx, st)
		}
	case errors.Is(err, ErrRoleRefused) && (claimed.Proof == nil || claimed.Proof.RefusedSince.IsZero() ||
		h.now().Sub(claimed.Proof.RefusedSince) < retryAfter):
		// A registration proven before ends only if STS still refuses its role at a later check: one
		// refusal could be the vendor's own (a JWKS STS could not fetch for the whole budget).
		h.log().InfoContext(ctx, "proof: STS refused a role it admitted before; checked again later", "account", account)
		h.recordProof(ctx, claimed, func(o *registry.Onboarding) {
			if o.Proof.RefusedSince.IsZero() {
				o.Proof.RefusedSince = h.now()
			}
			o.Proof.Reason, o.Proof.NextAt = "STS refused the role: checked again before the registration ends", h.now().Add(retryAfter)
		}, true)
	case errors.Is(err, ErrRoleRefused):
		h.log().InfoContext(ctx, "proof: the role is gone; the registration ends", "account", account)
		if st, ok := h.recordProof(ctx, claimed, func(o *registry.Onboarding) {
			*o = *deregistered(*o, "proof")
			o.Proof.Reason = "the role is gone"
		}, true); ok {
			h.retireKeysIfLast(ctx, st)
		}
	case err != nil:
		h.log().WarnContext(ctx, "proof could not be made; it stays due", "account", account, "error", err)
		h.recordProof(ctx, claimed, func(o *registry.Onboarding) {
			o.Proof.Reason, o.Proof.NextAt = "the proof could not be made yet: "+err.Error(), h.now().Add(retryAfter)
		}, true)
	default:
		h.bind(ctx, st, claimed, ev)
	}
}

// bind records a successful proof: the account is bound to the tenant the role's tag names.
func (h *Hook) bind(ctx context.Context, st registry.AccountState, claimed registry.Onboarding, ev RoleEvidence) {
	account := claimed.AccountID
	tenant, known := "", false
	if ev.TokenHash != "" {
		var err error
		if tenant, known, err = h.Registry.ResolveTokenHash(ctx, ev.TokenHash); err != nil {
			h.recordProof(ctx, claimed, func(o *registry.Onboarding) {
				o.Proof.Reason, o.Proof.NextAt = "the proof could not be recorded yet: "+err.Error(), h.now().Add(retryAfter)
			}, true)
			return
		}
	}
	if claimed.ClaimTenant != tenant {
		h.alert(ctx, alertClaimMismatch, "a gateway claim named another organization than the account's own role does: the role decides",
			"account", account)
	}
	reason := ""
	if ev.TokenHash != "" && !known {
		reason = "the role's " + h.Vendor.TenantTokenTag() + " tag is not a token " + h.Vendor.Name + " issued (or it was revoked): the account stays unclaimed"
	}
	// The tenant the account is bound to, apart from what this proof finds: its management
	// onboarding's, or the tenant this registration was proven for before. The role naming another
	// is a conflict an operator decides, never a move.
	var bound string
	if m := st.Management; m != nil && (m.Status == registry.Pending || m.Status == registry.Registered) {
		bound = m.Tenant
	} else if claimed.Status == registry.Registered {
		bound = claimed.Tenant
	}
	conflict := known && bound != "" && bound != tenant
	if conflict {
		h.alert(ctx, alertTenantConflict, "the account's own role names another organization than the one it is bound to: conflict recorded",
			"account", account)
		reason = "the role names another organization than the one the account is bound to: " + h.Vendor.Name + " support resolves it"
	}
	recheckOver := !claimed.RecheckAfter.IsZero() && h.now().Sub(claimed.RecheckAfter) > recheckWindow
	st, written := h.recordProof(ctx, claimed, func(o *registry.Onboarding) {
		o.Status, o.Tenant, o.TokenHash = registry.Unclaimed, "", ""
		if known && !conflict {
			o.Status, o.Tenant, o.TokenHash = registry.Registered, tenant, ev.TokenHash
		}
		o.Proof.Reason, o.Proof.RefusedSince = reason, time.Time{}
		o.ProofDue = !claimed.RecheckAfter.IsZero() && !recheckOver // a re-check goes on until the window ends
		if o.ProofDue {
			o.Proof.NextAt = h.now().Add(retryAfter)
		}
		if recheckOver {
			o.RecheckAfter = time.Time{}
		}
	}, true)
	if !written {
		return
	}
	if conflict && st.Conflict == nil {
		if _, err := h.Registry.Update(ctx, account, func(st registry.AccountState) (registry.Writes, error) {
			if st.Conflict != nil {
				return registry.Writes{}, nil
			}
			return registry.Writes{Conflict: &registry.Conflict{Tenant: bound, Claimant: tenant, Kind: registry.Gateway,
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

// recordProof applies a proof's outcome (edit) to the gateway record, if it is still the record that
// was proven (same version); attempted says STS was asked. ok reports it was written.
func (h *Hook) recordProof(ctx context.Context, claimed registry.Onboarding, edit func(*registry.Onboarding), attempted bool) (registry.AccountState, bool) {
	written := false
	st, err := h.Registry.Update(ctx, claimed.AccountID, func(st registry.AccountState) (registry.Writes, error) {
		g := st.Gateway
		if g == nil || g.Version != claimed.Version {
			return registry.Writes{}, nil // claimed again meanwhile: that claim asks for its own proof
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

// startRecheck asks for the account's gateway role to be proven again from now on (a Delete that
// proved nothing), and returns the follow-up that makes one check, paced, after a short wait; the
// sweep makes the others until the role is gone or recheckWindow has passed.
func (h *Hook) startRecheck(ctx context.Context, st registry.AccountState) func(context.Context) {
	g := *st.Gateway
	g.RecheckAfter, g.ProofDue = h.now(), true
	if _, err := h.Registry.Save(ctx, st, registry.Writes{Gateway: &g}); err != nil {
		h.log().ErrorContext(ctx, "delete: the re-check was not recorded", "account", st.AccountID, "error", err)
		return nil
	}
	h.log().InfoContext(ctx, "delete that proved nothing: the role is checked again, and the registration ends once it is gone",
		"account", st.AccountID)
	account := st.AccountID
	return func(ctx context.Context) {
		delay := recheckDelay
		if h.RecheckDelay > 0 {
			delay = h.RecheckDelay
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		h.Prove(ctx, account)
	}
}
