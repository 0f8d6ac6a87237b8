package hook

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/registry"
)

// The support-gateway stack (seed 002) deploys the role itself. Its event proves nothing: anyone can
// publish one for any account, with any stack ID and their own tenant token. So an event only asks
// for a proof (proof.go), and the proof decides everything the registration holds: the backend
// assumes the claimed role with a token of the account's own issuer (the role exists and trusts the
// vendor for this account) and, in that session, reads the role's TenantToken tag and the names of
// its inline policies, which the account's own stack set from its parameters. The account is bound
// to the tenant that tag's token was issued for, with the options the role has, whatever the event
// said. The answer does not wait for the proof; a claim waiting for it grants nothing, binds no
// tenant and is never in the way of another stack's claim.
//
// Events still count for what they can be judged on at once: a token the vendor never issued, a
// claim naming another tenant than the account's, a token-less Create for an account bound to a
// tenant, and the other template's account are refused (FAILED, nothing bound), so a genuine stack
// that asks for what it cannot have hears so at once. An Update is never refused for naming no
// token: it cannot be told apart from the rollback of an update that added one, and it changes
// nothing anyway.

// gatewayClaim is a gateway Create or Update as decideGateway sees it: the tenant its token
// resolved to ("" without a token) and the token's hash.
type gatewayClaim struct {
	Owner        registry.Owner
	Create       bool
	Marker       string // the FailedCreateID of a Create
	RequestID    string
	StackID      string
	Tenant       string
	TokenHash    string
	RoleARN      string
	ProviderARNs []string
	Version      string
	// Runbooks and Diagnostic are the options the claim says the role has: a claim, read from the
	// role by the proof; a difference only asks for the role to be read again.
	Runbooks, Diagnostic bool
	At                   time.Time
}

// gatewayDecision is what a gateway claim does to the account's records.
type gatewayDecision struct {
	Writes  registry.Writes
	Refusal error // the claim is answered FAILED with this
	Prove   bool  // prove the role after answering
	Alert   string
}

