package console_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/console"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/internal/registry/registrytest"
)

// Review: docs/backend.md says "A link is only ever made for an account the vendor already bound to
// the tenant". An ended management registration binds nothing (registry.BoundTenant), yet the
// console lets its former tenant make a link for it whatever happened to the account since: here
// the account moved to globex (globex's support-gateway stack registered it, and its registration
// ended later, restorable; or globex's stack is being proven right now). acme's "Make a link to
// deploy the stack again" binds the account to acme again (a PENDING management record): globex's
// new gateway stacks are then refused as a tenant conflict, and globex's restorable registration
// is never restored (hook.restore: "the account has the management stack now"). Before the
// console, only an operator (supportctl onboard) could do this. A former tenant should not re-bind,
// by self-service, an account another organization has claimed or registered since.
func TestReviewAFormerTenantCannotRebindAnAccountAnotherTenantTookOver(t *testing.T) {
	const handedOver = "555566667777"
	v := policy.DefaultVendor()
	role := v.GatewayRoleARN(policy.Target{Partition: "aws", AccountID: handedOver})
	for name, gateway := range map[string]*registry.Onboarding{
		"globex's registration ended after acme's": {Status: registry.Deregistered, Tenant: "globex", RoleARN: role, RoleID: "AROAGLOBEX"},
		"globex's stack is being proven":           {Status: registry.PendingProof, ClaimTenant: "globex", RoleARN: role},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			registrytest.Put(t, e.reg, handedOver, registry.Writes{
				Management: &registry.Onboarding{Status: registry.Deregistered, Tenant: "acme"},
				Gateway:    gateway,
			})
			b := e.browser()
			token := csrf(t, b.signIn("bob", bobPassword))
			p := b.post(console.Prefix+"accounts/"+handedOver+"/link", url.Values{"csrf": {token}}, nil)
			assert.Equal(t, http.StatusConflict, p.status, "acme re-binding an account globex took over")
			st, err := e.reg.Account(t.Context(), handedOver)
			require.NoError(t, err)
			bound, _ := st.BoundTenant()
			assert.Empty(t, bound, "the account stays bound to no one (acme's link binds it to acme)")
			assert.Equal(t, registry.Deregistered, st.Management.Status)
		})
	}
}
