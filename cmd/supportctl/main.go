// Command supportctl is the vendor operators' tool for the registry (onboarding links, tenant tokens,
// the accounts waiting for a claim, repair, the issuer's keys), and the engineers' and customers'
// client of the broker's API. Operator commands use AWS credentials from the SDK's standard sources
// (AWS_REGION, AWS_ENDPOINT_URL, credentials) and the table from REGISTRY_TABLE; the broker's
// commands act only as the person supportctl login signed in, through the API (SUPPORT_API_URL).
//
// supportctl help (or -h, --help, after any command) needs no environment. Exit codes: 0 done, 1
// refused or failed, 2 usage (the command line or the environment is wrong; nothing was called).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/backend"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

func main() {
	// Ctrl-C (or the scheduler's SIGTERM) cancels a command's AWS calls, a throttled call's waits
	// among them, instead of killing it between two writes.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "supportctl:", err)
	}
	os.Exit(exitCode(err))
}

// run runs the command args name with the environment getenv, its results on out and its notes on
// errOut; exitCode maps what it returns to the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, out, errOut io.Writer) error {
	return supportctl().run(ctx, args, &invocation{getenv: getenv, out: out, errOut: errOut})
}

// The sections of the top-level help.
const (
	operators = "operators (AWS credentials; REGISTRY_TABLE)"
	people    = "engineers and customers (as the person supportctl login signed in; SUPPORT_API_URL)"
)

// supportctl is the command tree.
func supportctl() *command {
	return &command{
		synopsis: "<command> [flags]",
		about: `The support-access gateway's tool. Operators onboard customers' accounts, repair them and manage
the issuer's keys with AWS credentials; engineers ask for access and customers decide, through the
backend's API, as the person supportctl login signed in.`,
		more: `output:
  results go to stdout (JSON from the broker's commands, tab-separated lines from the others);
  notes, such as "no requests matched", and errors go to stderr.

exit codes:
  0  done (also when nothing matched: see the note on stderr)
  1  refused or failed: the API, IAM or STS said no, or a call failed
  2  usage: an unknown command, a flag that is unknown, missing or invalid, or an environment
     variable that is not set or not valid; nothing was called`,
		env: []envVar{regEnv, awsEnv, apiEnv[0], apiEnv[1],
			{"…", "each command's help lists the variables it reads"}},
		examples: []string{
			"supportctl onboard -tenant acme -account 111122223333",
			`supportctl broker request -account 111122223333 -ticket SUP-9 -justification "slow queries" -duration 30m`,
			"supportctl help broker request",
		},
		subs: []*command{
			onboardCommand(), tenantTokenCommand(), listCommand(), repairCommand(), sweepCommand(),
			conflictsCommand(), resolveConflictCommand(), createTableCommand(), issuerCommands(),
			loginCommand(), logoutCommand(), brokerCommands(),
		},
	}
}

func onboardCommand() *command {
	return &command{
		name: "onboard", synopsis: "-tenant T -account A", section: operators,
		summary: "record a pending onboarding and print its quick-create link",
		about: `Records a pending onboarding of account A for tenant T, with a fresh ExternalId, and prints the
CloudFormation quick-create link the customer opens. A new link replaces a pending one; an account a
stack has registered, or that is bound to another tenant, is refused.`,
		env: []envVar{regEnv,
			{"VENDOR_ACCOUNT_ID", "the vendor's AWS account ID (required), 12 digits"},
			{"HOOK_TOPIC_ARN", "the management template's ServiceToken (required): the hook's SNS topic, or Lambda function, in us-east-1 of VENDOR_ACCOUNT_ID"},
			{"MANAGEMENT_TEMPLATE_URL", "the management template, https (default " + hook.DefaultManagementTemplateURL + ")"},
			awsEnv},
		examples: []string{"supportctl onboard -tenant acme -account 111122223333"},
		flags: func(f *flagSet) action {
			tenant := f.text("tenant", "T", "the vendor's customer organization", required, nil)
			account := f.account("account", "the customer's AWS account ID, 12 digits", required)
			return func(ctx context.Context, x *invocation) error {
				e := newEnv(x, f.cmd)
				link := hook.LinkConfig{TemplateURL: e.check("MANAGEMENT_TEMPLATE_URL", httpsURL),
					VendorAccountID: e.accountID("VENDOR_ACCOUNT_ID", "the vendor's AWS account ID", required),
					HookTopicARN:    e.get("HOOK_TOPIC_ARN")}
				if link.TemplateURL == "" {
					link.TemplateURL = hook.DefaultManagementTemplateURL
				}
				if len(e.problems) == 0 {
					if err := link.Validate(); err != nil {
						e.add(err)
					}
				}
				_, reg, err := registryConfig(ctx, e)
				if err != nil {
					return err
				}
				url, err := hook.Link(ctx, reg, link, *tenant, *account)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(x.out, url)
				return err
			}
		},
	}
}

