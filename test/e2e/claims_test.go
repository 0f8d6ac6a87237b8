package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/test/faultproxy"
)

// Issue 9: every hook event is an unproven claim. These tests forge events as an attacker would
// (SNS-wrapped, every scalar a string, through the real hook binary) and play customers' stacks
// from the committed templates; the function reaches AWS through the checking front end, so STS
// verifies the proofs' tokens against the JWKS the hook published and KMS enforces the key policies.

// sendSNS delivers r through the hook's topic and returns the answer the hook PUT.
func (e *env) sendSNS(t *testing.T, r request) response {
	t.Helper()
	e.invoke(t, viaSNS(t, r))
	res, ok := e.answer(t, r.RequestID)
	require.True(t, ok, "%s %s answered", r.RequestType, r.RequestID)
	return res
}

// A.1: a forged gateway Create for an account nobody deployed anything in. It is answered (the
// answer does not wait for the proof), proven after the answer, rejected because STS refuses the
// made-up role, and its key is retired at once; the customer's genuine stack, deployed afterwards,
// is proven and registered, with a token STS verified against the JWKS the hook published.
func TestForgedGatewayClaimIsRejectedAndTheGenuineOneProven(t *testing.T) {
	t.Parallel()
	e := newEnv(t, buildHook(t))
	const victim = "220000000001"
	props := map[string]any{"ServiceToken": hookTopic, "ServiceTimeout": "300", "RoleArn": "arn:aws:iam::" + victim + ":role/DoiT-Support-Gateway",
		"AccountId": victim, "TenantToken": "", "Runbooks": "false", "DiagnosticTool": "false", "TemplateVersion": policy.TemplateVersion,
		"ProviderArns": []any{
			"arn:aws:iam::" + victim + ":oidc-provider/oidc.aws-ops.doit-intl.com/accounts/" + victim,
			"arn:aws:iam::" + victim + ":oidc-provider/oidc-standby.aws-ops.doit-intl.com/accounts/" + victim}}
	forged := e.newRequest(t, "Create", "arn:aws:cloudformation:us-east-1:"+victim+":stack/anything/x", "req-forged", props)
	res := e.sendSNS(t, forged)
	assert.Equal(t, "SUCCESS", res.Status, res.Reason)

	o := e.gatewayStatus(t, victim)
	assert.Equal(t, registry.Rejected, o.Status, "the proof ran after the answer, in the same invocation")
	require.NotNil(t, o.Proof)
	assert.Contains(t, o.Proof.Reason, "does not exist, or does not trust DoiT's identity providers")
	assert.Equal(t, []string{"PendingDeletion"}, e.keyStates(t, victim), "the key the proof needed is retired")
	assert.False(t, e.published(t, victim), "and its documents withdrawn")
	refused := e.decisions("AssumeRoleWithWebIdentity")
	require.NotEmpty(t, refused)
	for _, d := range refused {
		assert.False(t, d.Allowed, "STS refused the made-up role: %s", d)
	}
	for _, d := range e.decisions("Sign") {
		assert.True(t, d.Allowed, "%s", d)
		assert.Contains(t, d.Principal, "assumed-role/DoiT-Support-Broker/", "the hook signs only through the signer role")
	}
	require.NotEmpty(t, e.decisions("Sign"))

	// the customer deploys the genuine stack
	genuine := e.newRequest(t, "Create", gatewayStack(victim, "doit-support-gateway"), "req-genuine", e.deployGateway(t, victim, ""))
	res = e.sendSNS(t, genuine)
	assert.Equal(t, "SUCCESS", res.Status, res.Reason)
	assert.Equal(t, "doit-support-gateway:gateway:"+victim, res.PhysicalResourceID)
	o = e.gatewayStatus(t, victim)
	assert.Equal(t, registry.Unclaimed, o.Status, "proven: %+v", o.Proof)
	assert.Equal(t, genuine.StackID, o.StackID)
	last := e.decisions("AssumeRoleWithWebIdentity")
	assert.True(t, last[len(last)-1].Allowed, "STS admitted the account's own token for the genuine role: %s", last[len(last)-1])
	assert.Equal(t, []string{"PendingDeletion", "Enabled"}, e.keyStates(t, victim), "a fresh key for the proven claim")
	assert.True(t, e.published(t, victim))

	// another DoiT customer, with its own valid token, claims the unclaimed account: the proof reads
	// the account's own role, whose tag names no organization, so nothing is bound
	globex, err := e.reg.IssueTenantToken(context.Background(), "globex")
	require.NoError(t, err)
	grab := e.newRequest(t, "Create", "arn:aws:cloudformation:us-east-1:"+victim+":stack/globex/x", "req-grab", e.deployedHookProps(t, victim, globex))
	assert.Equal(t, "SUCCESS", e.sendSNS(t, grab).Status, "a claim: answered, then proven")
	o = e.gatewayStatus(t, victim)
	assert.Equal(t, registry.Unclaimed, o.Status)
	assert.Empty(t, o.Tenant, "the account's own role names no organization")
	require.NotNil(t, o.Proof)
	assert.True(t, o.ProofDue && o.Proof.MismatchRetried, "the role is read once more minutes later (IAM is eventually consistent) before the claim counts as a mismatch")

	// the customer claims it for its organization: a stack Update of its TenantToken parameter
	// (CloudFormation tags the role, then notifies the hook)
	token, err := e.reg.IssueTenantToken(context.Background(), "acme")
	require.NoError(t, err)
	e.setGatewayToken(t, victim, token)
	claimed := maps.Clone(e.deployedHookProps(t, victim, token))
	up := e.newRequest(t, "Update", genuine.StackID, "req-claim", claimed)
	up.PhysicalResourceID, up.OldResourceProperties = res.PhysicalResourceID, genuine.ResourceProperties
	res = e.sendSNS(t, up)
	assert.Equal(t, "SUCCESS", res.Status, res.Reason)
	o = e.gatewayStatus(t, victim)
	assert.Equal(t, registry.Registered, o.Status)
	assert.Equal(t, "acme", o.Tenant)
	assert.NotContains(t, e.fn.Logs(), token, "tenant tokens are never logged")
}

