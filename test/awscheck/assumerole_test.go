package awscheck_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/policy"
)

// customer is a fresh customer account with the management role the hook Lambda assumes.
type customer struct {
	account    string
	admin      aws.Config
	externalID string
	mgmtARN    string
}

func newCustomer(t *testing.T, e env) customer {
	t.Helper()
	c := customer{account: uniqueAccount(), externalID: "ext-" + uniqueName("id")}
	var err error
	c.admin, err = e.moto.Config(t.Context(), c.account)
	require.NoError(t, err)
	target := policy.Target{Partition: "aws", AccountID: c.account}
	c.mgmtARN = createRole(t, c.admin, vendor.ManagementRoleName(), "", vendor.ManagementTrust(target, vendorAccount, c.externalID))
	return c
}

func TestAssumeRoleManagementTrust(t *testing.T) {
	e := newEnv(t)
	c := newCustomer(t, e)
	tests := map[string]struct {
		key        string
		externalID *string
		allowed    bool
		reason     string // in the decision's Reason
		caller     string // named in the refusal
	}{
		"backend with the ExternalId": {key: backendKey, externalID: aws.String(c.externalID), allowed: true,
			reason: "allowed by statement VendorBackendWithExternalId"},
		"backend with another ExternalId": {key: backendKey, externalID: aws.String(c.externalID + "x"),
			reason: "condition StringEquals sts:ExternalId not met", caller: backendARN},
		"backend without ExternalId": {key: backendKey,
			reason: "condition StringEquals sts:ExternalId not met", caller: backendARN},
		"another principal with the ExternalId": {key: bystanderKey, externalID: aws.String(c.externalID),
			reason: "principal does not match", caller: bystanderARN},
		"unknown key with the ExternalId": {key: unknownKey, externalID: aws.String(c.externalID),
			reason: "caller unknown", caller: "anonymous"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			edit := func(in *sts.AssumeRoleInput) { in.ExternalId = tt.externalID }
			out, err := assumeRole(t.Context(), e.asKey(tt.key), c.mgmtARN, edit)
			d := e.lastDecision(t)
			assert.Equal(t, tt.allowed, d.Allowed)
			assert.Equal(t, c.mgmtARN, d.Target)
			assert.Contains(t, d.Reason, tt.reason)
			if tt.allowed {
				require.NoError(t, err)
				assert.NotEmpty(t, aws.ToString(out.Credentials.AccessKeyId))
				return
			}
			assert.Equal(t, apiError{403, "AccessDenied",
				"User: " + tt.caller + " is not authorized to perform: sts:AssumeRole on resource: " + c.mgmtARN}, apiErrorOf(t, err))
			_, err = assumeRole(t.Context(), e.direct(tt.key), c.mgmtARN, edit)
			assert.NoError(t, err, "moto alone admits the call")
		})
	}
	assert.NotContains(t, decisionsText(e), c.externalID, "the ExternalId is never in a decision")
}

func decisionsText(e env) string {
	var b strings.Builder
	for _, d := range e.check.Decisions() {
		b.WriteString(d.String() + "\n")
	}
	return b.String()
}

func TestAssumeRoleMissingRole(t *testing.T) {
	e := newEnv(t)
	for _, account := range []string{vendorAccount, uniqueAccount()} {
		missing := "arn:aws:iam::" + account + ":role/" + uniqueName("missing")
		_, err := assumeRole(t.Context(), e.asKey(backendKey), missing)
		assert.Equal(t, apiError{403, "AccessDenied",
			"User: " + backendARN + " is not authorized to perform: sts:AssumeRole on resource: " + missing}, apiErrorOf(t, err))
		assert.Contains(t, e.lastDecision(t).Reason, "no role")
		_, err = assumeRole(t.Context(), e.direct(backendKey), missing)
		assert.NoError(t, err, "moto alone admits a role that does not exist")
	}
}

