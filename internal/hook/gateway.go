package hook

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"

	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/registry"
)

// The support-gateway stack (seed 002) deploys the role itself. Its event proves nothing: the
// account is bound to a tenant only by that tenant's token, and counts as registered only once the
// backend has proven the role it names genuine (by assuming it with a token of the account's own
// issuer, RoleProver). The answer does not wait for the proof: the claim stays PENDING_PROOF, which
// grants nothing and never stands in the way of another stack's claim.

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

// gatewayDecision is what a gateway claim does to the account's records.
type gatewayDecision struct {
	Writes  registry.Writes
	Refusal error // the claim is answered FAILED with this (after Writes are saved)
	Prove   bool  // prove the role after answering
	Alert   string
}

// decideGateway is the pure rule for a gateway claim on account state st.
func (h *Hook) decideGateway(st registry.AccountState, c gatewayClaim) gatewayDecision {
	bound, agree := st.BoundTenant()
	switch {
	case !agree || (c.Tenant != "" && bound != "" && c.Tenant != bound):
		d := gatewayDecision{Refusal: h.conflictError(), Alert: alertTenantConflict}
		if st.Conflict == nil {
			d.Writes.Conflict = &registry.Conflict{Tenant: bound, Claimant: c.Tenant, Kind: registry.Gateway,
				StackID: c.StackID, RequestID: c.RequestID}
		}
		return d
	case c.Tenant == "" && bound != "":
		return gatewayDecision{Refusal: customerReason(fmt.Sprintf("this account is linked to a %s organization: deploy the stack "+
			"with your organization's TenantToken (from %s's console)", h.Vendor.Name, h.Vendor.Name)), Alert: alertUnprovenUpdate}
	}
	if m := st.Management; m != nil && m.Status == registry.Registered {
		return gatewayDecision{Refusal: h.otherTemplateError(registry.Management)}
	}

	g := st.Gateway
	next := registry.Onboarding{Tenant: c.Tenant, TokenHash: c.TokenHash, RoleARN: c.RoleARN, ProviderARNs: c.ProviderARNs,
		Runbooks: c.Runbooks, DiagnosticTool: c.Diagnostic, TemplateVersion: c.Version, Owner: c.Owner, LastRequestID: c.RequestID}
	sameOwner := g != nil && g.Status.Live() && g.Owner == c.Owner
	proven := sameOwner && (g.Status == registry.Registered || g.Status == registry.Unclaimed) && g.RoleARN == c.RoleARN
	switch {
	case proven:
		// The role is proven: an Update changes the options, and with a token claims an unclaimed account.
		next.Status, next.ClaimMarker, next.Proof = registry.Unclaimed, g.ClaimMarker, g.Proof
		if c.Tenant != "" {
			next.Status = registry.Registered
		}
		if sameGatewayRecord(*g, next) {
			return gatewayDecision{} // a repeat, or a rollback to what the registry holds: nothing changes
		}
		return gatewayDecision{Writes: registry.Writes{Gateway: &next}}
	case sameOwner && g.Status == registry.PendingProof && g.RoleARN == c.RoleARN:
		next.Status, next.ClaimMarker, next.Proof = registry.PendingProof, g.ClaimMarker, g.Proof
		if c.Create {
			next.ClaimMarker = c.Marker
		}
	default:
		// A new claim, or one taking over from another stack (never across tenants, see above):
		// proven afresh.
		next.Status, next.Proof = registry.PendingProof, &registry.ProofState{Reason: "waiting for the role to be proven"}
		if c.Create {
			next.ClaimMarker = c.Marker
		}
	}
	return gatewayDecision{Writes: registry.Writes{Gateway: &next}, Prove: true}
}

// sameGatewayRecord reports whether next changes nothing a stack controls in o.
func sameGatewayRecord(o, next registry.Onboarding) bool {
	return o.Status == next.Status && o.Tenant == next.Tenant && o.TokenHash == next.TokenHash && o.RoleARN == next.RoleARN &&
		slices.Equal(o.ProviderARNs, next.ProviderARNs) && o.Runbooks == next.Runbooks && o.DiagnosticTool == next.DiagnosticTool &&
		o.TemplateVersion == next.TemplateVersion && o.Owner == next.Owner
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
		return d.Writes, nil
	})
	if err != nil {
		return cfnresource.Result{}, fmt.Errorf("the registration could not be recorded, try again: %w", err)
	}
	if d.Alert != "" {
		h.alert(ctx, d.Alert, "a gateway claim was refused", "account", c.account, "reason", fmt.Sprint(d.Refusal))
	}
	if d.Refusal != nil {
		return cfnresource.Result{}, d.Refusal
	}
	res := cfnresource.Result{PhysicalResourceID: h.physicalID(registry.Gateway, c.account)}
	if d.Prove {
		h.log().InfoContext(ctx, "gateway claim recorded; proving its role next", "account", c.account, "claimed", gc.Tenant != "")
		account := c.account
		res.Then = func(ctx context.Context) { h.Prove(ctx, account) }
	} else {
		h.log().InfoContext(ctx, "gateway registration unchanged or updated", "account", c.account)
	}
	return res, nil
}

// deleteGateway handles a gateway Delete. A registration bound to a tenant ends only if the Delete
// comes from the resource that owns it and presents its tenant token. One without a token proved
// no secret, so no event can end it: the Delete starts a re-check, which ends it once its role is
// gone. It returns the follow-up work, if any.
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
	if g.Tenant == "" {
		return h.startRecheck(rctx, st)
	}
	token, _ := e.ResourceProperties["TenantToken"].(string)
	if g.Owner != owner || !h.tokenProves(rctx, *g, token) {
		h.alert(ctx, alertUnprovenDelete, "a Delete proved nothing (not the owning resource, or not its tenant's token): nothing changed",
			"account", account, "kind", registry.Gateway)
		return nil
	}
	st, err = h.Registry.Save(rctx, st, registry.Writes{Gateway: deregistered(*g, e.RequestID)})
	if err != nil {
		h.alert(ctx, alertDeleteFailed, "delete: the deregistration was not recorded", "account", account, "error", err)
		return nil
	}
	h.log().InfoContext(ctx, "deregistered", "account", account, "kind", registry.Gateway)
	h.retireKeysIfLast(rctx, st)
	return nil
}

// tokenProves reports whether token proves the tenant of the gateway registration g: it is the token
// the claim presented (compared by hash, in constant time), or another valid token of the same tenant.
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