// deployedHookProps are the Hook properties of a gateway stack already deployed in account, with
// another TenantToken (an Update of its parameter).
func (e *env) deployedHookProps(t testing.TB, account, token string) map[string]any {
	t.Helper()
	vendor := policy.DefaultVendor()
	target := policy.Target{Partition: "aws", AccountID: account}
	return map[string]any{"ServiceToken": hookTopic, "ServiceTimeout": "300", "RoleArn": vendor.GatewayRoleARN(target),
		"AccountId": account, "TenantToken": token, "Runbooks": "false", "DiagnosticTool": "false", "TemplateVersion": policy.TemplateVersion,
		"ProviderArns": []any{vendor.ProviderARN(target, 0), vendor.ProviderARN(target, 1)}}
}

// A.2: acme onboarded the account through the management stack; globex, with its own valid tenant
// token, claims it with a gateway Create. The claim fails with a reason that names the conflict and
// neither the other stack nor the other tenant; the account stays acme's and, since a claim alone
// proves nothing, stays usable: the refused claim is on record for operators as an unproven
// conflict (a proven conflict is unit-tested: TestProvenConflictSuspendsTheAccountUntilAnOperatorDecides).
func TestTenantTakeoverFailsAndMovesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, buildHook(t))
	const account = "230000000001"
	ext := e.onboard(t, account) // tenant-1 plays acme
	mgmt := e.newRequest(t, "Create", stackARN(account, "doit-management-role"), "req-acme", e.deployManagementRole(t, account, ext))
	require.Equal(t, "SUCCESS", e.sendSNS(t, mgmt).Status)

	globex, err := e.reg.IssueTenantToken(context.Background(), "globex")
	require.NoError(t, err)
	claim := e.newRequest(t, "Create", gatewayStack(account, "globex"), "req-globex", e.deployedHookProps(t, account, globex))
	res := e.sendSNS(t, claim)
	assert.Equal(t, "FAILED", res.Status)
	assert.Contains(t, res.Reason, "already linked to another DoiT organization")
	for _, s := range []string{"tenant-1", "globex", mgmt.StackID} {
		assert.NotContains(t, res.Reason, s)
	}
	st, err := e.reg.Account(context.Background(), account)
	require.NoError(t, err)
	require.NotNil(t, st.Conflict, "the refused claim is on record for operators")
	assert.False(t, st.Conflict.Proven, "a claim proves no conflict")
	assert.Equal(t, "globex", st.Conflict.Claimant)
	assert.Equal(t, claim.StackID, st.Conflict.StackID)
	assert.Nil(t, st.Gateway, "no claim recorded")
	assert.Equal(t, "tenant-1", st.Management.Tenant)
	assert.Equal(t, registry.Registered, st.Management.Status)
	o, _, usable := st.Usable()
	assert.True(t, usable)
	assert.Equal(t, "tenant-1", o.Tenant)
	assert.Contains(t, e.fn.Logs(), `"alert":"tenant_conflict"`, "operators are alerted")
}

