package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/internal/registry/registrytest"
	"github.com/supportaccess/gateway/test/moto"
)

// issuerShell starts moto with the registry table and returns the settings (vars, which the test
// may change, read through getenv), a runner of "supportctl issuer …" with them, the AWS config and
// the registry.
func issuerShell(t *testing.T) (vars map[string]string, getenv func(string) string, sh func(...string) (string, error), cfg aws.Config, reg *registry.Registry) {
	srv := startMoto(t)
	vars = map[string]string{"REGISTRY_TABLE": "onboardings", "VENDOR_ACCOUNT_ID": "123456789012",
		"SIGNER_ROLE_ARN": "arn:aws:iam::123456789012:role/DoiT-Support-Issuer"}
	getenv = func(k string) string { return vars[k] }
	sh = func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(t.Context(), append([]string{"issuer"}, args...), getenv, &out, io.Discard)
		return out.String(), err
	}
	require.NoError(t, run(t.Context(), []string{"create-table"}, getenv, &bytes.Buffer{}, io.Discard))
	cfg, err := srv.Config(t.Context(), "")
	require.NoError(t, err)
	return vars, getenv, sh, cfg, &registry.Registry{DB: dynamodb.NewFromConfig(cfg), Table: "onboardings"}
}

func TestIssuerCommandsAgainstMoto(t *testing.T) {
	ctx := t.Context()
	const account, pending = "111122223333", "444455556666"
	vars, getenv, sh, cfg, reg := issuerShell(t)

	// one registered account with its key (as the hook leaves it), one onboarding still pending
	_, err := reg.StartOnboarding(ctx, "acme", account, "ext-1")
	require.NoError(t, err)
	registrytest.Put(t, reg, account, registry.Writes{Management: &registry.Onboarding{Status: registry.Registered, Tenant: "acme",
		ExternalID: "ext-1", RoleARN: "arn:aws:iam::" + account + ":role/DoiT_Management_Role_DO-NOT-DELETE",
		Owner: registry.Owner{StackID: "stack-1", LogicalID: "Hook"}}})
	_, err = reg.StartOnboarding(ctx, "acme", pending, "ext-2")
	require.NoError(t, err)
	iss, err := newIssuer(getenv, cfg, reg, dynamodb.NewFromConfig(cfg), nil)
	require.NoError(t, err)
	first, err := iss.CreateAccountKey(ctx, account)
	require.NoError(t, err)

	out, err := sh("keys", "-account", account)
	require.NoError(t, err)
	assert.Regexp(t, `^`+first.KeyID+`\tactive\tsigns from \S+\tpublished while active\n$`, out)

	out, err = sh("rotate", "-account", account)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	// the default lead: the new key signs in 10 minutes, the old one until then and is published 5 more
	stamps := func(line, pattern string) []time.Time {
		m := regexp.MustCompile(pattern).FindStringSubmatch(line)
		require.NotNil(t, m, "%q does not match %s", line, pattern)
		var out []time.Time
		for _, v := range m[1:] {
			ts, err := time.Parse(time.RFC3339, v)
			require.NoError(t, err)
			out = append(out, ts)
		}
		return out
	}
	old := stamps(lines[0], `^`+first.KeyID+`\tretiring\tsigns until (\S+)\tpublished until (\S+)$`)
	until, retire := old[0], old[1]
	assert.Equal(t, issuer.MaxTokenLifetime, retire.Sub(until))
	assert.WithinDuration(t, time.Now().Add(issuer.DefaultPublishLead), until, time.Minute)
	from := stamps(lines[1], `^\S+\tactive\tsigns from (\S+)\tpublished while active$`)[0]
	assert.Equal(t, until, from, "the handover")

	dir := t.TempDir()
	out, err = sh("render", "-dir", dir)
	require.NoError(t, err)
	assert.Equal(t, "rendered 1 account(s) into "+dir+"\n", out, "the pending account has no key: skipped")
	for _, host := range []string{"oidc.aws-ops.doit-intl.com", "oidc-standby.aws-ops.doit-intl.com"} {
		base := filepath.Join(dir, host, "accounts", account, ".well-known")
		raw, err := os.ReadFile(filepath.Join(base, "jwks.json"))
		require.NoError(t, err)
		var set issuer.JWKS
		require.NoError(t, json.Unmarshal(raw, &set))
		assert.Len(t, set.Keys, 2, "both keys while the old one's tokens may live")
		raw, err = os.ReadFile(filepath.Join(base, "openid-configuration"))
		require.NoError(t, err)
		assert.Contains(t, string(raw), `"issuer":"https://`+host+`/accounts/`+account+`"`)
	}
	_, err = os.Stat(filepath.Join(dir, "oidc.aws-ops.doit-intl.com", "accounts", pending))
	assert.True(t, os.IsNotExist(err))

	_, err = sh("render", "-dir", t.TempDir(), "-account", pending)
	assert.ErrorIs(t, err, issuer.ErrUnknownAccount, "one named account must have a key")
	_, err = sh("rotate")
	assert.ErrorContains(t, err, "-account is required")
	_, err = sh("render")
	assert.ErrorContains(t, err, "-dir is required")
	_, err = sh("rotate", "-account", pending)
	assert.ErrorIs(t, err, issuer.ErrUnknownAccount)
	var keysOut, notes bytes.Buffer
	require.NoError(t, run(ctx, []string{"issuer", "keys", "-account", pending}, getenv, &keysOut, &notes), "nothing matched is no failure")
	assert.Empty(t, keysOut.String())
	assert.Equal(t, "supportctl: account "+pending+" has no signing keys: it is not onboarded, or no stack of it has registered yet\n", notes.String())
	_, err = sh("frobnicate")
	assert.ErrorContains(t, err, `unknown command "issuer frobnicate"`)
	delete(vars, "SIGNER_ROLE_ARN")
	_, err = sh("keys", "-account", account)
	assert.ErrorContains(t, err, "issuer keys: SIGNER_ROLE_ARN is not set")
	assert.Equal(t, exitUsage, exitCode(err))
	vars["SIGNER_ROLE_ARN"] = "arn:aws:iam::123456789012:role/DoiT-Support-Issuer"
	vars["VENDOR_ACCOUNT_ID"] = "12345"
	_, err = sh("keys", "-account", account)
	assert.EqualError(t, err, "issuer keys: VENDOR_ACCOUNT_ID=12345: not 12 digits (the vendor's AWS account ID, such as 111122223333) (see supportctl issuer keys -h)",
		"a variable that is set but wrong is not reported as unset")
}