func tenantTokenCommand() *command {
	return &command{
		name: "tenant-token", synopsis: "-tenant T", section: operators,
		summary:  "issue a tenant token for the StackSet's TenantToken (shown once, stored hashed)",
		env:      []envVar{regEnv, awsEnv},
		examples: []string{"supportctl tenant-token -tenant acme"},
		flags: func(f *flagSet) action {
			tenant := f.text("tenant", "T", "the vendor's customer organization", required, nil)
			return func(ctx context.Context, x *invocation) error {
				_, reg, err := registryConfig(ctx, newEnv(x, f.cmd))
				if err != nil {
					return err
				}
				token, err := reg.IssueTenantToken(ctx, *tenant)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(x.out, token)
				return err
			}
		},
	}
}

// statuses are the onboarding statuses list takes.
var statuses = []string{string(registry.Pending), string(registry.PendingProof), string(registry.Registered),
	string(registry.Unclaimed), string(registry.Rejected), string(registry.Deregistered)}

func listCommand() *command {
	return &command{
		name: "list", synopsis: "[-status S]", section: operators,
		summary: "list onboardings by status, one a line: account, kind, status, tenant, stack",
		about: `Lists the onboardings in one status, one a line: account, kind (MANAGEMENT or GATEWAY), status,
tenant and stack. UNCLAIMED: gateway stacks without a valid token; PENDING_PROOF: gateway claims
waiting for their role's proof; REJECTED: claims whose role STS refused (the reason is on the record).`,
		env:      []envVar{regEnv, awsEnv},
		examples: []string{"supportctl list -status pending_proof"},
		flags: func(f *flagSet) action {
			status := f.enum("status", "S", string(registry.Unclaimed), statuses, "the onboardings' status, in any case")
			return func(ctx context.Context, x *invocation) error {
				_, reg, err := registryConfig(ctx, newEnv(x, f.cmd))
				if err != nil {
					return err
				}
				items, err := reg.ListByStatus(ctx, registry.Status(*status))
				if err != nil {
					return err
				}
				if len(items) == 0 {
					x.note("no onboardings with status %s", *status)
				}
				for _, o := range items {
					if _, err := fmt.Fprintf(x.out, "%s\t%s\t%s\ttenant=%q\tstack=%s\n", o.AccountID, o.Kind, o.Status, o.Tenant, o.StackID); err != nil {
						return err
					}
				}
				return nil
			}
		},
	}
}

// hookEnv is what repair and sweep read, as the hook Lambda reads it.
var hookEnv = []envVar{regEnv,
	{"VENDOR_ACCOUNT_ID", "the vendor's AWS account ID, 12 digits (required with SIGNER_ROLE_ARN)"},
	{"SIGNER_ROLE_ARN", "the issuer's signing role in VENDOR_ACCOUNT_ID (unset: no issuer, gateway roles are not proven)"},
	{"ISSUER_BUCKET", "the issuer's documents' S3 bucket (required with SIGNER_ROLE_ARN)"},
	{"ISSUER_THUMBPRINTS", "the providers' certificate thumbprints, comma-separated, at most 5 (unset: IAM's own)"},
	{"VENDOR_NAME", "the vendor's name in role and policy names (default DoiT)"},
	{"UNPROVEN_CLAIMS_PER_HOUR, TENANT_CLAIMS_PER_HOUR, TENANT_REJECTIONS_PER_DAY, REPROOFS_PER_HOUR", "the paces, positive whole numbers, as the hook has them (shared counters)"},
	{"PROBE_WITHOUT_EXTERNAL_ID", "true (default) or false: false skips the probe that the role refuses a call without the ExternalId (only where STS ignores trust policies)"},
	awsEnv}