// A.3 and A.4: the owner's StackId is readable by anyone who can describe the stack, so forged
// Updates and Deletes carrying it change nothing without the ExternalId: the vendor's support role
// stays in the customer's account, the options stay off, and operators are alerted.
func TestForgedManagementUpdatesAndDeletesChangeNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, buildHook(t))
	ctx := context.Background()
	props, stack, created := e.registeredManagementStack(t, customerAccount)

	flip := maps.Clone(props)
	flip["Runbooks"], flip["DiagnosticTool"], flip["ExternalId"] = "true", "true", "ext-guessed-guessed-guessed"
	up := e.newRequest(t, "Update", stack, "req-flip", flip)
	up.PhysicalResourceID, up.OldResourceProperties = created.PhysicalResourceID, props
	res := e.sendSNS(t, up)
	assert.Equal(t, "FAILED", res.Status)
	assert.Equal(t, created.PhysicalResourceID, res.PhysicalResourceID)
	d, o := e.customerState(t, customerAccount, policy.Features{}, policy.TemplateVersion)
	assert.Empty(t, gateway.Plan(d, o, gateway.Present), "the options stay off")

	for i, forged := range []map[string]any{
		func() map[string]any { p := maps.Clone(props); delete(p, "ExternalId"); return p }(),
		func() map[string]any {
			p := maps.Clone(props)
			p["ExternalId"] = "ext-guessed-guessed-guessed"
			return p
		}(),
	} {
		del := e.newRequest(t, "Delete", stack, fmt.Sprintf("req-forged-delete-%d", i), forged)
		del.PhysicalResourceID = created.PhysicalResourceID
		res = e.sendSNS(t, del)
		assert.Equal(t, "SUCCESS", res.Status, "a Delete that proves nothing answers SUCCESS")
	}
	_, err := iam.NewFromConfig(e.customer(t, customerAccount)).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("DoiT-Support")})
	assert.NoError(t, err, "the vendor's support role is still in the customer's account")
	reg, _, err := e.reg.Get(ctx, customerAccount, registry.Management)
	require.NoError(t, err)
	assert.Equal(t, registry.Registered, reg.Status)
	assert.Equal(t, 2, strings.Count(e.fn.Logs(), `"alert":"unproven_delete"`), "operators are alerted: a metric filter counts these lines")
	assert.Contains(t, e.fn.Logs(), `"alert":"unproven_update"`)

	// the owner's own Delete, with the ExternalId, still works
	del := e.newRequest(t, "Delete", stack, "req-delete", props)
	del.PhysicalResourceID = created.PhysicalResourceID
	require.Equal(t, "SUCCESS", e.sendSNS(t, del).Status)
	_, o = e.customerState(t, customerAccount, policy.Features{}, policy.TemplateVersion)
	assert.Empty(t, gateway.Plan(d, o, gateway.Absent))

	// A.6: the genuine Create replayed after the stack's deletion does not register again
	replay := e.newRequest(t, "Create", stack, "req-replay", props)
	res = e.sendSNS(t, replay)
	assert.Equal(t, "FAILED", res.Status)
	assert.Contains(t, res.Reason, "no onboarding was started")
	reg, _, err = e.reg.Get(ctx, customerAccount, registry.Management)
	require.NoError(t, err)
	assert.Equal(t, registry.Deregistered, reg.Status)
	_, o = e.customerState(t, customerAccount, policy.Features{}, policy.TemplateVersion)
	assert.Empty(t, gateway.Plan(d, o, gateway.Absent), "nothing was made")
}