// TestAssumeRoleSessionIsRecognised follows credentials the front end saw STS hand out: they work
// against moto, and later calls signed with them are the role's session.
func TestAssumeRoleSessionIsRecognised(t *testing.T) {
	e := newEnv(t)
	c := newCustomer(t, e)
	out, err := assumeRole(t.Context(), e.asKey(backendKey), c.mgmtARN, withExternalID(c.externalID))
	require.NoError(t, err)
	session := e.asSession(out)
	sessionARN := "arn:aws:sts::" + c.account + ":assumed-role/" + vendor.ManagementRoleName() + "/awscheck-test"

	id, err := sts.NewFromConfig(session).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err, "the credentials work against moto, through the front end")
	assert.Equal(t, sessionARN, aws.ToString(id.Arn))

	// A role that trusts the management role, and only it.
	trustsMgmt := policy.NewDocument(policy.Statement{Effect: policy.Allow, Principal: &policy.Principal{AWS: policy.Strings{c.mgmtARN}},
		Action: policy.Strings{"sts:AssumeRole"}})
	next := createRole(t, c.admin, uniqueName("next"), "", trustsMgmt)
	_, err = assumeRole(t.Context(), session, next)
	require.NoError(t, err, "the management role's session is admitted")
	d := e.lastDecision(t)
	assert.True(t, d.Allowed)
	assert.Equal(t, sessionARN, d.Principal)

	_, err = assumeRole(t.Context(), e.asKey(backendKey), next)
	assert.Equal(t, "AccessDenied", apiErrorOf(t, err).code, "the backend itself is not the management role")
}

func TestAssumeRoleWithPath(t *testing.T) {
	e := newEnv(t)
	c := newCustomer(t, e)
	trustsBackend := policy.NewDocument(policy.Statement{Effect: policy.Allow, Principal: &policy.Principal{AWS: policy.Strings{backendARN}},
		Action: policy.Strings{"sts:AssumeRole"}})
	name := uniqueName("pathed")
	pathed := createRole(t, c.admin, name, vendor.SupportPath(), trustsBackend)
	require.Equal(t, "arn:aws:iam::"+c.account+":role"+vendor.SupportPath()+name, pathed)

	withoutPath := "arn:aws:iam::" + c.account + ":role/" + name
	_, err := assumeRole(t.Context(), e.asKey(backendKey), withoutPath)
	assert.Equal(t, "AccessDenied", apiErrorOf(t, err).code, "a RoleArn without the role's path names no role")

	out, err := assumeRole(t.Context(), e.asKey(backendKey), pathed)
	require.NoError(t, err)
	// aws:PrincipalArn of the session is the role's ARN with its path.
	trustsPathed := policy.NewDocument(policy.Statement{Effect: policy.Allow, Principal: &policy.Principal{AWS: policy.Strings{"*"}},
		Action: policy.Strings{"sts:AssumeRole"}, Condition: policy.Condition{"ArnEquals": {"aws:PrincipalArn": {pathed}}}})
	next := createRole(t, c.admin, uniqueName("next"), "", trustsPathed)
	_, err = assumeRole(t.Context(), e.asSession(out), next)
	require.NoError(t, err)
	_, err = assumeRole(t.Context(), e.asKey(backendKey), next)
	assert.Equal(t, "AccessDenied", apiErrorOf(t, err).code)
}

func TestAssumeRoleDenyWins(t *testing.T) {
	e := newEnv(t)
	c := newCustomer(t, e)
	trust := policy.NewDocument(
		policy.Statement{Sid: "AllowBackend", Effect: policy.Allow, Principal: &policy.Principal{AWS: policy.Strings{backendARN}},
			Action: policy.Strings{"sts:AssumeRole"}},
		policy.Statement{Sid: "DenyVendorRoles", Effect: policy.Deny, Principal: &policy.Principal{AWS: policy.Strings{"*"}},
			Action:    policy.Strings{"sts:*"},
			Condition: policy.Condition{"ArnLike": {"aws:PrincipalArn": {"arn:aws:iam::*:role/DoiT-*"}}}},
	)
	role := createRole(t, c.admin, uniqueName("denied"), "", trust)
	_, err := assumeRole(t.Context(), e.asKey(backendKey), role)
	assert.Equal(t, "AccessDenied", apiErrorOf(t, err).code)
	assert.Contains(t, e.lastDecision(t).Reason, "explicit deny in statement DenyVendorRoles")
}