func repairCommand() *command {
	return &command{
		name: "repair", synopsis: "[-account A] [-dry-run]", section: operators,
		summary: "converge one registered account, or all, to what the vendor manages there now",
		about: `Converges one account, or every registered one, to what the vendor manages there now (drift repair,
rolling a new policy version), one line an account. -dry-run prints each account's plan and changes
nothing. An account whose management role can no longer be assumed is offboarded.`,
		env:      hookEnv,
		examples: []string{"supportctl repair -dry-run", "supportctl repair -account 111122223333"},
		flags: func(f *flagSet) action {
			account := f.account("account", "only this registered account (default: every registered one)", optional)
			dryRun := f.boolean("dry-run", "print each account's plan, change nothing")
			return func(ctx context.Context, x *invocation) error {
				h, p, err := newHook(ctx, newEnv(x, f.cmd))
				if err != nil {
					return err
				}
				var accounts []string
				if *account != "" {
					accounts = []string{*account}
				}
				out := &countingWriter{w: x.out}
				err = h.Repair(ctx, p, accounts, *dryRun, out)
				if err == nil && out.n == 0 {
					x.note("no registered account to repair: nothing was changed")
				}
				return err
			}
		},
	}
}

func sweepCommand() *command {
	return &command{
		name: "sweep", section: operators,
		summary: "prove the gateway claims that are due; re-check what Deletes asked for; re-prove daily",
		about: `Proves the gateway claims whose proof is due (queued by the pace, or after a proof that could not be
made), re-checks the registrations a Delete asked to re-check, and re-proves every registration once a
day; one line per account proved: account, status, reason.`,
		env:      hookEnv,
		examples: []string{"supportctl sweep"},
		flags: func(f *flagSet) action {
			return func(ctx context.Context, x *invocation) error {
				h, _, err := newHook(ctx, newEnv(x, f.cmd))
				if err != nil {
					return err
				}
				out := &countingWriter{w: x.out}
				err = h.Sweep(ctx, out)
				if err == nil && out.n == 0 {
					x.note("nothing to sweep: no gateway claim or registration is due a proof")
				}
				return err
			}
		},
	}
}

func conflictsCommand() *command {
	return &command{
		name: "conflicts", section: operators,
		summary: "list the accounts two tenants claimed",
		about: `Lists the accounts two tenants claimed, one a line: account, kind, the bound tenant, the claimant,
the stack's kind and ID, when. "proven": the account's own role names another tenant (unusable for
access until resolved); "claimed": a refused claim named another tenant (may be forged, suspends
nothing).`,
		env:      []envVar{regEnv, awsEnv},
		examples: []string{"supportctl conflicts"},
		flags: func(f *flagSet) action {
			return func(ctx context.Context, x *invocation) error {
				_, reg, err := registryConfig(ctx, newEnv(x, f.cmd))
				if err != nil {
					return err
				}
				conflicts, err := reg.Conflicts(ctx)
				if err != nil {
					return err
				}
				if len(conflicts) == 0 {
					x.note("no conflicts: no account is claimed by two tenants")
				}
				for _, c := range conflicts {
					kind := "claimed" // a refused claim: it may be forged, and suspends nothing
					if c.Proven {
						kind = "proven" // the account's own role: unusable for access until resolved
					}
					if _, err := fmt.Fprintf(x.out, "%s\t%s\tbound=%q\tclaimed-by=%q\t%s\tstack=%s\t%s\n", c.AccountID, kind, c.Tenant, c.Claimant, c.Kind,
						c.StackID, c.At.Format(time.RFC3339)); err != nil {
						return err
					}
				}
				return nil
			}
		},
	}
}

func resolveConflictCommand() *command {
	return &command{
		name: "resolve-conflict", synopsis: "-account A -tenant T", section: operators,
		summary: "the operator's decision on a conflict: which tenant owns the account",
		about: `The operator's decision on a proven conflict: T (one of the two tenants) owns the account. A claimed
conflict can only be dismissed (T: the bound tenant).`,
		env:      []envVar{regEnv, awsEnv},
		examples: []string{"supportctl resolve-conflict -account 230000000001 -tenant acme"},
		flags: func(f *flagSet) action {
			account := f.account("account", "the account in conflict, 12 digits", required)
			tenant := f.text("tenant", "T", "the tenant that owns it", required, nil)
			return func(ctx context.Context, x *invocation) error {
				_, reg, err := registryConfig(ctx, newEnv(x, f.cmd))
				if err != nil {
					return err
				}
				if err := hook.ResolveConflict(ctx, reg, *account, *tenant); err != nil {
					return err
				}
				_, err = fmt.Fprintf(x.out, "%s\tresolved: %s owns it\n", *account, *tenant)
				return err
			}
		},
	}
}