// A.3 for gateway stacks: no event proves anything about a proven registration, not even one with
// the owner's StackId and the tenant token (readable on the role's tag). Forged Deletes only ask for
// the role to be checked again, and it is still there; forged option changes are read from the role,
// which has no such policy. The customer's own stack update turns an option on (the role's inline
// policy first, then the hook hears of it); the stack's deletion ends the registration once STS has
// refused the deleted role at two checks minutes apart (the second one a sweep's), and its key is
// retired once the registration can no longer be restored.
func TestForgedGatewayDeletesChangeNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, buildHook(t))
	token, err := e.reg.IssueTenantToken(context.Background(), "acme")
	require.NoError(t, err)
	props := e.deployGateway(t, customerAccount, token)
	stack := gatewayStack(customerAccount, "doit-support-gateway")
	created := e.sendSNS(t, e.newRequest(t, "Create", stack, "req-create", props))
	require.Equal(t, "SUCCESS", created.Status, created.Reason)
	require.Equal(t, registry.Registered, e.gatewayStatus(t, customerAccount).Status)

	for i, forged := range []map[string]any{
		func() map[string]any { p := maps.Clone(props); p["TenantToken"] = ""; return p }(),
		props, // the token read off the role's tag, the StackId off DescribeStacks
	} {
		del := e.newRequest(t, "Delete", stack, fmt.Sprintf("req-forged-delete-%d", i), forged)
		del.PhysicalResourceID = created.PhysicalResourceID
		assert.Equal(t, "SUCCESS", e.sendSNS(t, del).Status)
		o := e.gatewayStatus(t, customerAccount)
		assert.Equal(t, registry.Registered, o.Status, "the role is still there: %+v", o.Proof)
		assert.Equal(t, "acme", o.Tenant)
		assert.Equal(t, []string{"Enabled"}, e.keyStates(t, customerAccount))
	}

	flip := maps.Clone(props)
	flip["DiagnosticTool"] = "true"
	up := e.newRequest(t, "Update", stack, "req-forged-flip", flip)
	up.PhysicalResourceID, up.OldResourceProperties = created.PhysicalResourceID, props
	assert.Equal(t, "SUCCESS", e.sendSNS(t, up).Status)
	assert.False(t, e.gatewayStatus(t, customerAccount).DiagnosticTool, "the role has no diagnostics policy")

	// the customer turns the diagnostic tool on: a stack update
	on := e.setGatewayOptions(t, customerAccount, token, policy.Features{Diagnostic: true})
	up = e.newRequest(t, "Update", stack, "req-genuine-flip", on)
	up.PhysicalResourceID, up.OldResourceProperties = created.PhysicalResourceID, props
	assert.Equal(t, "SUCCESS", e.sendSNS(t, up).Status)
	o := e.gatewayStatus(t, customerAccount)
	assert.True(t, o.DiagnosticTool, "read from the role's inline policies: %+v", o.Proof)
	assert.False(t, o.Runbooks)

	// the customer deletes the stack: the hook answers, CloudFormation deletes the role
	genuine := e.newRequest(t, "Delete", stack, "req-delete", on)
	genuine.PhysicalResourceID = created.PhysicalResourceID
	assert.Equal(t, "SUCCESS", e.sendSNS(t, genuine).Status)
	e.removeGateway(t, customerAccount)
	sweeper, _ := e.vendorHook(t)
	for i := 1; i <= 6 && e.gatewayStatus(t, customerAccount).Status != registry.Deregistered; i++ {
		// a sweep every six minutes: two refusals end it (a check a loaded machine could not make
		// in its budget is only a check made later)
		at := time.Now().Add(time.Duration(i) * 6 * time.Minute)
		sweeper.Clock = func() time.Time { return at }
		require.NoError(t, sweeper.Sweep(context.Background(), io.Discard))
	}
	o = e.gatewayStatus(t, customerAccount)
	assert.Equal(t, registry.Deregistered, o.Status, "%+v", o.Proof)
	assert.Equal(t, []string{"Enabled"}, e.keyStates(t, customerAccount), "kept while a proof could restore the registration")
	// no role comes back: the sweep after the restore window ends it for good
	at := o.Proof.EndedAt.Add(registry.RestoreWindow + time.Hour)
	sweeper.Clock = func() time.Time { return at }
	require.NoError(t, sweeper.Sweep(context.Background(), io.Discard))
	assert.Equal(t, []string{"PendingDeletion"}, e.keyStates(t, customerAccount))
	assert.False(t, e.published(t, customerAccount), "its documents withdrawn")
}

