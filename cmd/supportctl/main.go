// Command supportctl is the vendor operators' tool for the registry (onboarding links, tenant tokens,
// the accounts waiting for a claim, repair, the issuer's keys), and the engineers' and customers'
// client of the broker's API. Operator commands use AWS credentials from the SDK's standard sources
// (AWS_REGION, AWS_ENDPOINT_URL, credentials) and the table from REGISTRY_TABLE; the broker's
// commands act only as the person supportctl login signed in, through the API (SUPPORT_API_URL).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

const usage = `usage: supportctl <command> [flags]

commands:
  onboard -tenant T -account A   record a pending onboarding and print its quick-create link
  tenant-token -tenant T         issue a tenant token for the StackSet's TenantToken (shown once)
  list -status S                 list onboardings by status (PENDING, PENDING_PROOF, REGISTERED, UNCLAIMED,
                                 REJECTED, DEREGISTERED)
  repair [-account A] [-dry-run]  converge one account, or every registered one, to what the vendor
                                 manages there now (drift repair, a new policy version); -dry-run prints
                                 each account's plan and changes nothing; an account whose management
                                 role is gone is offboarded
  sweep                          prove the gateway claims whose proof is due (queued by the pace, or
                                 after a proof that could not be made) and re-check the registrations
                                 a Delete asked to re-check
  conflicts                      list the accounts two tenants claimed: "proven" (the account's own role
                                 names another tenant: unusable for access until resolved) or "claimed"
                                 (a refused claim named another tenant: may be forged, suspends nothing)
  resolve-conflict -account A -tenant T
                                 the operator's decision on a proven conflict: T (one of the two) owns the
                                 account; a claimed one can only be dismissed (T: the bound tenant)
  create-table                   create the registry table (local runs; production declares it in its stack)
  broker <command> [flags]       access requests: request, approve, dismiss, revoke, pre-approve,
                                 credentials, audit (through the API, as the signed-in person), and the
                                 operator's create-table (supportctl broker for details)
  login -issuer URL -client-id ID [-user U]
                                 sign in and cache the token the broker commands send (supportctl login -h)
  logout                         remove the cached token
  issuer <command> [flags]       the issuer's keys: create-subject-key, keys, rotate, render
                                 (supportctl issuer for details)

environment: REGISTRY_TABLE (required by the operator commands; not by broker, login, logout); for onboard also VENDOR_ACCOUNT_ID, HOOK_TOPIC_ARN (the
management template's ServiceToken: the vendor's hook SNS topic, or hook Lambda function, in us-east-1
of VENDOR_ACCOUNT_ID), MANAGEMENT_TEMPLATE_URL (default: the published template); for repair and sweep VENDOR_ACCOUNT_ID,
VENDOR_NAME (default DoiT), SIGNER_ROLE_ARN, ISSUER_BUCKET, ISSUER_THUMBPRINTS, UNPROVEN_CLAIMS_PER_HOUR,
TENANT_CLAIMS_PER_HOUR, TENANT_REJECTIONS_PER_DAY and REPROOFS_PER_HOUR (as the hook Lambda has them)`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "supportctl:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	// the commands of engineers and customers: a client of the API, as whoever signed in
	switch args[0] {
	case "login":
		return runLogin(ctx, args[1:], getenv, out)
	case "logout":
		return runLogout(args[1:], getenv, out)
	case "broker":
		return runBroker(ctx, args[1:], getenv, out)
	}
	// the operators' commands, with AWS credentials
	table := getenv("REGISTRY_TABLE")
	if table == "" {
		return errors.New("REGISTRY_TABLE is not set")
	}
	awsCfg, err := loadAWSConfig(ctx)
	if err != nil {
		return err
	}
	db := dynamodb.NewFromConfig(awsCfg)
	reg := &registry.Registry{DB: db, Table: table}

	cmd, flags := args[0], flag.NewFlagSet(args[0], flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	tenant := flags.String("tenant", "", "the vendor's customer organization")
	account := flags.String("account", "", "the customer's 12-digit AWS account ID")
	status := flags.String("status", string(registry.Unclaimed), "which onboardings to list")
	dryRun := flags.Bool("dry-run", false, "print the plan, change nothing")
	if err := flags.Parse(args[1:]); err != nil {
		return fmt.Errorf("%s: %w\n%s", cmd, err, usage)
	}
	switch cmd {
	case "onboard":
		template := getenv("MANAGEMENT_TEMPLATE_URL")
		if template == "" {
			template = "https://doit-aws-ops-prod-templates.s3.amazonaws.com/doitmanagement.yaml"
		}
		link, err := hook.Link(ctx, reg, hook.LinkConfig{
			TemplateURL: template, HookTopicARN: getenv("HOOK_TOPIC_ARN"), VendorAccountID: getenv("VENDOR_ACCOUNT_ID"),
		}, *tenant, *account)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, link)
		return err
	case "tenant-token":
		token, err := reg.IssueTenantToken(ctx, *tenant)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, token)
		return err
	case "list":
		items, err := reg.ListByStatus(ctx, registry.Status(strings.ToUpper(*status)))
		if err != nil {
			return err
		}
		for _, o := range items {
			if _, err := fmt.Fprintf(out, "%s\t%s\t%s\ttenant=%q\tstack=%s\n", o.AccountID, o.Kind, o.Status, o.Tenant, o.StackID); err != nil {
				return err
			}
		}
		return nil
	case "repair", "sweep":
		h, p, err := newHook(awsCfg, getenv, table)
		if err != nil {
			return err
		}
		if cmd == "sweep" {
			return h.Sweep(ctx, out)
		}
		var accounts []string
		if *account != "" {
			accounts = []string{*account}
		}
		return h.Repair(ctx, p, accounts, *dryRun, out)
	case "conflicts":
		conflicts, err := reg.Conflicts(ctx)
		if err != nil {
			return err
		}
		for _, c := range conflicts {
			kind := "claimed" // a refused claim: it may be forged, and suspends nothing
			if c.Proven {
				kind = "proven" // the account's own role: unusable for access until resolved
			}
			if _, err := fmt.Fprintf(out, "%s\t%s\tbound=%q\tclaimed-by=%q\t%s\tstack=%s\t%s\n", c.AccountID, kind, c.Tenant, c.Claimant, c.Kind,
				c.StackID, c.At.Format(time.RFC3339)); err != nil {
				return err
			}
		}
		return nil
	case "resolve-conflict":
		if err := hook.ResolveConflict(ctx, reg, *account, *tenant); err != nil {
			return err
		}
		_, err := fmt.Fprintf(out, "%s\tresolved: %s owns it\n", *account, *tenant)
		return err
	case "issuer":
		return runIssuer(ctx, flags.Args(), getenv, awsCfg, reg, out)
	case "create-table":
		if _, err := db.CreateTable(ctx, registry.TableInput(table)); err != nil {
			return fmt.Errorf("creating table %s: %w", table, err)
		}
		_, err := fmt.Fprintln(out, "created", table)
		return err
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