func createTableCommand() *command {
	return &command{
		name: "create-table", section: operators,
		summary:  "create the registry table (local runs; production declares it in its stack)",
		env:      []envVar{regEnv, awsEnv},
		examples: []string{"REGISTRY_TABLE=onboardings supportctl create-table"},
		flags: func(f *flagSet) action {
			return func(ctx context.Context, x *invocation) error {
				cfg, reg, err := registryConfig(ctx, newEnv(x, f.cmd))
				if err != nil {
					return err
				}
				if _, err := dynamodb.NewFromConfig(cfg).CreateTable(ctx, registry.TableInput(reg.Table)); err != nil {
					return fmt.Errorf("creating table %s: %w", reg.Table, err)
				}
				_, err = fmt.Fprintln(x.out, "created", reg.Table)
				return err
			}
		},
	}
}

// loadAWSConfig loads the SDK's configuration from its standard sources.
func loadAWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRetryer(awsx.PatientRetryer(awsx.PatientRetry{})))
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	return cfg, nil
}

func newRegistry(cfg aws.Config, table string) *registry.Registry {
	return &registry.Registry{DB: dynamodb.NewFromConfig(cfg), Table: table}
}

// newHook checks hookEnv, then builds the hook's rules as the hook Lambda runs them, from the same
// variables.
func newHook(ctx context.Context, e *environment) (*hook.Hook, *hook.Reconciling, error) {
	s := hookSettings(e)
	cfg, reg, err := registryConfig(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	s.Table = reg.Table
	return hook.New(cfg, s)
}

// hookSettings reads the hook's settings from hookEnv as the hook Lambda does; what is wrong is
// left in e.
func hookSettings(e *environment) hook.Settings {
	vendor := vendorFromEnv(e)
	account := e.accountID("VENDOR_ACCOUNT_ID", "the vendor's AWS account ID", e.get("SIGNER_ROLE_ARN") != "")
	signer := e.roleIn("SIGNER_ROLE_ARN", account)
	bucket := e.check("ISSUER_BUCKET", checkBucketName)
	if signer != "" && bucket == "" {
		e.need("ISSUER_BUCKET", "required with SIGNER_ROLE_ARN: gateway roles are proven with tokens STS verifies against the documents published there")
	}
	// the same paces as the hook Lambda's: the counters are shared, so a sweep spends from the same budgets
	paces, problems := hook.PacesFromEnv(e.getenv)
	for _, p := range problems {
		e.add(p)
	}
	// the same thumbprints, so a repair converges the providers to what the hook would, checked by the same rule
	thumbprints, err := gateway.ParseThumbprints(e.get("ISSUER_THUMBPRINTS"))
	if err != nil {
		e.add(fmt.Errorf("ISSUER_THUMBPRINTS: %w", err))
	}
	probe := e.oneOf("PROBE_WITHOUT_EXTERNAL_ID", "true", "false")
	return hook.Settings{Vendor: vendor, VendorAccountID: account, SignerRoleARN: signer, IssuerBucket: bucket,
		Budget: awsx.PropagationBudget, SkipNegativeProbe: probe == "false", Paces: paces, Thumbprints: thumbprints}
}

// vendorFromEnv is the vendor as the backend reads it (VENDOR_NAME, ISSUER_PRIMARY_HOST,
// ISSUER_STANDBY_HOST), checked.
func vendorFromEnv(e *environment) policy.Vendor {
	v := backend.Vendor(e.getenv)
	if err := v.Validate(); err != nil {
		e.add(fmt.Errorf("VENDOR_NAME, ISSUER_PRIMARY_HOST or ISSUER_STANDBY_HOST: %w", err))
	}
	return v
}

// checkBucketName says why v is not an S3 bucket's name.
func checkBucketName(v string) error {
	if !bucketName.MatchString(v) {
		return errors.New("not an S3 bucket name (3 to 63 lower-case letters, digits, . and -)")
	}
	return nil
}