// B.1: an account whose support-gateway stack is deployed is then given the management stack (its
// link was issued before). The management Create is refused with a reason the customer can act on;
// the gateway stack's providers stay, and its role still admits the account's tokens.
func TestManagementStackNeverTakesTheGatewayStacksProviders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, buildHook(t))
	ctx := context.Background()
	ext := e.onboard(t, customerAccount)
	token, err := e.reg.IssueTenantToken(ctx, "tenant-1")
	require.NoError(t, err)
	gw := e.newRequest(t, "Create", gatewayStack(customerAccount, "doit-support-gateway"), "req-gw", e.deployGateway(t, customerAccount, token))
	require.Equal(t, "SUCCESS", e.sendSNS(t, gw).Status)
	require.Equal(t, registry.Registered, e.gatewayStatus(t, customerAccount).Status)

	props := e.deployManagementRole(t, customerAccount, ext)
	mgmt := e.newRequest(t, "Create", stackARN(customerAccount, "doit-management-role"), "req-mgmt", props)
	res := e.sendSNS(t, mgmt)
	assert.Equal(t, "FAILED", res.Status)
	assert.Contains(t, res.Reason, "already has DoiT's support-gateway stack")
	rollback := e.newRequest(t, "Delete", mgmt.StackID, "req-mgmt-rollback", props)
	rollback.PhysicalResourceID = res.PhysicalResourceID
	assert.Equal(t, "SUCCESS", e.sendSNS(t, rollback).Status)

	c := iam.NewFromConfig(e.customer(t, customerAccount))
	for _, arn := range policy.DefaultVendor().ProviderARNs(policy.Target{Partition: "aws", AccountID: customerAccount}) {
		_, err := c.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
		assert.NoError(t, err, "the gateway stack's provider stays")
	}
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("DoiT-Support")})
	assert.Error(t, err, "the management flow made nothing")
	assert.Equal(t, registry.Registered, e.gatewayStatus(t, customerAccount).Status)
}

// B.1, the gateway stack's providers present but its claim never registered (a failed claim, a
// token-less stack before its proof): the management flow refuses before any change rather than
// adopting them, so neither its failed Create's undo nor a later Delete could delete them.
func TestManagementStackRefusesProvidersItDidNotCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, buildHook(t))
	ctx := context.Background()
	ext := e.onboard(t, customerAccount)
	e.deployGateway(t, customerAccount, "") // deployed, its hook's event never arrived
	props := e.deployManagementRole(t, customerAccount, ext)
	res := e.sendSNS(t, e.newRequest(t, "Create", stackARN(customerAccount, "doit-management-role"), "req-mgmt", props))
	assert.Equal(t, "FAILED", res.Status)
	assert.Contains(t, res.Reason, "already has DoiT's support-gateway stack")
	c := iam.NewFromConfig(e.customer(t, customerAccount))
	for _, arn := range policy.DefaultVendor().ProviderARNs(policy.Target{Partition: "aws", AccountID: customerAccount}) {
		_, err := c.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
		assert.NoError(t, err)
	}
	reg, _, err := e.reg.Get(ctx, customerAccount, registry.Management)
	require.NoError(t, err)
	assert.Empty(t, reg.Owned, "nothing recorded as the vendor's")
}

