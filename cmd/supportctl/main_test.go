package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/internal/registry/registrytest"
	"github.com/supportaccess/gateway/test/moto"
)

func TestSupportctlAgainstMoto(t *testing.T) {
	vars := map[string]string{"REGISTRY_TABLE": "onboardings", "VENDOR_ACCOUNT_ID": "123456789012",
		"HOOK_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:doit-support-gateway-hook"}
	getenv := func(k string) string { return vars[k] }
	var notes string // what the last command said on stderr
	sh := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), args, getenv, &out, &errOut)
		notes = errOut.String()
		return out.String(), err
	}

	srv := startMoto(t)
	out, err := sh("create-table")
	require.NoError(t, err)
	assert.Equal(t, "created onboardings\n", out)

	out, err = sh("list", "-status", "registered")
	require.NoError(t, err)
	assert.Empty(t, out, "stdout holds the results only")
	assert.Equal(t, "supportctl: no onboardings with status REGISTERED\n", notes, "nothing matched, said on stderr")
	out, err = sh("conflicts")
	require.NoError(t, err)
	assert.Empty(t, out)
	assert.Equal(t, "supportctl: no conflicts: no account is claimed by two tenants\n", notes)
	out, err = sh("sweep")
	require.NoError(t, err)
	assert.Empty(t, out)
	assert.Equal(t, "supportctl: nothing to sweep: no gateway claim or registration is due a proof\n", notes)

	out, err = sh("onboard", "-tenant", "acme", "-account", "111122223333")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(out, "https://console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/quickcreate?templateURL="), out)
	assert.Contains(t, out, "param_AccountNumberParameter=123456789012")

	out, err = sh("list", "-status", "pending")
	require.NoError(t, err)
	assert.Contains(t, out, "111122223333\tMANAGEMENT\tPENDING\ttenant=\"acme\"")

	out, err = sh("tenant-token", "-tenant", "acme")
	require.NoError(t, err)
	assert.Regexp(t, `^tt-[0-9a-f]{64}\n$`, out)

	_, err = sh("repair", "-account", "111122223333", "-dry-run")
	assert.ErrorContains(t, err, "has no registered management stack", "a pending onboarding is not repaired")
	out, err = sh("repair", "-dry-run")
	require.NoError(t, err, "no registered account: nothing to do")
	assert.Empty(t, out)
	assert.Equal(t, "supportctl: no registered account to repair: nothing was changed\n", notes)

	// issue 9: the operator's view of claims and conflicts
	cfg, err := srv.Config(t.Context(), "")
	require.NoError(t, err)
	reg := &registry.Registry{DB: dynamodb.NewFromConfig(cfg), Table: "onboardings"}
	registrytest.Put(t, reg, "230000000001", registry.Writes{
		Management: &registry.Onboarding{Status: registry.Registered, Tenant: "acme", ExternalID: "ext-1"},
		Conflict:   &registry.Conflict{Tenant: "acme", Claimant: "globex", Kind: registry.Gateway, StackID: "arn:aws:cloudformation:us-east-1:230000000001:stack/g/1"}})
	registrytest.Put(t, reg, "230000000002", registry.Writes{
		Gateway:  &registry.Onboarding{Status: registry.Registered, Tenant: "acme", RoleARN: "arn:aws:iam::230000000002:role/DoiT-Support-Gateway"},
		Conflict: &registry.Conflict{Proven: true, Tenant: "acme", Claimant: "globex", Kind: registry.Gateway}})
	out, err = sh("conflicts")
	require.NoError(t, err)
	assert.Contains(t, out, "230000000001\tclaimed\tbound=\"acme\"\tclaimed-by=\"globex\"\tGATEWAY\tstack=arn:aws:cloudformation:us-east-1:230000000001:stack/g/1")
	assert.Contains(t, out, "230000000002\tproven\tbound=\"acme\"\tclaimed-by=\"globex\"\tGATEWAY")
	_, err = sh("resolve-conflict", "-account", "230000000001", "-tenant", "globex")
	assert.ErrorContains(t, err, `only claimed`, "a claimed conflict cannot move the account")
	_, err = sh("resolve-conflict", "-account", "230000000002", "-tenant", "initech")
	assert.ErrorContains(t, err, `choose "acme" or "globex"`)
	for _, account := range []string{"230000000001", "230000000002"} {
		out, err = sh("resolve-conflict", "-account", account, "-tenant", "acme")
		require.NoError(t, err)
		assert.Equal(t, account+"\tresolved: acme owns it\n", out)
	}
	out, err = sh("conflicts")
	require.NoError(t, err)
	assert.Empty(t, out)
	assert.Contains(t, notes, "no conflicts")

	registrytest.Put(t, reg, "220000000001", registry.Writes{Gateway: &registry.Onboarding{Status: registry.PendingProof, ProofDue: true,
		RoleARN: "arn:aws:iam::220000000001:role/DoiT-Support-Gateway"}})
	out, err = sh("sweep")
	require.NoError(t, err)
	assert.Equal(t, "220000000001\tPENDING_PROOF\tno issuer is configured to prove the role\n"+
		"230000000002\tREGISTERED\tno issuer is configured to prove the role\n", out,
		"without SIGNER_ROLE_ARN nothing is proven (the resolved gateway registration asked for its role to be read again)")
	out, err = sh("list", "-status", "pending_proof")
	require.NoError(t, err)
	assert.Contains(t, out, "220000000001\tGATEWAY\tPENDING_PROOF")

	_, err = sh("onboard", "-tenant", "acme", "-account", "42")
	assert.EqualError(t, err, "onboard: -account 42: give a 12-digit AWS account ID, such as 111122223333 (see supportctl onboard -h)")
	vars["HOOK_TOPIC_ARN"] = "not-an-arn" // it would end up in the customer's link
	_, err = sh("onboard", "-tenant", "acme", "-account", "333344445555")
	assert.ErrorContains(t, err, `HOOK_TOPIC_ARN: "not-an-arn" is not an ARN`)
	assert.Equal(t, exitUsage, exitCode(err), "a variable that is not valid is a usage error")
	vars["HOOK_TOPIC_ARN"] = "arn:aws:sns:us-east-1:111111111111:doit-support-gateway-hook"
	_, err = sh("onboard", "-tenant", "acme", "-account", "333344445555")
	assert.ErrorContains(t, err, `want VENDOR_ACCOUNT_ID "123456789012"`)
	out, err = sh("list", "-status", "pending")
	require.NoError(t, err)
	assert.NotContains(t, out, "333344445555", "a refused link records nothing")
	_, err = sh("resolve-conflict", "-account", "230000000003", "-tenant", "acme")
	assert.ErrorContains(t, err, "account 230000000003 has no conflict to resolve")
	assert.Equal(t, exitFailed, exitCode(err), "refused")
	vars["TENANT_REJECTIONS_PER_DAY"] = "none"
	_, err = sh("sweep")
	assert.ErrorContains(t, err, "TENANT_REJECTIONS_PER_DAY: want a positive number", "the hook's paces, checked as the Lambda checks them")
	vars["REGISTRY_TABLE"] = ""
	_, err = sh("list")
	assert.EqualError(t, err, "list: REGISTRY_TABLE is not set: the registry's DynamoDB table, e.g. onboardings (see supportctl list -h)")
}

