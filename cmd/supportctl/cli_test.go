package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commandPaths is every command and group under c, as typed after supportctl, c's own first.
func commandPaths(c *command) [][]string {
	words := strings.Fields(c.name)
	out := [][]string{words}
	for _, s := range c.subs {
		out = append(out, commandPaths(s)...)
	}
	return out
}

func find(t *testing.T, words []string) *command {
	t.Helper()
	c, err := supportctl().lookup(words)
	require.NoError(t, err)
	return c
}

// Help works with no environment at all, for the top level and every command, however it is asked
// for, and lists each command's flags with their defaults, its environment and an example.
func TestHelpNeedsNoEnvironment(t *testing.T) {
	noEnv := func(k string) string {
		t.Errorf("help read %s", k)
		return ""
	}
	paths := commandPaths(supportctl())
	require.Greater(t, len(paths), 25, "every command is in the tree")
	for _, words := range paths {
		c := find(t, words)
		asks := [][]string{
			append(append([]string{}, words...), "-h"),
			append(append([]string{}, words...), "--help"),
			append(append([]string{}, words...), "-help"),
			append(append([]string{}, words...), "help"),
			append([]string{"help"}, words...),
		}
		for _, args := range asks {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var out, errOut bytes.Buffer
				err := run(t.Context(), args, noEnv, &out, &errOut)
				require.NoError(t, err)
				assert.Equal(t, exitOK, exitCode(err))
				assert.Empty(t, errOut.String(), "help goes to stdout")
				help := out.String()
				assert.True(t, strings.HasPrefix(help, "usage: "+c.path()+" "), help)
				assert.Contains(t, help, "\nexample")
				if c.subs != nil {
					for _, s := range c.subs {
						assert.Regexp(t, `\n  `+strings.TrimPrefix(s.name, c.name+" ")+`  +\S`, help, "lists %s", s.name)
					}
					return
				}
				assert.Contains(t, help, "\nenvironment:\n", "every command says what it reads")
				f := newFlagSet(c)
				c.flags(f)
				if len(f.order) == 0 {
					assert.Contains(t, help, "\nflags: none\n")
				}
				for _, name := range f.order {
					fl := f.fs.Lookup(name)
					line := ""
					for _, l := range strings.Split(help, "\n") {
						if strings.HasPrefix(l, "  -"+name+" ") {
							line = l
						}
					}
					require.NotEmpty(t, line, "-%s is listed", name)
					switch {
					case contains(f.required, name):
						assert.True(t, strings.HasSuffix(line, "(required)"), line)
					case fl.DefValue != "" && fl.DefValue != "false":
						assert.True(t, strings.HasSuffix(line, "(default "+fl.DefValue+")"), line)
					}
				}
			})
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// The help a newcomer sees first: what the commands are, where output goes, the exit codes.
func TestTopLevelHelp(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"help"}, nil, &out, io.Discard))
	for _, want := range []string{
		"usage: supportctl <command> [flags]\n",
		"\n  onboard           record a pending onboarding and print its quick-create link\n",
		"\n  broker  access requests: ",
		"\nexit codes:\n  0  done",
		"\n  1  refused or failed",
		"\n  2  usage: an unknown command, a flag that is unknown, missing or invalid, or an environment\n",
		"supportctl help <command> (or supportctl <command> -h) shows a command's flags, environment and an example.",
	} {
		assert.Contains(t, out.String(), want)
	}

	out.Reset()
	require.NoError(t, run(t.Context(), []string{"broker", "request", "-h"}, nil, &out, io.Discard))
	assert.Equal(t, `usage: supportctl broker request -account A -ticket T -justification TEXT [-duration D]

Asks for access to the customer's account, for the ticket, and prints the request as JSON: PENDING
until a customer of the account's tenant decides, or APPROVED at once under a standing approval.

flags:
  -account A           the customer's AWS account ID, 12 digits (required)
  -ticket T            the support ticket, at most 32 characters (required)
  -justification TEXT  why access is needed, for the customer to read (required)
  -duration D          how long access is needed, 15m to 1h (default 1h)

environment:
  SUPPORT_API_URL        the backend's API (required): https, or http on a loopback address, e.g. http://127.0.0.1:8080
  SUPPORTCTL_TOKEN_FILE  the token supportctl login cached (default $XDG_CONFIG_HOME/supportctl/token.json or ~/.config/supportctl/token.json)

example:
  supportctl broker request -account 111122223333 -ticket SUP-9 -justification "slow queries" -duration 30m
`, out.String())
}

