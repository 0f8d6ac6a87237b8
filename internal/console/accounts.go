package console

import (
	"net/http"

	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// Status is where an account stands for support access, as its tenant sees it.
type Status string

const (
	// PendingOnboarding: the vendor issued the management-role link; no stack has registered yet.
	PendingOnboarding Status = "pending-onboarding"
	// PendingProof: a support-gateway stack claimed the account with the tenant's token; the vendor
	// has not proven its role yet.
	PendingProof Status = "pending-proof"
	// Active: engineers can request access, and the tenant decides.
	Active Status = "active"
	// NeedsRepair: registered, but STS refused the support role at the last check.
	NeedsRepair Status = "needs-repair"
	// NeedsAttention: the account cannot be used; Reason says why and what to do.
	NeedsAttention Status = "needs-attention"
	// Removed: the stack was deleted; nothing is registered any more.
	Removed Status = "removed"
)

// statusText is each status as the page says it.
var statusText = map[Status]string{
	PendingOnboarding: "Pending onboarding",
	PendingProof:      "Pending proof",
	Active:            "Active",
	NeedsRepair:       "Needs repair",
	NeedsAttention:    "Needs attention",
	Removed:           "Removed",
}

// Account is one row of the accounts page.
type Account struct {
	ID     string
	Status Status
	// Reason says what the status means for the tenant, and what to do ("" when nothing is to do).
	Reason string
	Kind   registry.Kind // the stack: the management role, or the support gateway
	// TemplateVersion is the registered stack's template version ("" if it sent none); Newer says
	// a newer one is published (policy.TemplateVersion).
	TemplateVersion string
	Newer           bool
	// SupportRole is the role engineers' sessions use in the account.
	SupportRole string
}

// StatusText is the status as the page says it.
func (a Account) StatusText() string { return statusText[a.Status] }

// KindText is the stack as the page names it.
func (a Account) KindText() string {
	if a.Kind == registry.Gateway {
		return "Support gateway (your stack deploys the support role)"
	}
	return "Management role (the vendor provisions the support role)"
}

// Gateway reports whether the account's stack is the support gateway.
func (a Account) Gateway() bool { return a.Kind == registry.Gateway }

// Usable reports whether engineers can get access to the account, and its tenant reads its log.
func (a Account) Usable() bool { return a.Status == Active || a.Status == NeedsRepair }

// AccountView is account st as tenant sees it, from the records that are tenant's alone: another
// tenant's records, claims and conflicts show nothing of themselves (not even that they exist),
// and an account tenant has no record of is not shown (ok false).
func AccountView(st registry.AccountState, tenant string, v policy.Vendor) (Account, bool) {
	a := Account{ID: st.AccountID}
	role := func(o *registry.Onboarding) string {
		t := policy.Target{Partition: "aws", AccountID: st.AccountID}
		if o.Kind == registry.Gateway {
			if o.RoleARN != "" {
				return o.RoleARN
			}
			return v.GatewayRoleARN(t)
		}
		return v.SupportRoleARN(t)
	}
	from := func(o *registry.Onboarding, s Status, reason string) (Account, bool) {
		a.Status, a.Reason, a.Kind, a.TemplateVersion, a.SupportRole = s, reason, o.Kind, o.TemplateVersion, role(o)
		a.Newer = o.TemplateVersion != "" && o.TemplateVersion != policy.TemplateVersion
		return a, true
	}
	if u, _, ok := st.Usable(); ok {
		if u.Tenant != tenant {
			return removed(st, tenant, from) // another tenant's now: only tenant's own ended records
		}
		rec := st.Record(u.Kind)
		if p := rec.Proof; p != nil && !p.RefusedSince.IsZero() {
			return from(rec, NeedsRepair, "STS refused the support role at the last check: make sure the stack and its role "+
				"are as deployed (not deleted or edited). If it is still refused at the next check, the registration ends.")
		}
		return from(rec, Active, "")
	}
	mine := func(o *registry.Onboarding) bool {
		return o != nil && (o.Tenant == tenant || (o.Tenant == "" && o.ClaimTenant == tenant))
	}
	for _, o := range []*registry.Onboarding{st.Gateway, st.Management} {
		if !mine(o) || (!o.Status.Live() && o.Status != registry.Rejected) {
			continue
		}
		// one of tenant's records is live, and the account is not usable: say why, as far as it is tenant's
		if c := st.Conflict; c != nil && c.Proven && c.Tenant == tenant {
			return from(o, NeedsAttention, "Another organization's stack claimed this account, so no one can use it until "+
				v.Name+" support resolves the conflict. Contact them.")
		}
		if _, agree := st.BoundTenant(); !agree {
			return from(o, NeedsAttention, "The account's registrations disagree, so no one can use it until "+
				v.Name+" support resolves it. Contact them.")
		}
		switch o.Status {
		case registry.Pending:
			return from(o, PendingOnboarding, "Deploy the management-role stack in CloudFormation from its quick-create link (on this "+
				"account's Configure page, or the one "+v.Name+" sent you). The account becomes active when the stack has registered.")
		case registry.PendingProof:
			return from(o, PendingProof, "The support-gateway stack registered the account; "+v.Name+" is proving its role, which "+
				"takes a few minutes.")
		case registry.Rejected:
			return from(o, NeedsAttention, "The support role the stack named could not be proven (it is missing, or does not trust "+
				v.Name+" for this account). Update or redeploy the support-gateway stack.")
		case registry.Unclaimed:
			return from(o, NeedsAttention, "The role's "+v.TenantTokenTag()+" tag is not a token issued to your organization, "+
				"so the account is not linked to you. Update the stack with your organization's TenantToken.")
		}
	}
	return removed(st, tenant, from)
}

// removed is account st as tenant sees it when none of its records is live: a registration of
// tenant's that ended, or nothing.
func removed(st registry.AccountState, tenant string, from func(*registry.Onboarding, Status, string) (Account, bool)) (Account, bool) {
	for _, o := range []*registry.Onboarding{st.Gateway, st.Management} {
		if o != nil && o.Tenant == tenant && o.Status == registry.Deregistered {
			return from(o, Removed, "The stack was deleted: support access ended. Deploy it again to restore it.")
		}
	}
	return Account{}, false
}

// tenantAccounts are the accounts tenant sees, in account order.
func (c *Console) tenantAccounts(r *http.Request, tenant string) ([]Account, error) {
	states, err := c.cfg.Registry.TenantAccounts(r.Context(), tenant)
	if err != nil {
		return nil, err
	}
	var out []Account
	for _, st := range states {
		if a, ok := AccountView(st, tenant, c.cfg.Vendor); ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// accountsPage is the accounts page's data.
type accountsPage struct {
	Accounts []Account
	Latest   string // the published template version
}

// accounts is the accounts page: every account of the tenant's, with its support status.
func (c *Console) accounts(w http.ResponseWriter, r *http.Request, s *session) {
	list, err := c.tenantAccounts(r, s.tenant)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.render(w, r, s, http.StatusOK, "accounts", "Accounts", "accounts", accountsPage{Accounts: list, Latest: policy.TemplateVersion})
}