// TestAssumeRoleFailsClosed: a condition the front end cannot evaluate never admits a call.
func TestAssumeRoleFailsClosed(t *testing.T) {
	e := newEnv(t)
	c := newCustomer(t, e)
	allow := policy.Statement{Sid: "AllowBackend", Effect: policy.Allow, Principal: &policy.Principal{AWS: policy.Strings{backendARN}},
		Action: policy.Strings{"sts:AssumeRole"}}
	unevaluated := policy.Condition{"IpAddress": {"aws:SourceIp": {"10.0.0.0/8"}}}

	allowIf := allow
	allowIf.Condition = unevaluated
	role := createRole(t, c.admin, uniqueName("allow-if"), "", policy.NewDocument(allowIf))
	_, err := assumeRole(t.Context(), e.asKey(backendKey), role)
	assert.Equal(t, "AccessDenied", apiErrorOf(t, err).code)
	assert.Contains(t, e.lastDecision(t).Reason, "unsupported condition operator IpAddress")

	denyIf := policy.Statement{Sid: "DenyOutside", Effect: policy.Deny, Principal: &policy.Principal{AWS: policy.Strings{"*"}},
		Action: policy.Strings{"sts:AssumeRole"}, Condition: unevaluated}
	role = createRole(t, c.admin, uniqueName("deny-if"), "", policy.NewDocument(allow, denyIf))
	_, err = assumeRole(t.Context(), e.asKey(backendKey), role)
	assert.Equal(t, "AccessDenied", apiErrorOf(t, err).code)
	assert.Contains(t, e.lastDecision(t).Reason, "Deny statement DenyOutside taken to apply")
}

func TestAssumeRoleDuration(t *testing.T) {
	e := newEnv(t)
	c := newCustomer(t, e)
	trust := policy.NewDocument(policy.Statement{Effect: policy.Allow, Principal: &policy.Principal{AWS: policy.Strings{backendARN}},
		Action: policy.Strings{"sts:AssumeRole"}})
	hour := createRole(t, c.admin, uniqueName("hour"), "", trust)
	name := uniqueName("long")
	long := createRole(t, c.admin, name, "", trust)
	_, err := iam.NewFromConfig(c.admin).UpdateRole(t.Context(), &iam.UpdateRoleInput{RoleName: aws.String(name), MaxSessionDuration: aws.Int32(43200)})
	require.NoError(t, err)
	duration := func(s int32) func(*sts.AssumeRoleInput) {
		return func(in *sts.AssumeRoleInput) { in.DurationSeconds = aws.Int32(s) }
	}

	_, err = assumeRole(t.Context(), e.asKey(backendKey), hour, duration(7200))
	assert.Equal(t, apiError{400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		apiErrorOf(t, err))
	// The backend is a role: its sessions assuming roles are role chaining, at most an hour.
	_, err = assumeRole(t.Context(), e.asKey(backendKey), long, duration(7200))
	assert.Equal(t, apiError{400, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."},
		apiErrorOf(t, err))
	_, err = assumeRole(t.Context(), e.asKey(backendKey), long, duration(3600))
	assert.NoError(t, err)
}

// TestRefusalWireFormat checks a refusal's bytes: the query protocol's XML error document.
func TestRefusalWireFormat(t *testing.T) {
	e := newEnv(t)
	missing := "arn:aws:iam::" + vendorAccount + ":role/" + uniqueName("missing")
	body := "Action=AssumeRole&Version=2011-06-15&RoleSessionName=s&RoleArn=" + missing
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.check.URL(), strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+backendKey+"/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, "text/xml", resp.Header.Get("Content-Type"))
	assert.Equal(t, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>`+
		`<Message>User: `+backendARN+` is not authorized to perform: sts:AssumeRole on resource: `+missing+`</Message></Error>`+
		`<RequestId>awscheck-00000001</RequestId></ErrorResponse>`, string(got))
}