// startMoto starts a moto server for the test and points the SDK's standard variables at it, as an
// operator would set them.
func startMoto(t *testing.T) *moto.Server {
	t.Helper()
	srv := moto.StartForTest(t)
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": srv.URL(), "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
		"AWS_SECRET_ACCESS_KEY": "testing", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"} {
		t.Setenv(k, v)
	}
	return srv
}

// repair and sweep read ISSUER_THUMBPRINTS as the hook Lambda does, by the same rule: a repair
// converges the providers to the hook's thumbprints, and a sixth is refused before any AWS call.
func TestHookSettingsReadThumbprintsAsTheHookDoes(t *testing.T) {
	tp := func(n int) string { return strings.Repeat(string(rune('a'+n)), 40) }
	five := []string{tp(0), tp(1), tp(2), tp(3), tp(4)}
	vars := env{"VENDOR_ACCOUNT_ID": "123456789012", "ISSUER_THUMBPRINTS": strings.ToUpper(strings.Join(five, ", "))}
	settings := func() (hook.Settings, error) {
		e := newEnv(&invocation{getenv: vars.getenv}, repairCommand())
		s := hookSettings(e)
		return s, e.err()
	}
	s, err := settings()
	require.NoError(t, err)
	assert.Equal(t, five, s.Thumbprints)

	vars["ISSUER_THUMBPRINTS"] = strings.Join(append(five, tp(5)), ",")
	_, err = settings()
	assert.ErrorContains(t, err, "ISSUER_THUMBPRINTS: 6 thumbprints, IAM allows at most 5 per OIDC provider")
	vars["ISSUER_THUMBPRINTS"] = tp(0) + "," + tp(0)
	_, err = settings()
	assert.ErrorContains(t, err, "ISSUER_THUMBPRINTS: "+tp(0)+" is listed twice")

	vars["ISSUER_THUMBPRINTS"] = ""
	s, err = settings()
	require.NoError(t, err)
	assert.Nil(t, s.Thumbprints, "unset: IAM's own are kept")
}
