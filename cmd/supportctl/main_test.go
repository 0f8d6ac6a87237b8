package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/test/moto"
)

func TestSupportctlAgainstMoto(t *testing.T) {
	startMoto(t)
	vars := map[string]string{"REGISTRY_TABLE": "onboardings", "VENDOR_ACCOUNT_ID": "123456789012",
		"HOOK_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:doit-support-gateway-hook"}
	getenv := func(k string) string { return vars[k] }
	sh := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(t.Context(), args, getenv, &out)
		return out.String(), err
	}

	out, err := sh("create-table")
	require.NoError(t, err)
	assert.Equal(t, "created onboardings\n", out)

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

	_, err = sh("onboard", "-tenant", "acme", "-account", "42")
	assert.ErrorContains(t, err, "12-digit")
	_, err = sh("frobnicate")
	assert.ErrorContains(t, err, "unknown command")
	_, err = sh()
	assert.ErrorContains(t, err, "usage")
	vars["REGISTRY_TABLE"] = ""
	_, err = sh("list")
	assert.ErrorContains(t, err, "REGISTRY_TABLE is not set")
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
