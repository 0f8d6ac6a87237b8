package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAccountStateBinding(t *testing.T) {
	reg := func(s Status, tenant string) *Onboarding { return &Onboarding{Status: s, Tenant: tenant} }
	tests := map[string]struct {
		st         AccountState
		bound      string
		agree      bool
		usable     bool
		usableKind Kind
	}{
		"nothing":                             {AccountState{}, "", true, false, ""},
		"a pending onboarding binds":          {AccountState{Management: reg(Pending, "acme")}, "acme", true, false, ""},
		"a pending proof binds nothing":       {AccountState{Gateway: reg(PendingProof, "acme")}, "", true, false, ""},
		"registered management":               {AccountState{Management: reg(Registered, "acme")}, "acme", true, true, Management},
		"registered gateway first":            {AccountState{Management: reg(Registered, "acme"), Gateway: reg(Registered, "acme")}, "acme", true, true, Gateway},
		"unclaimed is not usable":             {AccountState{Gateway: reg(Unclaimed, "")}, "", true, false, ""},
		"deregistered does not bind":          {AccountState{Management: reg(Deregistered, "acme"), Gateway: reg(Registered, "globex")}, "globex", true, true, Gateway},
		"rejected does not bind":              {AccountState{Gateway: reg(Rejected, "globex")}, "", true, false, ""},
		"two tenants: unusable":               {AccountState{Management: reg(Registered, "acme"), Gateway: reg(Registered, "globex")}, "acme", false, false, ""},
		"a proven conflict makes it unusable": {AccountState{Management: reg(Registered, "acme"), Conflict: &Conflict{Proven: true}}, "acme", true, false, ""},
		"a claimed conflict does not":         {AccountState{Management: reg(Registered, "acme"), Conflict: &Conflict{}}, "acme", true, true, Management},
		"pending proof is never usable":       {AccountState{Management: reg(Registered, "acme"), Gateway: reg(PendingProof, "globex")}, "acme", true, true, Management},
		"registered with no tenant: unused":   {AccountState{Management: reg(Registered, "")}, "", true, false, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			bound, agree := tc.st.BoundTenant()
			assert.Equal(t, tc.bound, bound)
			assert.Equal(t, tc.agree, agree)
			o, why, ok := tc.st.Usable()
			assert.Equal(t, tc.usable, ok, why)
			if ok {
				assert.Equal(t, tc.usableKind, kindOf(tc.st, o))
			} else {
				assert.NotEmpty(t, why)
			}
		})
	}
}

func kindOf(st AccountState, o Onboarding) Kind {
	if st.Gateway != nil && st.Gateway.Status == o.Status && st.Gateway.Tenant == o.Tenant && st.Gateway.Status == Registered {
		return Gateway
	}
	return Management
}
