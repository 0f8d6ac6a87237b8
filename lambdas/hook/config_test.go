package main

import (
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/hook"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(env(map[string]string{
		"REGISTRY_TABLE": "onboardings", "VENDOR_ACCOUNT_ID": "999988887777",
		"RESPONSE_URL_EXTRA_HOSTS": "127.0.0.1:4566, localhost:9000", "PROBE_WITHOUT_EXTERNAL_ID": "false",
		"PROPAGATION_BUDGET": "30s", "LOG_LEVEL": "debug",
		"ISSUER_THUMBPRINTS": "9E99A48A9960B14926BB7F3B02E22DA2B0AB7280, ",
		"SIGNER_ROLE_ARN":    "arn:aws:iam::999988887777:role/DoiT-Support-Broker",
		"ISSUER_BUCKET":      "doit-support-issuer", "PARTITIONS": "aws, aws-us-gov", "UNPROVEN_CLAIMS_PER_HOUR": "20",
		"REGIONS": "us-east-1,us-gov-west-1", "TENANT_CLAIMS_PER_HOUR": "500",
	}))
	require.NoError(t, err)
	assert.Equal(t, "doit-support-issuer", c.IssuerBucket)
	assert.Equal(t, []string{"aws", "aws-us-gov"}, c.Partitions)
	assert.Equal(t, 20, c.Paces.UnprovenPerHour)
	assert.Equal(t, []string{"us-east-1", "us-gov-west-1"}, c.Regions)
	assert.Equal(t, 500, c.Paces.TenantPerHour)
	assert.Equal(t, "onboardings", c.Table)
	assert.Equal(t, "DoiT", c.Vendor.Name)
	assert.Equal(t, []string{"127.0.0.1:4566", "localhost:9000"}, c.ResponseHosts)
	assert.False(t, c.ProbeWithoutExternal)
	assert.Equal(t, 30*time.Second, c.PropagationBudget)
	assert.Equal(t, 10*time.Second, c.ResponseMargin)
	assert.Equal(t, slog.LevelDebug, c.LogLevel)
	assert.Equal(t, []string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"}, c.Thumbprints)
	assert.Equal(t, "arn:aws:iam::999988887777:role/DoiT-Support-Broker", c.SignerRoleARN)

	c, err = loadConfig(env(map[string]string{"REGISTRY_TABLE": "t", "VENDOR_ACCOUNT_ID": "999988887777"}))
	require.NoError(t, err)
	assert.True(t, c.ProbeWithoutExternal, "the negative probe is on unless switched off")
	assert.Empty(t, c.ResponseHosts)
	assert.Equal(t, []string{"aws"}, c.Partitions, "only the aws partition unless configured")
	assert.Equal(t, hook.Paces{UnprovenPerHour: 100, TenantPerHour: 5000, TenantRejectionsPerDay: 100, ReproofsPerHour: 1000}, c.Paces)
	assert.Equal(t, []string{"us-east-1"}, c.Regions, "the templates' region unless configured")
}

func TestLoadConfigReportsEveryProblem(t *testing.T) {
	_, err := loadConfig(env(map[string]string{
		"VENDOR_ACCOUNT_ID": "12", "PROBE_WITHOUT_EXTERNAL_ID": "maybe", "PROPAGATION_BUDGET": "-1s",
		"LOG_LEVEL": "loud", "ISSUER_PRIMARY_HOST": "https://x", "ISSUER_THUMBPRINTS": "abc",
		"SIGNER_ROLE_ARN": "arn:aws:iam::111111111111:role/x", "PARTITIONS": "Amazon", "UNPROVEN_CLAIMS_PER_HOUR": "0",
		"REGIONS": "Virginia", "TENANT_CLAIMS_PER_HOUR": "-3",
		"TENANT_REJECTIONS_PER_DAY": "x",
	}))
	require.Error(t, err)
	for _, want := range []string{"REGISTRY_TABLE", "VENDOR_ACCOUNT_ID", "PROBE_WITHOUT_EXTERNAL_ID", "PROPAGATION_BUDGET", "LOG_LEVEL",
		"issuer host", "ISSUER_THUMBPRINTS", "SIGNER_ROLE_ARN", "ISSUER_BUCKET", "PARTITIONS", "UNPROVEN_CLAIMS_PER_HOUR",
		"REGIONS", "TENANT_CLAIMS_PER_HOUR", "TENANT_REJECTIONS_PER_DAY"} {
		assert.Contains(t, err.Error(), want)
	}
}

// IAM keeps at most five thumbprints on an OIDC provider: a sixth is refused at start, naming the
// variable and the rule, not by the first CreateOpenIDConnectProvider in a customer's account.
func TestLoadConfigChecksThumbprintsAgainstIAMsLimit(t *testing.T) {
	tp := func(n int) string { return strings.Repeat(string(rune('a'+n)), 40) }
	base := map[string]string{"REGISTRY_TABLE": "t", "VENDOR_ACCOUNT_ID": "999988887777"}
	with := func(list string) func(string) string {
		m := maps.Clone(base)
		m["ISSUER_THUMBPRINTS"] = list
		return env(m)
	}
	five := []string{tp(0), tp(1), tp(2), tp(3), tp(4)}
	c, err := loadConfig(with(strings.Join(five, ",")))
	require.NoError(t, err)
	assert.Equal(t, five, c.Thumbprints)

	_, err = loadConfig(with(strings.Join(append(five, tp(5)), ",")))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ISSUER_THUMBPRINTS: 6 thumbprints, IAM allows at most 5 per OIDC provider "+
		"(IAM API Reference, CreateOpenIDConnectProvider, ThumbprintList)")

	_, err = loadConfig(with(tp(0) + "," + strings.ToUpper(tp(0))))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ISSUER_THUMBPRINTS: "+tp(0)+" is listed twice", "refused, not silently dropped")

	c, err = loadConfig(with(" , "))
	require.NoError(t, err)
	assert.Nil(t, c.Thumbprints, "none: IAM's own are kept")
}