// decideGateway is the pure rule for a gateway claim on account state st.
func (h *Hook) decideGateway(st registry.AccountState, c gatewayClaim) gatewayDecision {
	g := st.Gateway
	bound, agree := st.BoundTenant()
	// A Create naming another tenant than an account bound only by its gateway registration, while a
	// Delete's re-check of that registration is open: maybe a new organization's stack, whose role
	// replaced the deleted stack's. The proof tells (the role's RoleId); the claim is not refused.
	m := st.Management
	replacing := c.Create && g != nil && (g.Status == registry.Registered || g.Status == registry.Unclaimed) &&
		(m == nil || !(m.Status == registry.Pending || m.Status == registry.Registered)) && !g.RecheckAfter.IsZero()
	switch {
	case g.Provable(c.At) && g.Status != registry.PendingProof && g.RoleARN != c.RoleARN:
		// the same account ID in another partition than its registration's role
		return gatewayDecision{Refusal: customerReason(fmt.Sprintf("this account is registered with %s in another AWS partition: "+
			"deploy the stack in that partition", h.Vendor.Name))}
	case !agree || (c.Tenant != "" && bound != "" && c.Tenant != bound && !replacing):
		d := gatewayDecision{Refusal: h.conflictError(), Alert: alertTenantConflict}
		if st.Conflict == nil || !st.Conflict.Proven { // the latest refused claim, on record for operators; it suspends nothing
			d.Writes.Conflict = &registry.Conflict{Tenant: bound, Claimant: c.Tenant, Kind: registry.Gateway,
				StackID: c.StackID, RequestID: c.RequestID, At: c.At}
		}
		return d
	case c.Tenant == "" && bound != "" && c.Create && !replacing:
		return gatewayDecision{Refusal: customerReason(fmt.Sprintf("this account is linked to a %s organization: deploy the stack "+
			"with your organization's TenantToken (from %s's console)", h.Vendor.Name, h.Vendor.Name))}
	case c.Tenant == "" && bound != "":
		return gatewayDecision{Alert: alertUnprovenUpdate} // an Update, maybe a rollback: it changes nothing
	}
	if m != nil && m.Status == registry.Registered {
		return gatewayDecision{Refusal: h.otherTemplateError(registry.Management)}
	}
	// The same request delivered again (SNS and Lambda deliver at least once) while the claim it made
	// waits for its proof: that proof, asked by the first delivery, answers both. A second one would
	// race it, and two proofs of an account at once each make it a signing key.
	if g != nil && g.Status == registry.PendingProof && c.RequestID != "" && g.LastRequestID == c.RequestID &&
		g.Owner == c.Owner && g.RoleARN == c.RoleARN && g.ClaimTenant == c.Tenant && g.TemplateVersion == c.Version {
		return gatewayDecision{}
	}
	// A registration its role's refusals ended keeps what a restore needs: a claim asks for its role to
	// be proven against it (restore), never replaces it.
	proven := g != nil && (g.Status == registry.Registered || g.Status == registry.Unclaimed || g.Restorable(c.At)) && g.RoleARN == c.RoleARN
	if !proven {
		// A new claim, or one replacing a claim never proven: proven afresh. A token-less claim does not
		// take a pending tenant claim out of its tenant's lane.
		tenant := c.Tenant
		if tenant == "" && g != nil && g.Status == registry.PendingProof {
			tenant = g.ClaimTenant
		}
		next := registry.Onboarding{Status: registry.PendingProof, RoleARN: c.RoleARN, ProviderARNs: c.ProviderARNs,
			TemplateVersion: c.Version, Owner: c.Owner, ClaimTenant: tenant, LastRequestID: c.RequestID,
			ProofDue: true, ProofAsked: c.At, Proof: &registry.ProofState{Reason: "waiting for the role to be proven"}}
		if c.Create {
			next.ClaimMarker = c.Marker
		}
		return gatewayDecision{Writes: registry.Writes{Gateway: &next}, Prove: true}
	}
	// The role is proven, and the registration holds what its proof read: a claim changes none of it
	// (nor the owner: the StackId is no credential). A claim naming another token or other options
	// than the role had (a stack update changed its parameters) asks for the role to be read again.
	same := c.TokenHash == g.TokenHash && c.Runbooks == g.Runbooks && c.Diagnostic == g.DiagnosticTool
	if same && g.Status != registry.Deregistered { // an ended registration's claim is always proven: a stack may have come back
		return gatewayDecision{}
	}
	next := *g
	next.ClaimTenant, next.ProofDue, next.ProofAsked, next.LastRequestID, next.ProofPeriodic = c.Tenant, true, c.At, c.RequestID, false
	next.TenantAsked = c.Tenant != "" && c.TokenHash != g.TokenHash
	if g.Proof != nil { // read the role now, whatever check was scheduled
		p := *g.Proof
		p.NextAt = time.Time{}
		// A claim naming the tenant whose disagreement awaits its second look does not wipe it: the
		// next proof's disagreement counts (else repeated claims would never let one count).
		p.MismatchRetried = p.MismatchRetried && g.ClaimTenant == c.Tenant
		next.Proof = &p
	}
	return gatewayDecision{Writes: registry.Writes{Gateway: &next}, Prove: true}
}

