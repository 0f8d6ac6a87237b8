package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/internal/registry/registrytest"
)

func TestBrokerCommandsAgainstMoto(t *testing.T) {
	srv := startMoto(t)
	ctx := t.Context()
	const (
		account = "111122223333"
		signer  = "arn:aws:iam::123456789012:role/DoiT-Support-Issuer"
	)
	vars := map[string]string{"REGISTRY_TABLE": "onboardings", "BROKER_TABLE": "broker", "VENDOR_ACCOUNT_ID": "123456789012",
		"SIGNER_ROLE_ARN": signer, "SUPPORT_PRINCIPAL": "alice@doit.com"}
	getenv := func(k string) string { return vars[k] }
	sh := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"broker"}, args...), getenv, &out)
		return out.String(), err
	}

	// a registered account, with its signing key, as the hook leaves it
	err := run(ctx, []string{"create-table"}, getenv, &bytes.Buffer{})
	require.NoError(t, err)
	out, err := sh("create-table")
	require.NoError(t, err)
	assert.Equal(t, "created broker\n", out)
	cfg, err := srv.Config(ctx, "")
	require.NoError(t, err)
	db := dynamodb.NewFromConfig(cfg)
	reg := &registry.Registry{DB: db, Table: "onboardings"}
	_, err = reg.StartOnboarding(ctx, "acme", account, "ext-1")
	require.NoError(t, err)
	registrytest.Put(t, reg, account, registry.Writes{Management: &registry.Onboarding{Status: registry.Registered, Tenant: "acme",
		ExternalID: "ext-1", RoleARN: "arn:aws:iam::" + account + ":role/DoiT_Management_Role_DO-NOT-DELETE",
		Owner: registry.Owner{StackID: "stack-1", LogicalID: "Hook"}}})
	iss, err := issuer.New(issuer.Config{Vendor: policy.DefaultVendor(), Partition: "aws", VendorAccount: "123456789012",
		SignerRoleARN: signer}, kms.NewFromConfig(cfg), &issuer.DynamoStore{DB: db, Table: "onboardings"})
	require.NoError(t, err)
	_, err = iss.CreateAccountKey(ctx, account)
	require.NoError(t, err)

	out, err = sh("request", "-account", account, "-ticket", "SUP-9", "-justification", "slow queries", "-duration", "30m")
	require.NoError(t, err)
	var req broker.Request
	require.NoError(t, json.Unmarshal([]byte(out), &req), out)
	assert.Equal(t, broker.Pending, req.State)
	assert.Equal(t, "alice@doit.com", req.Engineer)

	_, err = sh("approve", "-id", req.ID)
	assert.ErrorContains(t, err, "your own request")
	out, err = sh("approve", "-id", req.ID, "-as", "tenant:acme/bob")
	require.NoError(t, err)
	assert.Contains(t, out, `"state": "APPROVED"`)

	_, err = sh("credentials", "-id", req.ID, "-as", "mallory@doit.com")
	assert.ErrorContains(t, err, "only the requester")
	_, err = sh("credentials", "-id", req.ID)
	assert.ErrorContains(t, err, "create it once with `supportctl issuer create-subject-key`", "the operator is told what to run")
	var keyOut bytes.Buffer
	require.NoError(t, run(ctx, []string{"issuer", "create-subject-key"}, getenv, &keyOut))
	assert.Regexp(t, `^alias/doit-support-issuer/subjects → \S+\n$`, keyOut.String())
	out, err = sh("credentials", "-id", req.ID, "-format", "env")
	require.NoError(t, err)
	assert.Regexp(t, `^export AWS_ACCESS_KEY_ID=\S+\nexport AWS_SECRET_ACCESS_KEY=\S+\nexport AWS_SESSION_TOKEN=\S+\n# expires `, out)
	assert.Contains(t, out, "session alice@doit.com-SUP-9 in arn:aws:iam::111122223333:role/doit-support/DoiT-Support")
	out, err = sh("credentials", "-id", req.ID)
	require.NoError(t, err)
	var creds broker.Credentials
	require.NoError(t, json.Unmarshal([]byte(out), &creds))
	assert.NotEmpty(t, creds.SecretAccessKey)

	out, err = sh("revoke", "-id", req.ID, "-as", "tenant:acme/bob")
	require.NoError(t, err)
	assert.Contains(t, out, `"state": "REVOKED"`)
	_, err = sh("credentials", "-id", req.ID)
	assert.ErrorContains(t, err, "revoked")

	out, err = sh("pre-approve", "-account", account, "-max-duration", "20m", "-as", "tenant:acme/bob")
	require.NoError(t, err)
	assert.Contains(t, out, `"maxDurationSeconds": 1200`)
	out, err = sh("request", "-account", account, "-ticket", "SUP-10", "-justification", "again")
	require.NoError(t, err)
	assert.Contains(t, out, `"state": "APPROVED"`)
	out, err = sh("dismiss", "-id", "req-nope", "-as", "tenant:acme/bob")
	assert.ErrorContains(t, err, "no access request")

	out, err = sh("audit", "-account", account)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var types []string
	for _, l := range lines {
		var e broker.Event
		require.NoError(t, json.Unmarshal([]byte(l), &e), l)
		types = append(types, string(e.Type))
		assert.NotContains(t, l, creds.SecretAccessKey)
		assert.NotContains(t, l, creds.SessionToken)
	}
	assert.Equal(t, []string{"REQUESTED", "REFUSED", "APPROVED", "REFUSED", "FAILED", "TOKEN_MINTED", "SESSION_ISSUED", "TOKEN_MINTED",
		"SESSION_ISSUED", "REVOKED", "REFUSED", "PRE_APPROVAL", "REQUESTED", "APPROVED"}, types)
	out, err = sh("audit", "-engineer", "mallory@doit.com")
	require.NoError(t, err)
	assert.Contains(t, out, "only the requester")
	out, err = sh("audit", "-engineer", "tenant:acme/bob", "-since", "2000-01-01T00:00:00Z")
	require.NoError(t, err)
	assert.Contains(t, out, "no access request")

	_, err = sh("audit")
	assert.ErrorContains(t, err, "exactly one of account or engineer")
	_, err = sh("request", "-account", account, "-ticket", strings.Repeat("9", 33), "-justification", "j")
	assert.ErrorContains(t, err, "the ticket is too long: at most 32 characters", "the whole ticket has to fit in the session name")
	_, err = sh("credentials", "-id", req.ID, "-format", "xml")
	assert.ErrorContains(t, err, "want json, env or console")
	_, err = sh("frobnicate")
	assert.ErrorContains(t, err, "unknown broker command")
	_, err = sh()
	assert.ErrorContains(t, err, "usage: supportctl broker")
	vars["SUPPORT_PRINCIPAL"] = ""
	_, err = sh("request", "-account", account)
	assert.ErrorContains(t, err, "who is acting")
	vars["BROKER_TABLE"] = ""
	_, err = sh("audit", "-account", account)
	assert.ErrorContains(t, err, "BROKER_TABLE is not set")
}