// loadAWSConfig loads the SDK's configuration from its standard sources.
func loadAWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRetryMode(aws.RetryModeAdaptive))
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	return cfg, nil
}

// newHook builds the hook's rules as the hook Lambda runs them, from the same variables.
func newHook(awsCfg aws.Config, getenv func(string) string, table string) (*hook.Hook, *hook.Reconciling, error) {
	vendor := policy.DefaultVendor()
	if name := getenv("VENDOR_NAME"); name != "" {
		vendor.Name = name
	}
	// the same paces as the hook Lambda's: the counters are shared, so a sweep spends from the same budgets
	paces, problems := hook.PacesFromEnv(getenv)
	// the same thumbprints, so a repair converges the providers to what the hook would, checked by the same rule
	thumbprints, err := gateway.ParseThumbprints(getenv("ISSUER_THUMBPRINTS"))
	if err != nil {
		problems = append(problems, fmt.Errorf("ISSUER_THUMBPRINTS: %w", err))
	}
	if len(problems) > 0 {
		return nil, nil, errors.Join(problems...)
	}
	return hook.New(awsCfg, hook.Settings{Vendor: vendor, VendorAccountID: getenv("VENDOR_ACCOUNT_ID"), Table: table,
		SignerRoleARN: getenv("SIGNER_ROLE_ARN"), IssuerBucket: getenv("ISSUER_BUCKET"), Budget: awsx.PropagationBudget,
		SkipNegativeProbe: getenv("PROBE_WITHOUT_EXTERNAL_ID") == "false", Paces: paces, Thumbprints: thumbprints})
}
