package hook

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/registry"
)

// The support-gateway stack (seed 002) deploys the role itself. Its event proves nothing: anyone can
// publish one for any account, with any stack ID and their own tenant token. So an event only asks
// for a proof (proof.go), and the proof decides: the backend assumes the claimed role with a token
// of the account's own issuer (the role exists and trusts the vendor for this account), and, in that
// session, reads the role's TenantToken tag, which the account's own stack set from its parameter.
// The account is bound to the tenant that tag's token was issued for, whatever token the event
// named. The answer does not wait for the proof; a claim waiting for it grants nothing, binds no
// tenant and is never in the way of another stack's claim.
//
// Events still count for what they can be judged on at once: a token the vendor never issued, a
// claim naming another tenant than the account's, or a token-less Update of an account bound to a
// tenant are refused (FAILED, nothing recorded), so a genuine stack that asks for something it
// cannot have hears so at once; and an Update of a tenant-bound registration changes its options
// only with the tenant's token.

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
	Runbooks     bool
	Diagnostic   bool
	Version      string
}

// digest is what identifies the properties a claim asks for (PreviousClaim).
func (c gatewayClaim) digest() string {
	sum := sha256.Sum256([]byte(strings.Join([]string{c.TokenHash, c.RoleARN, strings.Join(c.ProviderARNs, ","),
		fmt.Sprint(c.Runbooks), fmt.Sprint(c.Diagnostic), c.Version}, "\x00")))
	return hex.EncodeToString(sum[:])
}

// recordDigest is the digest of the claim a record holds.
func recordDigest(o registry.Onboarding) string {
	return gatewayClaim{TokenHash: o.TokenHash, RoleARN: o.RoleARN, ProviderARNs: o.ProviderARNs, Runbooks: o.Runbooks,
		Diagnostic: o.DiagnosticTool, Version: o.TemplateVersion}.digest()
}

// gatewayDecision is what a gateway claim does to the account's records.
type gatewayDecision struct {
	Writes  registry.Writes
	Refusal error // the claim is answered FAILED with this; nothing is written
	Prove   bool  // prove the role after answering
	Alert   string
}

// decideGateway is the pure rule for a gateway claim on account state st.
func (h *Hook) decideGateway(st registry.AccountState, c gatewayClaim) gatewayDecision {
	g := st.Gateway
	live := g != nil && g.Status.Live()
	owner := live && g.Owner == c.Owner
	if owner && !c.Create && g.PreviousClaim != "" && g.PreviousClaim == c.digest() {
		// Back to what this resource held before its last Update: a rollback. It never fails; the
		// binding stays as proven (the role's tag, not the event, says which tenant).
		return gatewayDecision{}
	}
	bound, agree := st.BoundTenant()
	switch {
	case !agree || (c.Tenant != "" && bound != "" && c.Tenant != bound):
		return gatewayDecision{Refusal: h.conflictError(), Alert: alertTenantConflict}
	case c.Tenant == "" && bound != "":
		alert := ""
		if owner {
			alert = alertUnprovenUpdate
		}
		return gatewayDecision{Refusal: customerReason(fmt.Sprintf("this account is linked to a %s organization: deploy the stack "+
			"with your organization's TenantToken (from %s's console)", h.Vendor.Name, h.Vendor.Name)), Alert: alert}
	}
	if m := st.Management; m != nil && m.Status == registry.Registered {
		return gatewayDecision{Refusal: h.otherTemplateError(registry.Management)}
	}

	proven := live && (g.Status == registry.Registered || g.Status == registry.Unclaimed) && g.RoleARN == c.RoleARN
	next := registry.Onboarding{Runbooks: c.Runbooks, DiagnosticTool: c.Diagnostic, TemplateVersion: c.Version,
		RoleARN: c.RoleARN, ProviderARNs: c.ProviderARNs, Owner: c.Owner, ClaimTenant: c.Tenant, LastRequestID: c.RequestID}
	if !proven {
		// A new claim, or one replacing a claim never proven: proven afresh.
		next.Status, next.ProofDue = registry.PendingProof, true
		next.Proof = &registry.ProofState{Reason: "waiting for the role to be proven"}
		if c.Create {
			next.ClaimMarker = c.Marker
		}
		return gatewayDecision{Writes: registry.Writes{Gateway: &next}, Prove: true}
	}
	// The role is proven: the binding (Tenant, TokenHash) stays what the role's tag proved, and the
	// status too, so a claim never interrupts access; the claim's options are recorded; a claim that
	// names another token than the one proven (a token added, or rotated) asks for a new proof.
	next.Status, next.Tenant, next.TokenHash, next.Proof = g.Status, g.Tenant, g.TokenHash, g.Proof
	next.ClaimMarker, next.RecheckAfter = g.ClaimMarker, g.RecheckAfter
	next.ProofDue = g.ProofDue || c.TokenHash != g.TokenHash
	if owner {
		next.PreviousClaim = recordDigest(*g)
	} else {
		next.PreviousClaim = g.PreviousClaim
	}
	if sameGatewayRecord(*g, next) {
		return gatewayDecision{} // a repeat: nothing changes
	}
	return gatewayDecision{Writes: registry.Writes{Gateway: &next}, Prove: next.ProofDue}
}