// The broker's settings are checked when the command starts, each error naming its variable.
func TestNewBrokerChecksItsSettings(t *testing.T) {
	for name, tc := range map[string]struct {
		vars   map[string]string
		reason string // "" if the settings are fine
	}{
		"defaults":                 {vars: map[string]string{}},
		"environment of 200 ä":     {vars: map[string]string{"SUPPORT_ENVIRONMENT": strings.Repeat("ä", 200)}},
		"environment of 256 ä":     {vars: map[string]string{"SUPPORT_ENVIRONMENT": strings.Repeat("ä", 256)}},
		"environment with a space": {vars: map[string]string{"SUPPORT_ENVIRONMENT": "prod eu"}},
		"environment STS refuses": {vars: map[string]string{"SUPPORT_ENVIRONMENT": "prod (eu)"},
			reason: `SUPPORT_ENVIRONMENT (the DoiTEnvironment session tag value): "prod (eu)" has '(' (character 6): ` + policy.SessionTagValueRule},
		"environment of 257 ä": {vars: map[string]string{"SUPPORT_ENVIRONMENT": strings.Repeat("ä", 257)}, reason: "SUPPORT_ENVIRONMENT (the DoiTEnvironment session tag value): the value has 257 characters"},
		"max duration of 1h":   {vars: map[string]string{"BROKER_MAX_DURATION": "1h"}},
		"max duration of 20m":  {vars: map[string]string{"BROKER_MAX_DURATION": "20m"}},
		"max duration of 720h": {vars: map[string]string{"BROKER_MAX_DURATION": "720h"},
			reason: "BROKER_MAX_DURATION=720h: maximum duration 720h0m0s is over 1h0m0s, the longest session (the support roles' MaxSessionDuration)"},
		"max duration of 1h1s":   {vars: map[string]string{"BROKER_MAX_DURATION": "1h1s"}, reason: "BROKER_MAX_DURATION=1h1s: maximum duration 1h0m1s is over 1h0m0s"},
		"max duration of 10m":    {vars: map[string]string{"BROKER_MAX_DURATION": "10m"}, reason: "BROKER_MAX_DURATION=10m: maximum duration 10m0s is shorter than a session"},
		"max duration of a day":  {vars: map[string]string{"BROKER_MAX_DURATION": "a day"}, reason: "BROKER_MAX_DURATION: time: invalid duration"},
		"pending for -1h":        {vars: map[string]string{"BROKER_PENDING_FOR": "-1h"}, reason: "BROKER_PENDING_FOR=-1h: pending time -1h0m0s is under a minute"},
		"pending for 87600h":     {vars: map[string]string{"BROKER_PENDING_FOR": "87600h"}, reason: "BROKER_PENDING_FOR=87600h: pending time 87600h0m0s is over 168h0m0s"},
		"pending for 3h":         {vars: map[string]string{"BROKER_PENDING_FOR": "3h"}},
		"environment with a tab": {vars: map[string]string{"SUPPORT_ENVIRONMENT": "prod\teu"}, reason: `SUPPORT_ENVIRONMENT (the DoiTEnvironment session tag value): "prod\teu" has '\t'`},
		"staff domains":          {vars: map[string]string{"BROKER_STAFF_DOMAINS": "doit.com,doit-intl.com"}},
		"staff domain without a dot": {vars: map[string]string{"BROKER_STAFF_DOMAINS": "doit.com,doit"},
			reason: `BROKER_STAFF_DOMAINS=doit.com,doit: staff domain "doit" is not a domain name such as doit.com`},
		"staff domain as an address": {vars: map[string]string{"BROKER_STAFF_DOMAINS": "@doit.com"}, reason: `staff domain "@doit.com" is not a domain name`},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := aws.Config{Region: "us-east-1"}
			_, err := newBroker(func(k string) string { return tc.vars[k] }, cfg, &registry.Registry{}, noIssuer{},
				dynamodb.NewFromConfig(cfg), "broker")
			if tc.reason == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.reason)
		})
	}
}
