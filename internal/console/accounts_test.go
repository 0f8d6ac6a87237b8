package console_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/supportaccess/gateway/internal/console"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// An account's status as its tenant sees it, from the tenant's own records: another tenant's
// records, claims and conflicts never show, not even that they exist.
func TestAccountView(t *testing.T) {
	const account = "123412341234"
	v := policy.DefaultVendor()
	mgmt := func(s registry.Status, tenant string) *registry.Onboarding {
		return &registry.Onboarding{AccountID: account, Kind: registry.Management, Status: s, Tenant: tenant, TemplateVersion: policy.TemplateVersion}
	}
	gw := func(s registry.Status, tenant, claim string) *registry.Onboarding {
		return &registry.Onboarding{AccountID: account, Kind: registry.Gateway, Status: s, Tenant: tenant, ClaimTenant: claim,
			TemplateVersion: "2026.1.0", RoleARN: "arn:aws:iam::" + account + ":role/DoiT-Support-Gateway"}
	}
	refused := gw(registry.Registered, "acme", "acme")
	refused.Proof = &registry.ProofState{RefusedSince: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	for name, tc := range map[string]struct {
		st     registry.AccountState
		want   console.Status // "": not shown
		kind   registry.Kind
		reason string // a part of the reason
	}{
		"management registered":  {st: registry.AccountState{Management: mgmt(registry.Registered, "acme")}, want: console.Active, kind: registry.Management},
		"gateway registered":     {st: registry.AccountState{Gateway: gw(registry.Registered, "acme", "acme")}, want: console.Active, kind: registry.Gateway},
		"onboarding started":     {st: registry.AccountState{Management: mgmt(registry.Pending, "acme")}, want: console.PendingOnboarding, reason: "Deploy the management-role stack"},
		"claim waiting to prove": {st: registry.AccountState{Gateway: gw(registry.PendingProof, "", "acme")}, want: console.PendingProof, kind: registry.Gateway},
		"claim rejected":         {st: registry.AccountState{Gateway: gw(registry.Rejected, "", "acme")}, want: console.NeedsAttention, reason: "could not be proven"},
		"role refused by STS":    {st: registry.AccountState{Gateway: refused}, want: console.NeedsRepair, reason: "STS refused the support role"},
		"deleted":                {st: registry.AccountState{Management: mgmt(registry.Deregistered, "acme")}, want: console.Removed},
		"a proven conflict, acme's account": {st: registry.AccountState{Management: mgmt(registry.Registered, "acme"),
			Conflict: &registry.Conflict{Proven: true, Tenant: "acme", Claimant: "globex"}}, want: console.NeedsAttention, reason: "Another organization's stack claimed"},
		"an unproven conflict blocks nothing": {st: registry.AccountState{Management: mgmt(registry.Registered, "acme"),
			Conflict: &registry.Conflict{Tenant: "acme", Claimant: "globex"}}, want: console.Active},
		"registrations that disagree": {st: registry.AccountState{Management: mgmt(registry.Pending, "acme"), Gateway: gw(registry.Registered, "globex", "globex")},
			want: console.NeedsAttention, reason: "registrations disagree"},
		"globex's account":                         {st: registry.AccountState{Management: mgmt(registry.Registered, "globex")}},
		"globex's account, acme's claim on it":     {st: registry.AccountState{Gateway: gw(registry.Registered, "globex", "acme")}},
		"globex's now, acme's registration ended":  {st: registry.AccountState{Management: mgmt(registry.Deregistered, "acme"), Gateway: gw(registry.Registered, "globex", "globex")}, want: console.Removed},
		"acme's claim on an account in a conflict": {st: registry.AccountState{Management: mgmt(registry.Registered, "globex"), Gateway: gw(registry.PendingProof, "", "acme"), Conflict: &registry.Conflict{Proven: true, Tenant: "globex", Claimant: "acme"}}, want: console.PendingProof},
		"unclaimed, no tenant's":                   {st: registry.AccountState{Gateway: gw(registry.Unclaimed, "", "")}},
	} {
		t.Run(name, func(t *testing.T) {
			tc.st.AccountID = account
			got, ok := console.AccountView(tc.st, "acme", v)
			if tc.want == "" {
				assert.False(t, ok, "not shown: %+v", got)
				return
			}
			assert.True(t, ok)
			assert.Equal(t, tc.want, got.Status)
			assert.Equal(t, account, got.ID)
			assert.Contains(t, got.Reason, tc.reason)
			assert.NotContains(t, got.Reason, "globex")
			if tc.kind != "" {
				assert.Equal(t, tc.kind, got.Kind)
			}
			if got.Kind == registry.Gateway {
				assert.Equal(t, "arn:aws:iam::"+account+":role/DoiT-Support-Gateway", got.SupportRole)
				assert.True(t, got.Newer, "2026.1.0 is older than the published template")
			} else {
				assert.Equal(t, "arn:aws:iam::"+account+":role/doit-support/DoiT-Support", got.SupportRole)
				assert.False(t, got.Newer)
			}
		})
	}
}
