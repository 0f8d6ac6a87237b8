package broker_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/registry"
)

// REVIEW FINDING (low): after an account changes hands, the previous tenant still lists (and reads)
// what it can no longer reach by the account: its standing approval of the account (which it can
// no longer remove, and which approves again if the account comes back), and the account's
// requests from its time, in their live state; ?account= and the audit answer 404 for the same
// account.
func TestReviewPreviousTenantStillListsHandedOverAccount(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	ctx := t.Context()
	_, err := f.b.PreApprove(ctx, approver, acct, 30*time.Minute)
	require.NoError(t, err)
	r, err := f.b.Request(ctx, engineer, acct, ticket, "the deploys fail", time.Hour)
	require.NoError(t, err)
	require.Equal(t, broker.Approved, r.State)

	// acct is globex's now
	f.reg[acct+"/MANAGEMENT"] = registry.Onboarding{AccountID: acct, Kind: registry.Management, Tenant: "globex", Status: registry.Registered}

	status, _, _ := api.call("GET", "/pre-approvals?account="+acct, approver, "")
	assert.Equal(t, http.StatusNotFound, status)
	status, _, _ = api.call("GET", "/audit?account="+acct, approver, "")
	assert.Equal(t, http.StatusNotFound, status)
	status, _, _ = api.call("GET", "/requests?account="+acct, approver, "")
	assert.Equal(t, http.StatusNotFound, status)

	status, body, _ := api.call("GET", "/pre-approvals", approver, "")
	require.Equal(t, http.StatusOK, status)
	var got struct{ PreApprovals []broker.PreApproval }
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	accounts := []string{}
	for _, p := range got.PreApprovals {
		accounts = append(accounts, p.Account)
	}
	assert.NotContains(t, accounts, acct, "BREAK: a standing approval of an account acme no longer owns is listed to acme")
	status, _, _ = api.call("POST", "/accounts/"+acct+"/pre-approval", approver, `{"maxDuration":"0s"}`)
	assert.Equal(t, http.StatusNotFound, status, "and acme cannot remove it")

	assert.NotContains(t, ids(api.list("/requests", approver).Requests), r.ID,
		"BREAK: the handed-over account's requests stay in acme's list")
	status, _, _ = api.call("GET", "/requests/"+r.ID, approver, "")
	assert.Equal(t, http.StatusNotFound, status, "BREAK: and readable by ID")

	// the account comes back: acme's old standing approval approves at once
	f.reg[acct+"/MANAGEMENT"] = registry.Onboarding{AccountID: acct, Kind: registry.Management, Tenant: "acme", Status: registry.Registered}
	r2, err := f.b.Request(ctx, engineer, acct, "SUP-2", "again", time.Hour)
	require.NoError(t, err)
	assert.Equal(t, broker.Pending, r2.State, "BREAK: a standing approval from before the hand-over approves again")
}