// B.2: a seed-000 stack (Hook properties RoleArn and AccountId only, a log-stream physical ID)
// updated to our template with a stale ExternalId fails; its rollback Update succeeds, same ID.
func TestSeed000StackRollbackSucceeds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, buildHook(t))
	ext := e.onboard(t, customerAccount)
	props := e.deployManagementRole(t, customerAccount, ext)
	stack := stackARN(customerAccount, "doit-management-role")
	const logStream = "2024/03/14/[$LATEST]6f1c0e7a9b2d4c3e8f5a6b7c8d9e0f1a"
	seed := map[string]any{"ServiceToken": hookTopic, "RoleArn": props["RoleArn"], "AccountId": customerAccount}
	stale := maps.Clone(props)
	stale["ExternalId"] = "ext-stale-stale-stale-stale"

	up := e.newRequest(t, "Update", stack, "req-upgrade", stale)
	up.PhysicalResourceID, up.OldResourceProperties = logStream, seed
	res := e.sendSNS(t, up)
	assert.Equal(t, "FAILED", res.Status)
	assert.Equal(t, logStream, res.PhysicalResourceID)

	back := e.newRequest(t, "Update", stack, "req-rollback", seed)
	back.PhysicalResourceID, back.OldResourceProperties = logStream, stale
	res = e.sendSNS(t, back)
	assert.Equal(t, "SUCCESS", res.Status, res.Reason)
	assert.Equal(t, logStream, res.PhysicalResourceID, "same physical ID: no replacement")
	reg, _, err := e.reg.Get(context.Background(), customerAccount, registry.Management)
	require.NoError(t, err)
	assert.Equal(t, registry.Pending, reg.Status, "nothing changed")
}

// B.3: a gateway Create fails while DynamoDB errors (FAILED, with the marker); its rollback Delete
// succeeds; the identical Create is then delivered again. It records nothing, and the customer's
// next stack succeeds.
func TestCreateRepeatedAfterItsRollbackDoesNothing(t *testing.T) {
	t.Parallel()
	e, proxy := newEnvWithFaults(t, buildHook(t))
	ctx := context.Background()
	token, err := e.reg.IssueTenantToken(ctx, "acme")
	require.NoError(t, err)
	props := e.deployGateway(t, customerAccount, token)
	stack := gatewayStack(customerAccount, "doit-support-gateway")
	create := e.newRequest(t, "Create", stack, "req-create", props)
	payload := viaSNS(t, create)

	proxy.Inject(faultproxy.Rule{Service: "dynamodb", Operation: "TransactWriteItems", Fault: faultproxy.AccessDenied})
	e.invoke(t, payload)
	res, _ := e.answer(t, create.RequestID)
	require.Equal(t, "FAILED", res.Status)
	require.True(t, cfnresource.IsFailedCreateID(res.PhysicalResourceID))
	proxy.Clear()

	rollback := e.newRequest(t, "Delete", stack, "req-rollback", props)
	rollback.PhysicalResourceID = res.PhysicalResourceID
	require.Equal(t, "SUCCESS", e.sendSNS(t, rollback).Status)
	e.removeGateway(t, customerAccount)

	inv := e.invoke(t, payload) // SNS delivers the identical Create again
	assert.Nil(t, inv.Error, "not a function error Lambda would retry")
	res, _ = e.answer(t, create.RequestID)
	assert.Equal(t, "FAILED", res.Status)
	assert.Contains(t, res.Reason, "already rolled this request back")
	assert.Empty(t, e.gatewayStatus(t, customerAccount).Status, "the repeat recorded nothing")

	next := e.newRequest(t, "Create", gatewayStack(customerAccount, "doit-support-gateway-2"), "req-next", e.deployGateway(t, customerAccount, token))
	res = e.sendSNS(t, next)
	assert.Equal(t, "SUCCESS", res.Status, res.Reason)
	o := e.gatewayStatus(t, customerAccount)
	assert.Equal(t, registry.Registered, o.Status)
	assert.Equal(t, next.StackID, o.StackID)
}

