package e2e

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// TestManagementRoleStackLifecycle plays a customer's management-role stack against the real hook
// binary: onboarding link, Create (through SNS), a duplicate delivery, Update, a second stack's
// failed Create and its rollback Delete, bad input, and the owner's Delete. Every response is read
// back from the pre-signed S3 URL it was PUT to, and the registry is checked after each step.
func TestManagementRoleStackLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, buildHook(t))
	ctx := context.Background()
	ext := e.onboard(t, customerAccount)
	props := e.deployManagementRole(t, customerAccount, ext)
	stack := stackARN(customerAccount, "doit-management-role")
	wantID := "doit-support-gateway:management:" + customerAccount

	status := func() registry.Onboarding {
		o, found, err := e.reg.Get(ctx, customerAccount, registry.Management)
		require.NoError(t, err)
		require.True(t, found)
		return o
	}
	assert.Equal(t, registry.Pending, status().Status)

	// Create, delivered through SNS
	create := e.newRequest(t, "Create", stack, "req-create", props)
	e.invoke(t, viaSNS(t, create))
	res, ok := e.answer(t, create.RequestID)
	require.True(t, ok, "the hook answered")
	assert.Equal(t, "SUCCESS", res.Status, res.Reason)
	assert.Equal(t, wantID, res.PhysicalResourceID)
	assert.Equal(t, stack, res.StackID)
	assert.Equal(t, "Hook", res.LogicalResourceID)
	o := status()
	assert.Equal(t, registry.Registered, o.Status)
	assert.Equal(t, stack, o.StackID)
	assert.Equal(t, "arn:aws:iam::111122223333:role/DoiT_Management_Role_DO-NOT-DELETE", o.RoleARN)
	assert.Equal(t, policy.TemplateVersion, o.TemplateVersion)
	// the account holds exactly what the vendor manages, as desired
	d, got := e.customerState(t, customerAccount, policy.Features{}, policy.TemplateVersion)
	assert.Empty(t, gateway.Plan(d, got, gateway.Present), "providers, role, policy and attachments exist as desired")
	assert.Equal(t, map[string]string{
		"SupportRoleArn":             "arn:aws:iam::111122223333:role/doit-support/DoiT-Support",
		"PrimaryIdentityProviderArn": "arn:aws:iam::111122223333:oidc-provider/oidc.aws-ops.doit-intl.com/accounts/111122223333",
		"StandbyIdentityProviderArn": "arn:aws:iam::111122223333:oidc-provider/oidc-standby.aws-ops.doit-intl.com/accounts/111122223333",
	}, res.Data)
	jwks, err := e.issuer(t).JWKS(ctx, customerAccount)
	require.NoError(t, err)
	require.Len(t, jwks.Keys, 1, "the account has its own signing key, published")
	assert.Equal(t, "ES256", jwks.Keys[0].Alg)

	// the same event again (SNS and Lambda deliver at least once), directly this time
	dup := create
	dup.RequestID, dup.ResponseURL = "req-create-dup", e.newRequest(t, "Create", stack, "req-create-dup", props).ResponseURL
	e.invoke(t, direct(t, dup))
	res, _ = e.answer(t, dup.RequestID)
	assert.Equal(t, "SUCCESS", res.Status, res.Reason)
	assert.Equal(t, wantID, res.PhysicalResourceID)

	// Update: a new template version that switches the diagnostic tool on rolls the policy; same ID
	newProps := maps.Clone(props)
	newProps["TemplateVersion"] = "next"
	newProps["DiagnosticTool"] = "true"
	update := e.newRequest(t, "Update", stack, "req-update", newProps)
	update.PhysicalResourceID, update.OldResourceProperties = wantID, props
	e.invoke(t, direct(t, update))
	res, _ = e.answer(t, update.RequestID)
	assert.Equal(t, "SUCCESS", res.Status, res.Reason)
	assert.Equal(t, wantID, res.PhysicalResourceID)
	assert.Equal(t, "next", status().TemplateVersion)
	d, got = e.customerState(t, customerAccount, policy.Features{Diagnostic: true}, "next")
	assert.Empty(t, gateway.Plan(d, got, gateway.Present), "the policy rolled to the new document")
	assert.Len(t, got.Policy.Versions, 2)

	// a second stack in the same account without the account's ExternalId cannot take the registration,
	// and its reason names no other stack
	other := stackARN(customerAccount, "doit-management-role-eu")
	forged := maps.Clone(props)
	forged["ExternalId"] = "ext-guessed-guessed-guessed"
	taken := e.newRequest(t, "Create", other, "req-other", forged)
	e.invoke(t, viaSNS(t, taken))
	res, _ = e.answer(t, taken.RequestID)
	assert.Equal(t, "FAILED", res.Status)
	assert.Contains(t, res.Reason, "does not match the one issued")
	assert.NotContains(t, res.Reason, stack)
	assert.True(t, cfnresource.IsFailedCreateID(res.PhysicalResourceID), "a failed Create answers with the marker ID")
	// ... and its rollback Delete succeeds at once, changing nothing
	rollback := e.newRequest(t, "Delete", other, "req-other-delete", forged)
	rollback.PhysicalResourceID = res.PhysicalResourceID
	e.invoke(t, direct(t, rollback))
	res, _ = e.answer(t, rollback.RequestID)
	assert.Equal(t, "SUCCESS", res.Status, res.Reason)
	assert.Equal(t, stack, status().StackID)

	// bad input: an account mismatch is refused with a reason; nothing changes
	spoof := maps.Clone(props)
	spoof["AccountId"] = "444455556666"
	bad := e.newRequest(t, "Update", stack, "req-spoof", spoof)
	bad.PhysicalResourceID, bad.OldResourceProperties = wantID, newProps
	e.invoke(t, direct(t, bad))
	res, _ = e.answer(t, bad.RequestID)
	assert.Equal(t, "FAILED", res.Status)
	assert.Contains(t, res.Reason, "accounts disagree")
	assert.Equal(t, wantID, res.PhysicalResourceID, "a failed Update keeps the old ID")
	assert.Equal(t, "next", status().TemplateVersion)

	// a ResponseURL on a foreign host is dropped: nothing is answered, nothing stored
	foreign := e.newRequest(t, "Create", other, "req-foreign", forged)
	foreign.ResponseURL = "https://attacker.example.com/collect?X-Amz-Signature=abc"
	e.invoke(t, direct(t, foreign))
	_, answered := e.answer(t, foreign.RequestID)
	assert.False(t, answered)
	assert.Equal(t, stack, status().StackID)

	// malformed JSON: nowhere to answer, logged and dropped, the function keeps serving
	e.invoke(t, []byte(`{"RequestType": "Create", `))

	// the customer's own role, next to ours
	c := iam.NewFromConfig(e.customer(t, customerAccount))
	_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("Admin"), AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`)})
	require.NoError(t, err)

	// the owner's Delete removes everything of the vendor's and deregisters
	del := e.newRequest(t, "Delete", stack, "req-delete", newProps)
	del.PhysicalResourceID = wantID
	e.invoke(t, viaSNS(t, del))
	res, _ = e.answer(t, del.RequestID)
	assert.Equal(t, "SUCCESS", res.Status, res.Reason)
	assert.Equal(t, registry.Deregistered, status().Status)
	assert.Empty(t, status().Leftovers)
	_, err = e.issuer(t).JWKS(ctx, customerAccount)
	assert.ErrorIs(t, err, issuer.ErrOffboarded, "the account's keys are retired with its last registration")
	d, got = e.customerState(t, customerAccount, policy.Features{Diagnostic: true}, "next")
	assert.Empty(t, gateway.Plan(d, got, gateway.Absent), "nothing of the vendor's is left")
	for _, name := range []string{"Admin", "DoiT_Management_Role_DO-NOT-DELETE"} {
		_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		assert.NoError(t, err, "%s is untouched (CloudFormation deletes the management role itself, after the hook)", name)
	}

	logs := e.fn.Logs()
	assert.NotContains(t, logs, "X-Amz-Signature", "pre-signed URLs are never logged")
	assert.NotContains(t, logs, ext, "ExternalIds are never logged")
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		assert.True(t, strings.HasPrefix(line, "{"), "every log line is JSON: %s", line)
	}
}

// An event from a stack whose onboarding was never started, or with another ExternalId, is refused
// and stores nothing.
func TestUnknownExternalIDIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, buildHook(t))
	ext := e.onboard(t, customerAccount)
	props := e.deployManagementRole(t, customerAccount, ext)
	forged := maps.Clone(props)
	forged["ExternalId"] = "ext-forged-by-somebody-else"
	r := e.newRequest(t, "Create", stackARN(customerAccount, "doit-management-role"), "req-forged", forged)
	e.invoke(t, viaSNS(t, r))
	res, ok := e.answer(t, r.RequestID)
	require.True(t, ok)
	assert.Equal(t, "FAILED", res.Status)
	assert.Contains(t, res.Reason, "does not match the one issued")
	o, _, err := e.reg.Get(context.Background(), customerAccount, registry.Management)
	require.NoError(t, err)
	assert.Equal(t, registry.Pending, o.Status)
}