// putGateway handles a gateway Create or Update.
func (h *Hook) putGateway(ctx context.Context, c claim) (cfnresource.Result, error) {
	p := c.gw
	if want := h.Vendor.GatewayRoleARN(c.target); p.RoleArn != want {
		return cfnresource.Result{}, fmt.Errorf("RoleArn must be %s", want)
	}
	if want := h.Vendor.ProviderARNs(c.target); !slices.Equal(p.ProviderArns, want) {
		return cfnresource.Result{}, fmt.Errorf("ProviderArns must be %s", strings.Join(want, ", "))
	}
	gc := gatewayClaim{Owner: c.owner, Create: c.e.RequestType == cfnresource.Create, RequestID: c.e.RequestID, StackID: c.e.StackID,
		RoleARN: p.RoleArn, ProviderARNs: p.ProviderArns, Version: p.TemplateVersion, Runbooks: p.Runbooks, Diagnostic: p.DiagnosticTool,
		At: h.now()}
	if gc.Create {
		gc.Marker = cfnresource.FailedCreateID(c.e)
	}
	if p.TenantToken != "" {
		tenant, ok, err := h.Registry.ResolveTenantToken(ctx, p.TenantToken)
		revoked := false
		if err == nil && !ok && !gc.Create {
			revoked, err = h.Registry.TokenRevoked(ctx, p.TenantToken)
		}
		if err != nil {
			return cfnresource.Result{}, fmt.Errorf("the registry could not be read, try again: %w", err)
		}
		switch {
		case ok:
			gc.Tenant, gc.TokenHash = tenant, registry.TokenHash(p.TenantToken)
		case revoked:
			// An Update naming a token its tenant revoked: a stack it registered, or the rollback of an
			// update, which must not fail (UPDATE_ROLLBACK_FAILED). It claims as a token-less Update
			// does: a registration bound to a tenant stays as it is.
			h.log().InfoContext(ctx, "a gateway Update names a revoked token: treated as token-less", "account", c.account)
		default:
			return cfnresource.Result{}, fmt.Errorf("the TenantToken is not one %s issued, or it was revoked: copy it again from %s's console, "+
				"or leave it empty to register the account unclaimed", h.Vendor.Name, h.Vendor.Name)
		}
	}
	var d gatewayDecision
	_, err := h.Registry.Update(ctx, c.account, func(st registry.AccountState) (registry.Writes, error) {
		d = h.decideGateway(st, gc)
		w := d.Writes
		if gc.Create && w.Gateway != nil {
			w.NotRolledBack = gc.Marker
		}
		return w, nil
	})
	if err != nil {
		return cfnresource.Result{}, rolledBackOr(err, "the registration could not be recorded, try again")
	}
	switch {
	case d.Alert != "" && d.Refusal != nil:
		h.alert(ctx, d.Alert, "a gateway claim was refused", "account", c.account, "reason", d.Refusal.Error())
	case d.Alert != "":
		h.alert(ctx, d.Alert, "a gateway Update without a token for an account bound to a tenant changed nothing (a rollback, or forged)", "account", c.account)
	}
	if d.Refusal != nil {
		return cfnresource.Result{}, d.Refusal
	}
	res := cfnresource.Result{PhysicalResourceID: h.physicalID(registry.Gateway, c.account)}
	if d.Prove {
		h.log().InfoContext(ctx, "gateway claim recorded; proving its role next", "account", c.account, "names_a_tenant", gc.Tenant != "")
		account := c.account
		res.Then = func(ctx context.Context) { h.Prove(ctx, account) }
	} else {
		h.log().InfoContext(ctx, "gateway registration unchanged or updated", "account", c.account)
	}
	return res, nil
}

// deleteGateway handles a gateway Delete. No gateway Delete proves anything: the token its stack
// carries is on the role's tag, readable by whoever can read the account. So every Delete asks for the
// role to be proven again, which ends the registration once the role is gone (CloudFormation deletes
// it right after the hook's answer). It returns the follow-up work, if any.
func (h *Hook) deleteGateway(ctx context.Context, account string, e cfnresource.Event) func(context.Context) {
	rctx, cancel := bounded(ctx)
	defer cancel()
	var asked bool
	_, err := h.Registry.Update(rctx, account, func(st registry.AccountState) (registry.Writes, error) {
		g := st.Gateway
		if g == nil || !g.Status.Live() {
			return registry.Writes{}, nil
		}
		upd := *g
		open := !g.RecheckAfter.IsZero()
		if !open && g.Proof != nil { // a first Delete is checked now; one in an open re-check waits for its schedule
			p := *g.Proof
			p.NextAt = time.Time{}
			upd.Proof = &p
		}
		now := h.now() // the re-check's own proof is the one asked when it opened (Prove's budget)
		upd.RecheckAfter, upd.ProofDue, upd.ProofAsked, upd.LastRequestID, upd.ProofPeriodic = now, true, now, e.RequestID, false
		upd.TenantAsked = false
		asked = true
		return registry.Writes{Gateway: &upd}, nil
	})
	if err != nil {
		h.alert(ctx, alertDeleteFailed, "delete: the re-check was not recorded; the periodic check finds it later", "account", account, "error", err)
		return nil
	}
	if !asked {
		h.log().InfoContext(ctx, "delete: no registration to end", "account", account)
		return nil
	}
	h.log().InfoContext(ctx, "delete: the role is checked again, and the registration ends once it is gone", "account", account)
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
