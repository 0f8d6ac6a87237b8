package hook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// A gateway claim names a role; the backend proves it genuine the only way that proves it: it
// mints a token for the account with the account's own key (published first, since STS fetches the
// JWKS from the issuer host) and assumes the claimed role with it, through STS, with a session
// policy that denies everything. STS admits it only if the account has the vendor's identity
// provider for this issuer with this account's audience, and the role trusts it: what the customer's
// gateway stack deploys, and nothing a forged event can make.

// RoleProver proves a gateway role genuine. ProveRole returns nil when it is, an error wrapping
// ErrRoleRefused when STS keeps refusing it past the budget (the role does not exist, or does not
// trust the vendor's issuer for this account), and any other error when the proof could not be made
// (throttling, the vendor's own KMS or publishing): the claim then stays pending.
type RoleProver interface {
	ProveRole(ctx context.Context, account, roleARN string, budget time.Duration) error
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

// WebIdentityProver proves a role with a token of the account's own issuer.
type WebIdentityProver struct {
	Vendor  policy.Vendor
	Issuer  Minter
	STS     WebIdentitySTS
	Backoff awsx.Backoff // zero: awsx.DefaultBackoff
}

var _ RoleProver = (*WebIdentityProver)(nil)

// proofEngineer is who the proof's token is minted for: its sub is the pairwise identifier of this
// name in the account, and the customer's CloudTrail shows the session as <vendor>-registration-check.
const proofEngineer = "registration-check"

// ProveRole creates (and publishes) the account's key if it has none, then assumes roleARN with a
// token of the account's issuer, retrying the refusals that mean "not propagated yet" (a role or
// identity provider created seconds ago, a JWKS just published) within budget.
func (p *WebIdentityProver) ProveRole(ctx context.Context, account, roleARN string, budget time.Duration) error {
	if _, err := p.Issuer.CreateAccountKey(ctx, account); err != nil {
		return fmt.Errorf("creating the account's signing key: %w", err)
	}
	backoff := p.Backoff
	if backoff == (awsx.Backoff{}) {
		backoff = awsx.DefaultBackoff
	}
	deny := policy.DenyAllSessionPolicy().JSON()
	claims := issuer.Claims{Engineer: proofEngineer, Environment: proofEngineer, Lifetime: issuer.MaxTokenLifetime}
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
		_, err = p.STS.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
			RoleArn:          aws.String(roleARN),
			RoleSessionName:  aws.String(p.Vendor.Name + "-" + proofEngineer),
			WebIdentityToken: aws.String(token),
			DurationSeconds:  aws.Int32(int32(awsx.SessionDuration / time.Second)),
			Policy:           aws.String(deny), // the session can do nothing: it only proves the trust
		})
		return err
	})
	if refusedByTrust(err) {
		return fmt.Errorf("%w: %w", ErrRoleRefused, err)
	}
	return err
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

// unprovenBudget names the pace of proofs for claims without a tenant token.
const unprovenBudget = "unproven-gateway-claims"

func (h *Hook) unprovenPerHour() int {
	if h.UnprovenPerHour > 0 {
		return h.UnprovenPerHour
	}
	return 100
}

// retryAfter is when a proof that could not be made is due again.
const retryAfter = 5 * time.Minute

// Prove proves the account's pending gateway claim, if it has one, and records the outcome:
// REGISTERED (with a tenant) or UNCLAIMED once proven; REJECTED, with the account's keys retired if
// nothing else of the account is live, once STS refuses the role for good; still pending, due again
// later, otherwise. Claims without a tenant token are paced (UnprovenPerHour); a claim over the pace
// waits in the queue (supportctl claims prove). Safe to run concurrently and repeatedly.
func (h *Hook) Prove(ctx context.Context, account string) {
	st, err := h.Registry.Account(ctx, account)
	if err != nil {
		h.log().ErrorContext(ctx, "proof: the registry could not be read; the claim stays pending", "account", account, "error", err)
		return
	}
	g := st.Gateway
	if g == nil || g.Status != registry.PendingProof {
		return
	}
	claimed := *g
	if h.Prover == nil {
		h.recordProof(ctx, claimed, registry.PendingProof, "no issuer is configured to prove the role", time.Time{}, false)
		return
	}
	if claimed.Tenant == "" {
		ok, next, err := h.Registry.Take(ctx, unprovenBudget, h.unprovenPerHour(), time.Hour)
		if err != nil {
			h.recordProof(ctx, claimed, registry.PendingProof, "the proof queue could not be read", h.now().Add(retryAfter), false)
			return
		}
		if !ok {
			h.log().InfoContext(ctx, "proof queued: the pace of claims without a tenant token is reached", "account", account, "next", next)
			h.recordProof(ctx, claimed, registry.PendingProof, "queued: claims without a tenant token are proven at a bounded pace", next, false)
			return
		}
	}
	err = h.Prover.ProveRole(ctx, account, claimed.RoleARN, h.proofBudget())
	switch {
	case err == nil:
		status := registry.Unclaimed
		if claimed.Tenant != "" {
			status = registry.Registered
		}
		h.log().InfoContext(ctx, "gateway role proven", "account", account, "status", status)
		h.recordProof(ctx, claimed, status, "", time.Time{}, true)
	case errors.Is(err, ErrRoleRefused):
		h.alert(ctx, alertProofRejected, "gateway claim rejected: its role refused the account's own token", "account", account, "error", err)
		if st, ok := h.recordProof(ctx, claimed, registry.Rejected, "the role "+claimed.RoleARN+" does not exist, or does not trust "+
			h.Vendor.Name+"'s identity providers for this account", time.Time{}, true); ok {
			h.retireKeysIfLast(ctx, st)
		}
	default:
		h.log().WarnContext(ctx, "proof could not be made; the claim stays pending", "account", account, "error", err)
		h.recordProof(ctx, claimed, registry.PendingProof, "the proof could not be made yet: "+err.Error(), h.now().Add(retryAfter), true)
	}
}