// B.4: a management Delete while DynamoDB accepts the connection and never answers is answered
// SUCCESS before the Lambda's deadline (never FAILED "timed out"), and the repair finds the account
// later: the stack's management role is gone, so it is offboarded with what was left behind.
func TestDeleteWhileTheRegistryHangsStillSucceeds(t *testing.T) {
	t.Parallel()
	e, proxy := newEnvWithFaults(t, buildHook(t))
	ctx := context.Background()
	props, stack, created := e.registeredManagementStack(t, customerAccount)

	proxy.Inject(faultproxy.Rule{Service: "dynamodb", Fault: faultproxy.Timeout})
	del := e.newRequest(t, "Delete", stack, "req-delete", props)
	del.PhysicalResourceID = created.PhysicalResourceID
	start := time.Now()
	inv, err := e.fn.Invoke(ctx, viaSNS(t, del), 12*time.Second)
	require.NoError(t, err)
	require.Nil(t, inv.Error)
	proxy.Clear()
	res, ok := e.answer(t, del.RequestID)
	require.True(t, ok)
	assert.Equal(t, "SUCCESS", res.Status, "whatever DynamoDB does, the stack deletion is never blocked")
	assert.Less(t, time.Since(start), 12*time.Second)
	assert.Contains(t, e.fn.Logs(), `"alert":"delete_incomplete"`)

	// CloudFormation deletes the management role after the hook answered
	c := iam.NewFromConfig(e.customer(t, customerAccount))
	_, err = c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("DoiT_Management_Role_DO-NOT-DELETE"),
		PolicyName: aws.String("DoiT_Customer_Policy_DO-NOT-DELETE")})
	require.NoError(t, err)
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("DoiT_Management_Role_DO-NOT-DELETE")})
	require.NoError(t, err)

	h, p := e.vendorHook(t)
	var out strings.Builder
	require.NoError(t, h.Repair(ctx, p, nil, false, &out))
	assert.Contains(t, out.String(), customerAccount+"\tROLE_GONE")
	reg, _, err := e.reg.Get(ctx, customerAccount, registry.Management)
	require.NoError(t, err)
	assert.Equal(t, registry.Deregistered, reg.Status)
	assert.Len(t, reg.Leftovers, 4, "what the vendor could not remove is on record")
	assert.Equal(t, []string{"PendingDeletion"}, e.keyStates(t, customerAccount), "no token for the account can be minted any more")
}

// B.5: a request SNS delivered late. Its claims (the notification's Timestamp, the URL's signing
// time) say CloudFormation stops waiting in seconds, so the watchdog answers then, not when the
// hook's own 20 s budget for a refusing role runs out; a request it has stopped waiting for does
// nothing.
func TestLateDeliveriesAreAnsweredBeforeCloudFormationGivesUp(t *testing.T) {
	t.Parallel()
	e, proxy := newEnvWithFaults(t, buildHook(t))
	ext := e.onboard(t, customerAccount)
	props := e.deployManagementRole(t, customerAccount, ext)
	proxy.Inject(faultproxy.Rule{Service: "sts", Operation: "AssumeRole", Fault: faultproxy.AccessDenied})
	r := e.newRequest(t, "Create", stackARN(customerAccount, "doit-management-role"), "req-late", props)
	sent := time.Now().Add(-300*time.Second + 8*time.Second) // ServiceTimeout 300: 8 s left
	start := time.Now()
	e.invoke(t, viaSNSAt(t, r, sent))
	res, ok := e.answer(t, r.RequestID)
	require.True(t, ok)
	assert.Equal(t, "FAILED", res.Status, "the watchdog's deadline reached the handler: it gave up in time")
	assert.Less(t, time.Since(start), 8*time.Second, "answered before CloudFormation stopped waiting, not after the 20 s budget")

	gaveUp := e.newRequest(t, "Create", stackARN(customerAccount, "doit-management-role"), "req-gave-up", props)
	proxy.Clear()
	proxy.ResetCalls()
	e.invoke(t, viaSNSAt(t, gaveUp, time.Now().Add(-301*time.Second)))
	res, _ = e.answer(t, gaveUp.RequestID)
	assert.Contains(t, res.Reason, "too late")
	for _, c := range proxy.Calls() {
		assert.Equal(t, "s3", c.Service, "no work: only the answer (%s %s)", c.Service, c.Operation)
	}
	o, _, err := e.reg.Get(context.Background(), customerAccount, registry.Management)
	require.NoError(t, err)
	assert.Equal(t, registry.Pending, o.Status)
}