// Without a command, the group's help goes to stderr, and it is a usage error.
func TestNoCommandShowsTheCommands(t *testing.T) {
	for _, args := range [][]string{{}, {"broker"}, {"issuer"}} {
		var out, errOut bytes.Buffer
		err := run(t.Context(), args, nil, &out, &errOut)
		assert.Equal(t, exitUsage, exitCode(err), "%q", args)
		assert.ErrorContains(t, err, "which command? (see the list above)")
		assert.Empty(t, out.String())
		assert.Contains(t, errOut.String(), "usage: "+strings.TrimSpace("supportctl "+strings.Join(args, " "))+" <command> [flags]")
	}
}

// Every flag is checked before anything else, the environment included: the getenv here fails the
// test if it is read. A missing flag is named as missing; a value that is not valid says what the
// flag takes. All of them exit with 2.
func TestUsageErrors(t *testing.T) {
	const id = "req-0123456789abcdef01234567"
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"unknown command":                 {[]string{"frobnicate"}, `unknown command "frobnicate" (see supportctl help)`},
		"a flag before any command":       {[]string{"-v"}, "the command comes before its flags, as in supportctl <command> -v … (see supportctl help)"},
		"a flag before a group's command": {[]string{"broker", "-v"}, "broker: the command comes before its flags, as in supportctl broker <command> -v … (see supportctl broker help)"},
		"a near miss":                     {[]string{"brokr", "list"}, `unknown command "brokr"; did you mean "broker"? (see supportctl help)`},
		"unknown subcommand":              {[]string{"broker", "aprove"}, `unknown command "broker aprove"; did you mean "approve"? (see supportctl broker help)`},
		"help for no command":             {[]string{"help", "issuer", "spin"}, `unknown command "issuer spin" (see supportctl issuer help)`},
		"unknown flag":                    {[]string{"broker", "approve", "-id", id, "-as", "bob"}, "broker approve: flag provided but not defined: -as (see supportctl broker approve -h)"},
		"positional argument":             {[]string{"broker", "show", id}, "broker show: unexpected argument " + id + ": supportctl broker show takes flags only, each value after its flag (see supportctl broker show -h)"},
		"argument to no flags":            {[]string{"logout", "now"}, "logout: unexpected argument now: supportctl logout takes no arguments (see supportctl logout -h)"},

		// missing flags, named as missing, before any value is looked at
		"request without flags":      {[]string{"broker", "request"}, "broker request: -account, -ticket and -justification are required (see supportctl broker request -h)"},
		"request without a ticket":   {[]string{"broker", "request", "-account", "111122223333", "-justification", "j"}, "broker request: -ticket is required (see supportctl broker request -h)"},
		"show without -id":           {[]string{"broker", "show"}, "broker show: -id is required (see supportctl broker show -h)"},
		"approve without -id":        {[]string{"broker", "approve"}, "broker approve: -id is required (see supportctl broker approve -h)"},
		"dismiss without a reason":   {[]string{"broker", "dismiss", "-id", id}, "broker dismiss: -reason is required (see supportctl broker dismiss -h)"},
		"revoke without -id":         {[]string{"broker", "revoke"}, "broker revoke: -id is required (see supportctl broker revoke -h)"},
		"credentials without -id":    {[]string{"broker", "credentials", "-format", "env"}, "broker credentials: -id is required (see supportctl broker credentials -h)"},
		"pre-approve without -acct":  {[]string{"broker", "pre-approve"}, "broker pre-approve: -account is required (see supportctl broker pre-approve -h)"},
		"audit of no one":            {[]string{"broker", "audit"}, "broker audit: give -account or -engineer (exactly one) (see supportctl broker audit -h)"},
		"audit of two":               {[]string{"broker", "audit", "-account", "111122223333", "-engineer", "a@doit.com"}, "broker audit: give -account or -engineer (exactly one) (see supportctl broker audit -h)"},
		"onboard without flags":      {[]string{"onboard"}, "onboard: -tenant and -account are required (see supportctl onboard -h)"},
		"tenant-token without -t":    {[]string{"tenant-token"}, "tenant-token: -tenant is required (see supportctl tenant-token -h)"},
		"resolve without a tenant":   {[]string{"resolve-conflict", "-account", "230000000001"}, "resolve-conflict: -tenant is required (see supportctl resolve-conflict -h)"},
		"issuer keys without -acct":  {[]string{"issuer", "keys"}, "issuer keys: -account is required (see supportctl issuer keys -h)"},
		"issuer rotate without -a":   {[]string{"issuer", "rotate", "-lead", "5m"}, "issuer rotate: -account is required (see supportctl issuer rotate -h)"},
		"issuer render without -dir": {[]string{"issuer", "render"}, "issuer render: -dir is required (see supportctl issuer render -h)"},
		"login without flags":        {[]string{"login"}, "login: -issuer and -client-id are required (see supportctl login -h)"},
		"an empty value is missing":  {[]string{"tenant-token", "-tenant", ""}, "tenant-token: -tenant is required (see supportctl tenant-token -h)"},

		// values, checked as they enter, with what the flag takes
		"a duration without a unit": {[]string{"broker", "request", "-duration", "30"}, "broker request: -duration 30: give a duration such as 30m or 1h (see supportctl broker request -h)"},
		"a duration too short":      {[]string{"broker", "request", "-duration", "5m"}, "broker request: -duration 5m: give 15m to 1h (one session; the backend may allow less) (see supportctl broker request -h)"},
		"a standing approval":       {[]string{"broker", "pre-approve", "-max-duration", "2h"}, "broker pre-approve: -max-duration 2h: give 15m to 1h (one session; the backend may allow less), or 0 to remove the approval (see supportctl broker pre-approve -h)"},
		"a lead without a unit":     {[]string{"issuer", "rotate", "-lead", "10"}, "issuer rotate: -lead 10: give a duration such as 30m or 1h (see supportctl issuer rotate -h)"},
		"a long lead":               {[]string{"issuer", "rotate", "-account", "111122223333", "-lead", "2h"}, "issuer rotate: -lead 2h: publication lead 2h0m0s is longer than 1h0m0s, the most rendering and uploading the JWKS and the caches' refresh (max-age 60 s) need: the current key would go on signing until then; pass -allow-long-lead to confirm (see supportctl issuer rotate -h)"},
		"a date, not a time":        {[]string{"broker", "audit", "-account", "111122223333", "-since", "2026-11-29"}, "broker audit: -since 2026-11-29: give a time in RFC 3339, e.g. 2026-11-29T17:00:00Z or 2026-11-29T18:00:00+01:00 (see supportctl broker audit -h)"},
		"until before since":        {[]string{"broker", "audit", "-account", "111122223333", "-since", "2026-11-29T17:00:00Z", "-until", "2026-11-29T16:00:00Z"}, "broker audit: -until 2026-11-29T16:00:00Z is before -since 2026-11-29T17:00:00Z (see supportctl broker audit -h)"},
		"a state":                   {[]string{"broker", "list", "-state", "live"}, "broker list: -state live: give one of PENDING, APPROVED, DISMISSED, REVOKED or EXPIRED (see supportctl broker list -h)"},
		"a status":                  {[]string{"list", "-status", "active"}, "list: -status active: give one of PENDING, PENDING_PROOF, REGISTERED, UNCLAIMED, REJECTED or DEREGISTERED (see supportctl list -h)"},
		"a format":                  {[]string{"broker", "credentials", "-id", id, "-format", "xml"}, "broker credentials: -format xml: give one of json, env or console (see supportctl broker credentials -h)"},
		"a limit":                   {[]string{"broker", "list", "-limit", "0"}, "broker list: -limit 0: give a whole number, 1 or more (see supportctl broker list -h)"},
		"a request ID":              {[]string{"broker", "approve", "-id", "42"}, "broker approve: -id 42: not a request ID: req- and 24 hexadecimal digits, as request and list print it (see supportctl broker approve -h)"},
		"an account ID":             {[]string{"broker", "request", "-account", "12345", "-ticket", "T", "-justification", "j"}, "broker request: -account 12345: give a 12-digit AWS account ID, such as 111122223333 (see supportctl broker request -h)"},
		"an account ID to repair":   {[]string{"repair", "-account", "abc"}, "repair: -account abc: give a 12-digit AWS account ID, such as 111122223333 (see supportctl repair -h)"},
		"an empty account ID":       {[]string{"issuer", "keys", "-account", ""}, "issuer keys: -account is required (see supportctl issuer keys -h)"},
		"a ticket":                  {[]string{"broker", "request", "-ticket", "SUP\t9"}, "broker request: -ticket 'SUP\t9': the ticket has a control character (a tab, a newline, …) (see supportctl broker request -h)"},
		"a redirect":                {[]string{"login", "-redirect", "http://example.com:8484/cb"}, "login: -redirect http://example.com:8484/cb: the host must be localhost or a loopback IP address (see supportctl login -h)"},
		"an issuer over http":       {[]string{"login", "-issuer", "http://login.example.com"}, "login: -issuer http://login.example.com: tokens go over https only: give an https URL, or http on a loopback address for a local server (no user, query or fragment) (see supportctl login -h)"},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(t.Context(), tc.args, func(k string) string {
				t.Errorf("read %s before the flags were checked", k)
				return ""
			}, &out, io.Discard)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			assert.Equal(t, exitUsage, exitCode(err))
			assert.Empty(t, out.String())
		})
	}
}