// recordProof writes a proof's outcome on the gateway record, if it still is the claim that was
// proven (same owner and role, still pending); attempted says STS was asked. ok reports it was
// written.
func (h *Hook) recordProof(ctx context.Context, claimed registry.Onboarding, status registry.Status, reason string, next time.Time, attempted bool) (registry.AccountState, bool) {
	written := false
	st, err := h.Registry.Update(ctx, claimed.AccountID, func(st registry.AccountState) (registry.Writes, error) {
		g := st.Gateway
		if g == nil || g.Status != registry.PendingProof || g.Owner != claimed.Owner || g.RoleARN != claimed.RoleARN {
			return registry.Writes{}, nil // claimed again meanwhile: that claim gets its own proof
		}
		upd := *g
		proof := registry.ProofState{}
		if g.Proof != nil {
			proof = *g.Proof
		}
		if attempted {
			proof.Attempts++
			proof.LastAt = h.now()
		}
		proof.Reason, proof.NextAt = reason, next
		upd.Status, upd.Proof = status, &proof
		written = true
		return registry.Writes{Gateway: &upd}, nil
	})
	if err != nil {
		h.log().ErrorContext(ctx, "proof: the outcome was not recorded", "account", claimed.AccountID, "status", status, "error", err)
		return st, false
	}
	return st, written
}

// recheckBudget is how long one re-check retries a refusal: the role was proven before, so a
// refusal that lasts means it is gone.
const recheckBudget = 10 * time.Second

// recheckWindow is how long after a Delete a re-check waits for the role to go before deciding the
// Delete was not the stack's.
const recheckWindow = time.Hour

// startRecheck asks for the account's token-less gateway registration to be checked again, and
// returns the follow-up that does it.
func (h *Hook) startRecheck(ctx context.Context, st registry.AccountState) func(context.Context) {
	g := *st.Gateway
	if g.RecheckAfter.IsZero() {
		g.RecheckAfter = h.now()
		if _, err := h.Registry.Save(ctx, st, registry.Writes{Gateway: &g}); err != nil {
			h.log().ErrorContext(ctx, "delete: the re-check was not recorded", "account", st.AccountID, "error", err)
		}
	}
	h.log().InfoContext(ctx, "delete of a registration without a tenant token: its role is checked again, and the registration ends once it is gone",
		"account", st.AccountID)
	account := st.AccountID
	return func(ctx context.Context) { h.Recheck(ctx, account) }
}

// Recheck proves a token-less gateway registration's role again until STS refuses it (the
// stack's role is gone: CloudFormation deletes it right after the hook), then ends the
// registration; it gives up when ctx ends, leaving the re-check to the next sweep.
func (h *Hook) Recheck(ctx context.Context, account string) {
	wait := 2 * time.Second
	for {
		st, err := h.Registry.Account(ctx, account)
		if err != nil {
			h.log().ErrorContext(ctx, "re-check: the registry could not be read", "account", account, "error", err)
			return
		}
		g := st.Gateway
		if g == nil || !g.Status.Live() || g.RecheckAfter.IsZero() || g.Tenant != "" || h.Prover == nil {
			return
		}
		err = h.Prover.ProveRole(ctx, account, g.RoleARN, recheckBudget)
		if err == nil && h.now().Sub(g.RecheckAfter) > recheckWindow {
			// CloudFormation deletes the role within minutes of the hook's Delete: a role still there
			// an hour later means the Delete was not its stack's. The registration stands.
			_, err := h.Registry.Update(ctx, account, func(st registry.AccountState) (registry.Writes, error) {
				cur := st.Gateway
				if cur == nil || cur.Version != g.Version {
					return registry.Writes{}, nil
				}
				upd := *cur
				upd.RecheckAfter = time.Time{}
				return registry.Writes{Gateway: &upd}, nil
			})
			if err == nil {
				h.alert(ctx, alertUnprovenDelete, "re-check: the role is still there long after a Delete; the Delete was not its stack's, the registration stands",
					"account", account)
			}
			return
		}
		if errors.Is(err, ErrRoleRefused) {
			_, err := h.Registry.Update(ctx, account, func(st registry.AccountState) (registry.Writes, error) {
				cur := st.Gateway
				if cur == nil || cur.Version != g.Version {
					return registry.Writes{}, nil
				}
				return registry.Writes{Gateway: deregistered(*cur, "recheck")}, nil
			})
			if err != nil {
				h.log().ErrorContext(ctx, "re-check: the deregistration was not recorded", "account", account, "error", err)
				return
			}
			h.log().InfoContext(ctx, "re-check: the role is gone; registration ended", "account", account)
			if st, err := h.Registry.Account(ctx, account); err == nil {
				h.retireKeysIfLast(ctx, st)
			}
			return
		}
		select {
		case <-ctx.Done():
			h.log().InfoContext(ctx, "re-check: the role is still there; left for the next sweep", "account", account)
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 30*time.Second)
	}
}