// B.6: two records in one SNS invocation are both answered.
func TestEveryRecordOfAnSNSInvocationIsAnswered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, buildHook(t))
	ext := e.onboard(t, customerAccount)
	one := e.newRequest(t, "Create", stackARN(customerAccount, "doit-management-role"), "req-one", e.deployManagementRole(t, customerAccount, ext))
	two := e.newRequest(t, "Create", gatewayStack("220000000002", "x"), "req-two", e.deployedHookProps(t, "220000000002", "tt-not-issued"))
	var a, b map[string]any
	require.NoError(t, json.Unmarshal(viaSNS(t, one), &a))
	require.NoError(t, json.Unmarshal(viaSNS(t, two), &b))
	a["Records"] = append(a["Records"].([]any), b["Records"].([]any)...)
	payload, err := json.Marshal(a)
	require.NoError(t, err)
	e.invoke(t, payload)
	res, ok := e.answer(t, one.RequestID)
	require.True(t, ok)
	assert.Equal(t, "SUCCESS", res.Status, res.Reason)
	res, ok = e.answer(t, two.RequestID)
	require.True(t, ok)
	assert.Equal(t, "FAILED", res.Status)
	assert.Contains(t, res.Reason, "TenantToken is not one DoiT issued")
}

// A.5: forged token-less Creates for made-up accounts cost the vendor at most the hourly pace in
// keys; the rest wait in the queue, answered SUCCESS; every key whose proof failed is retired.
func TestForgedClaimFloodIsPaced(t *testing.T) {
	t.Parallel()
	// the budget must let at least one STS attempt finish on a loaded machine: a proof none of whose
	// attempts finished proves nothing, and stays pending (with its key) rather than rejected
	e := newEnv(t, buildHook(t), "UNPROVEN_CLAIMS_PER_HOUR=3", "PROPAGATION_BUDGET=6s")
	var accounts []string
	for i := range 8 {
		account := fmt.Sprintf("2200000100%02d", i)
		accounts = append(accounts, account)
		r := e.newRequest(t, "Create", gatewayStack(account, "x"), "req-flood-"+account, e.deployedHookProps(t, account, ""))
		assert.Equal(t, "SUCCESS", e.sendSNS(t, r).Status)
	}
	keys, queued := 0, 0
	for _, a := range accounts {
		o := e.gatewayStatus(t, a)
		states := e.keyStates(t, a)
		keys += len(states)
		switch o.Status {
		case registry.Rejected:
			assert.Equal(t, []string{"PendingDeletion"}, states, "retired as soon as its proof failed")
		case registry.PendingProof:
			queued++
			assert.Empty(t, states, "no key for a queued claim")
			assert.Contains(t, o.Proof.Reason, "queued")
		default:
			t.Errorf("account %s: %s", a, o.Status)
		}
	}
	assert.Equal(t, 3, keys, "the hour's pace")
	assert.Equal(t, 5, queued)
}

// A.7: an empty top-level ServiceToken no longer skips the check.
func TestEmptyTopLevelServiceTokenIsChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, buildHook(t))
	props := e.deployedHookProps(t, "220000000003", "")
	props["ServiceToken"] = "arn:aws:sns:us-east-1:444455556666:someone-elses-topic"
	r := e.newRequest(t, "Create", gatewayStack("220000000003", "x"), "req-token", props)
	r.ServiceToken = ""
	res := e.sendSNS(t, r)
	assert.Equal(t, "FAILED", res.Status)
	assert.Contains(t, res.Reason, "ServiceToken is not DoiT's")
	assert.Empty(t, e.gatewayStatus(t, "220000000003").Status)
}