// sameGatewayRecord reports whether next changes nothing a claim controls in o.
func sameGatewayRecord(o, next registry.Onboarding) bool {
	return o.Status == next.Status && o.Tenant == next.Tenant && o.TokenHash == next.TokenHash && o.RoleARN == next.RoleARN &&
		slices.Equal(o.ProviderARNs, next.ProviderARNs) && o.Runbooks == next.Runbooks && o.DiagnosticTool == next.DiagnosticTool &&
		o.TemplateVersion == next.TemplateVersion && o.Owner == next.Owner && o.ProofDue == next.ProofDue && o.ClaimTenant == next.ClaimTenant
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
		RoleARN: p.RoleArn, ProviderARNs: p.ProviderArns, Runbooks: p.Runbooks, Diagnostic: p.DiagnosticTool, Version: p.TemplateVersion}
	if gc.Create {
		gc.Marker = cfnresource.FailedCreateID(c.e)
	}
	if p.TenantToken != "" {
		tenant, ok, err := h.Registry.ResolveTenantToken(ctx, p.TenantToken)
		if err != nil {
			return cfnresource.Result{}, fmt.Errorf("the registry could not be read, try again: %w", err)
		}
		if !ok {
			return cfnresource.Result{}, fmt.Errorf("the TenantToken is not one %s issued, or it was revoked: copy it again from %s's console, "+
				"or leave it empty to register the account unclaimed", h.Vendor.Name, h.Vendor.Name)
		}
		gc.Tenant, gc.TokenHash = tenant, registry.TokenHash(p.TenantToken)
	}
	var d gatewayDecision
	_, err := h.Registry.Update(ctx, c.account, func(st registry.AccountState) (registry.Writes, error) {
		d = h.decideGateway(st, gc)
		if d.Refusal != nil {
			return registry.Writes{}, nil
		}
		w := d.Writes
		if gc.Create {
			w.NotRolledBack = gc.Marker
		}
		return w, nil
	})
	if err != nil {
		return cfnresource.Result{}, rolledBackOr(err, "the registration could not be recorded, try again")
	}
	if d.Alert != "" {
		h.alert(ctx, d.Alert, "a gateway claim was refused", "account", c.account, "reason", fmt.Sprint(d.Refusal))
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

// deleteGateway handles a gateway Delete. A tenant-bound registration ends at once if the Delete
// comes from the resource that owns it and presents the tenant's token. Any other Delete proves
// nothing (a registration without a token has no secret to present): it asks for the role to be
// proven again, which ends the registration once the role is gone (CloudFormation deletes it right
// after the hook's answer). It returns the follow-up work, if any.
func (h *Hook) deleteGateway(ctx context.Context, account string, owner registry.Owner, e cfnresource.Event) func(context.Context) {
	rctx, cancel := bounded(ctx)
	defer cancel()
	st, err := h.Registry.Account(rctx, account)
	if err != nil {
		h.alert(ctx, alertDeleteFailed, "delete: the registry could not be read; nothing changed", "account", account, "error", err)
		return nil
	}
	g := st.Gateway
	if g == nil || !g.Status.Live() {
		h.log().InfoContext(ctx, "delete: no registration to end", "account", account)
		return nil
	}
	token, _ := e.ResourceProperties["TenantToken"].(string)
	if g.Tenant != "" && g.Owner == owner && h.tokenProves(rctx, *g, token) {
		st, err = h.Registry.Save(rctx, st, registry.Writes{Gateway: deregistered(*g, e.RequestID)})
		if err != nil {
			h.alert(ctx, alertDeleteFailed, "delete: the deregistration was not recorded", "account", account, "error", err)
			return nil
		}
		h.log().InfoContext(ctx, "deregistered", "account", account, "kind", registry.Gateway)
		h.retireKeysIfLast(rctx, st)
		return nil
	}
	if g.Tenant != "" {
		h.alert(ctx, alertUnprovenDelete, "a Delete proved nothing (not the owning resource, or not its tenant's token): "+
			"the role is checked again, and the registration ends only if it is gone", "account", account, "kind", registry.Gateway)
	}
	return h.startRecheck(rctx, st)
}

// tokenProves reports whether token proves the tenant of the gateway registration g: it is the token
// the role carries (compared by hash, in constant time), or another valid token of the same tenant.
func (h *Hook) tokenProves(ctx context.Context, g registry.Onboarding, token string) bool {
	if token == "" {
		return false
	}
	if g.TokenHash != "" && subtle.ConstantTimeCompare([]byte(g.TokenHash), []byte(registry.TokenHash(token))) == 1 {
		return true
	}
	tenant, ok, err := h.Registry.ResolveTenantToken(ctx, token)
	return err == nil && ok && tenant == g.Tenant
}
