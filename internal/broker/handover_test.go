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

// After an account changes hands, the previous tenant reads nothing more of it, as with the audit:
// not its standing approval (which it could no longer remove), not the account's requests from its
// time, by list or by ID; and when the account comes back under a new stack, the old standing
// approval approves nothing (found in review).
func TestAHandedOverAccountIsThePreviousTenantsNoMore(t *testing.T) {
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
	assert.NotContains(t, accounts, acct, "a standing approval of an account acme no longer owns")
	status, _, _ = api.call("POST", "/accounts/"+acct+"/pre-approval", approver, `{"maxDuration":"0s"}`)
	assert.Equal(t, http.StatusNotFound, status, "and acme cannot remove it")

	assert.NotContains(t, ids(api.list("/requests", approver).Requests), r.ID,
		"the handed-over account's requests are not in acme's list")
	status, _, _ = api.call("GET", "/requests/"+r.ID, approver, "")
	assert.Equal(t, http.StatusNotFound, status, "nor readable by ID")

	// the account comes back to acme, under a new stack: the old standing approval approves nothing
	f.reg[acct+"/MANAGEMENT"] = registry.Onboarding{AccountID: acct, Kind: registry.Management, Tenant: "acme", Status: registry.Registered,
		Owner: registry.Owner{StackID: "arn:aws:cloudformation:us-east-1:" + acct + ":stack/DoiT-Support/again"}}
	r2, err := f.b.Request(ctx, engineer, acct, "SUP-2", "again", time.Hour)
	require.NoError(t, err)
	assert.Equal(t, broker.Pending, r2.State, "a standing approval from before the hand-over approves nothing")
	status, body, _ = api.call("GET", "/pre-approvals", approver, "")
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"preApprovals":[]}`, body, "nor is it listed")
	assert.Contains(t, ids(api.list("/requests", approver).Requests), r2.ID, "the account's new requests are acme's")
	assert.Contains(t, ids(api.list("/requests", approver).Requests), r.ID, "and so, again, is its earlier history")
}