// The environment is checked before any AWS or network call (AWS_ENDPOINT_URL points nowhere, so a
// call would fail otherwise): each problem names its variable and says what is wrong with it, and a
// variable that is set but wrong is not reported as unset. All exit with 2.
func TestEnvironmentIsCheckedFirst(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	const id = "req-0123456789abcdef01234567"
	ok := env{"REGISTRY_TABLE": "onboardings", "VENDOR_ACCOUNT_ID": "123456789012",
		"HOOK_TOPIC_ARN":  "arn:aws:sns:us-east-1:123456789012:doit-support-gateway-hook",
		"SIGNER_ROLE_ARN": "arn:aws:iam::123456789012:role/DoiT-Support-Issuer", "ISSUER_BUCKET": "doit-issuer",
		"SUPPORT_API_URL": "http://127.0.0.1:1", "HOME": t.TempDir()}
	with := func(changes ...string) env {
		e := env{}
		for k, v := range ok {
			e[k] = v
		}
		for i := 0; i+1 < len(changes); i += 2 {
			e[changes[i]] = changes[i+1]
		}
		return e
	}
	for name, tc := range map[string]struct {
		env  env
		args []string
		want string
	}{
		"no registry table": {with("REGISTRY_TABLE", ""), []string{"conflicts"},
			"conflicts: REGISTRY_TABLE is not set: the registry's DynamoDB table, e.g. onboardings (see supportctl conflicts -h)"},
		"a registry table DynamoDB refuses": {with("REGISTRY_TABLE", "on boardings"), []string{"list"},
			"list: REGISTRY_TABLE='on boardings': not a DynamoDB table name (3 to 255 letters, digits, _ . or -) (see supportctl list -h)"},
		"a vendor account that is not 12 digits": {with("VENDOR_ACCOUNT_ID", "12345"), []string{"issuer", "keys", "-account", "111122223333"},
			"issuer keys: VENDOR_ACCOUNT_ID=12345: not 12 digits (the vendor's AWS account ID, such as 111122223333) (see supportctl issuer keys -h)"},
		"onboard with a short vendor account": {with("VENDOR_ACCOUNT_ID", "12345"), []string{"onboard", "-tenant", "acme", "-account", "111122223333"},
			"onboard: VENDOR_ACCOUNT_ID=12345: not 12 digits (the vendor's AWS account ID, such as 111122223333) (see supportctl onboard -h)"},
		"onboard without a hook topic": {with("HOOK_TOPIC_ARN", ""), []string{"onboard", "-tenant", "acme", "-account", "111122223333"},
			"onboard: HOOK_TOPIC_ARN: required: want the vendor's SNS topic (or hook Lambda function) in us-east-1, such as arn:aws:sns:us-east-1:<vendor account>:doit-support-gateway-hook (see supportctl onboard -h)"},
		"onboard with a template over http": {with("MANAGEMENT_TEMPLATE_URL", "http://example.com/t.yaml"), []string{"onboard", "-tenant", "acme", "-account", "111122223333"},
			"onboard: MANAGEMENT_TEMPLATE_URL=http://example.com/t.yaml: not an https URL (see supportctl onboard -h)"},
		"issuer without a signer": {with("SIGNER_ROLE_ARN", ""), []string{"issuer", "create-subject-key"},
			"issuer create-subject-key: SIGNER_ROLE_ARN is not set: the role that signs with the keys, e.g. arn:aws:iam::<vendor account>:role/DoiT-Support-Issuer (see supportctl issuer create-subject-key -h)"},
		"a signer of another account": {with("SIGNER_ROLE_ARN", "arn:aws:iam::999999999999:role/S"), []string{"issuer", "render", "-dir", "site"},
			"issuer render: SIGNER_ROLE_ARN=arn:aws:iam::999999999999:role/S: not a role of VENDOR_ACCOUNT_ID 123456789012 (want arn:aws:iam::123456789012:role/<name>) (see supportctl issuer render -h)"},
		"repair: a signer without a bucket": {with("ISSUER_BUCKET", ""), []string{"repair", "-dry-run"},
			"repair: ISSUER_BUCKET is not set: required with SIGNER_ROLE_ARN: gateway roles are proven with tokens STS verifies against the documents published there (see supportctl repair -h)"},
		"sweep: a probe setting": {with("PROBE_WITHOUT_EXTERNAL_ID", "no"), []string{"sweep"},
			"sweep: PROBE_WITHOUT_EXTERNAL_ID=no: give true or false (see supportctl sweep -h)"},
		"sweep: several problems at once": {with("VENDOR_ACCOUNT_ID", "", "REPROOFS_PER_HOUR", "0"), []string{"sweep"},
			"sweep: VENDOR_ACCOUNT_ID is not set: the vendor's AWS account ID, 12 digits\nREPROOFS_PER_HOUR: want a positive number, not \"0\" (see supportctl sweep -h)"},
		"no broker table": {with(), []string{"broker", "create-table"},
			"broker create-table: BROKER_TABLE is not set: the broker's DynamoDB table, e.g. broker (see supportctl broker create-table -h)"},
		"no API": {with("SUPPORT_API_URL", ""), []string{"broker", "list"},
			"broker list: SUPPORT_API_URL is not set: the backend's API, e.g. http://127.0.0.1:8080 (see supportctl broker list -h)"},
		"a console endpoint over http": {with("FEDERATION_ENDPOINT", "http://signin.example.com/federation"), []string{"broker", "credentials", "-id", id, "-format", "console"},
			"broker credentials: FEDERATION_ENDPOINT=http://signin.example.com/federation: tokens go over https only: give an https URL, or http on a loopback address for a local server (no user, query or fragment) (see supportctl broker credentials -h)"},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(t.Context(), tc.args, tc.env.getenv, &out, io.Discard)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			assert.Equal(t, exitUsage, exitCode(err))
			assert.Empty(t, out.String())
		})
	}

	// with no region anywhere, the operator's commands say so before the SDK's "Missing Region"
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	err := run(t.Context(), []string{"conflicts"}, ok.getenv, io.Discard, io.Discard)
	assert.EqualError(t, err, "conflicts: AWS_REGION is not set, nor a region in the AWS profile: set AWS_REGION, e.g. us-east-1 (see supportctl conflicts -h)")
	assert.Equal(t, exitUsage, exitCode(err))
}

// Exit codes: 0 done, 1 refused or failed, 2 usage; wrapping keeps the class.
func TestExitCodes(t *testing.T) {
	usage := &usageError{err: errors.New("-account is required")}
	for err, want := range map[error]int{
		nil:                                  exitOK,
		usage:                                exitUsage,
		fmt.Errorf("broker list: %w", usage): exitUsage,
		errors.New("refused: you cannot decide on your own request"): exitFailed,
		errNotSignedIn: exitFailed,
	} {
		assert.Equal(t, want, exitCode(err), "%v", err)
	}
}