// -lead is checked as it is parsed: never negative, at most issuer.MaxPublishLead (1h) unless
// -allow-long-lead confirms it; a refused lead rotates nothing.
func TestIssuerRotateLead(t *testing.T) {
	ctx := t.Context()
	const account = "111122223333"
	_, getenv, sh, cfg, reg := issuerShell(t)
	iss, err := newIssuer(getenv, cfg, reg, dynamodb.NewFromConfig(cfg), nil)
	require.NoError(t, err)
	_, err = iss.CreateAccountKey(ctx, account)
	require.NoError(t, err)
	keyCount := func() int {
		keys, err := iss.Keys(ctx, account)
		require.NoError(t, err)
		return len(keys)
	}
	// the newest key's "signs from" stamp, after a rotation
	signsFrom := func(out string) time.Time {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		m := regexp.MustCompile(`^\S+\tactive\tsigns from (\S+)\t`).FindStringSubmatch(lines[len(lines)-1])
		require.NotNil(t, m, out)
		from, err := time.Parse(time.RFC3339, m[1])
		require.NoError(t, err)
		return from
	}

	_, err = sh("rotate", "-account", account, "-lead", "5h")
	require.Error(t, err)
	assert.Equal(t, "issuer rotate: -lead 5h: publication lead 5h0m0s is longer than 1h0m0s, the most rendering and uploading "+
		"the JWKS and the caches' refresh (max-age 60 s) need: the current key would go on signing until then; "+
		"pass -allow-long-lead to confirm (see supportctl issuer rotate -h)", err.Error())
	_, err = sh("rotate", "-account", account, "-lead", "-1m")
	assert.EqualError(t, err, "issuer rotate: -lead -1m: publication lead -1m0s is negative (0 switches at once) (see supportctl issuer rotate -h)")
	_, err = sh("rotate", "-account", account, "-lead", "-1m", "-allow-long-lead")
	assert.ErrorContains(t, err, "is negative", "the confirmation is for long leads only")
	assert.Equal(t, 1, keyCount(), "a refused lead rotates nothing")

	out, err := sh("rotate", "-account", account, "-lead", "10m")
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(10*time.Minute), signsFrom(out), time.Minute)
	out, err = sh("rotate", "-account", account, "-lead", "5h", "-allow-long-lead")
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(5*time.Hour), signsFrom(out), time.Minute, "confirmed: the old key signs for 5 hours")
	assert.Equal(t, 3, keyCount())
}

// With ISSUER_BUCKET, as the hook has it, a rotation from supportctl publishes the account's
// documents before the new key signs: the JWKS in the bucket lists the old key and the new one. A
// rotation once uploaded nothing, and tokens of the new key would have failed at STS once its lead
// passed unless an operator rendered and synced by hand (found in review).
func TestIssuerRotatePublishes(t *testing.T) {
	ctx := t.Context()
	const account = "111122223333"
	vars, getenv, sh, cfg, reg := issuerShell(t)
	vars["ISSUER_BUCKET"] = "doit-issuer"
	s3c := s3.NewFromConfig(cfg, moto.PathStyle)
	_, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("doit-issuer")})
	require.NoError(t, err)
	_, err = reg.StartOnboarding(ctx, "acme", account, "ext-1")
	require.NoError(t, err)
	registrytest.Put(t, reg, account, registry.Writes{Management: &registry.Onboarding{Status: registry.Registered, Tenant: "acme",
		ExternalID: "ext-1", RoleARN: "arn:aws:iam::" + account + ":role/DoiT_Management_Role_DO-NOT-DELETE",
		Owner: registry.Owner{StackID: "stack-1", LogicalID: "Hook"}}})
	iss, err := newIssuer(getenv, cfg, reg, dynamodb.NewFromConfig(cfg), nil)
	require.NoError(t, err)
	first, err := iss.CreateAccountKey(ctx, account)
	require.NoError(t, err)

	_, err = sh("rotate", "-account", account)
	require.NoError(t, err)
	keys, err := iss.Keys(ctx, account)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	for _, host := range policy.DefaultVendor().IssuerHosts {
		obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("doit-issuer"),
			Key: aws.String(host + "/accounts/" + account + "/.well-known/jwks.json")})
		require.NoError(t, err, host)
		body, err := io.ReadAll(obj.Body)
		require.NoError(t, err)
		for _, k := range keys {
			assert.Contains(t, string(body), k.KeyID, "%s: the JWKS lists key %s", host, k.KeyID)
		}
		assert.Contains(t, string(body), first.KeyID)
		assert.False(t, keys[1].PublishedAt.IsZero(), "the new key is recorded as published")
	}
}
