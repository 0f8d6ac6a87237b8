package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/supportaccess/gateway/internal/backend"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/registry"
)

const brokerUsage = `usage: supportctl broker <command> [-as PRINCIPAL] [flags]

commands:
  request -account A -ticket T -justification J [-duration 1h]   ask for access (prints the request)
  approve -id R | dismiss -id R | revoke -id R                   the customer's decisions (-as tenant:<tenant>/<user>)
  pre-approve -account A -max-duration D                         a standing approval (0 removes it)
  credentials -id R [-format json|env|console]                   the requester's session: credentials, or a
                                                                 console sign-in URL (FEDERATION_ENDPOINT)
  audit -account A | -engineer E [-since T] [-until T]           the audit log as JSON lines (T: RFC 3339)
  create-table                                                   create the broker table, with its TTL

PRINCIPAL (-as, or SUPPORT_PRINCIPAL) is who acts: an engineer, or a customer tenant:<tenant>/<user>.
environment: BROKER_TABLE (required), REGISTRY_TABLE; for credentials also VENDOR_ACCOUNT_ID and
SIGNER_ROLE_ARN (the issuer's keys live in REGISTRY_TABLE); optional VENDOR_NAME, SUPPORT_ENVIRONMENT (the
DoiTEnvironment session tag value, default support: up to 256 letters, digits, spaces and _.:/=+-@),
BROKER_MAX_DURATION (15m to 1h, the longest session; default 1h), BROKER_PENDING_FOR (1m to 168h; default 3h),
BROKER_STAFF_DOMAINS (the vendor's staff e-mail domains, comma-separated, whose addresses never decide for a
customer; default doit.com)`

// runBroker runs "supportctl broker <command>".
func runBroker(ctx context.Context, args []string, getenv func(string) string, awsCfg aws.Config, reg *registry.Registry, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(brokerUsage)
	}
	table := getenv("BROKER_TABLE")
	if table == "" {
		return errors.New("BROKER_TABLE is not set")
	}
	db := dynamodb.NewFromConfig(awsCfg)
	cmd, flags := args[0], flag.NewFlagSet("broker "+args[0], flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	as := flags.String("as", getenv("SUPPORT_PRINCIPAL"), "who acts")
	account := flags.String("account", "", "the customer's 12-digit AWS account ID")
	engineer := flags.String("engineer", "", "the engineer whose audit to list")
	ticket := flags.String("ticket", "", "the support ticket")
	justification := flags.String("justification", "", "why access is needed")
	duration := flags.Duration("duration", time.Hour, "how long access is needed")
	maxDuration := flags.Duration("max-duration", time.Hour, "the standing approval's longest access")
	id := flags.String("id", "", "the request ID")
	format := flags.String("format", "json", "credentials as json, env (export lines) or console (a sign-in URL)")
	since := flags.String("since", "", "audit events from (RFC 3339)")
	until := flags.String("until", "", "audit events until (RFC 3339)")
	if err := flags.Parse(args[1:]); err != nil {
		return fmt.Errorf("broker %s: %w\n%s", cmd, err, brokerUsage)
	}
	if cmd == "create-table" {
		if err := broker.CreateTable(ctx, db, table); err != nil {
			return err
		}
		_, err := fmt.Fprintln(out, "created", table)
		return err
	}
	iss, err := newIssuer(getenv, awsCfg, reg, db)
	if err != nil {
		return err
	}
	var mint broker.Minter = noIssuer{}
	if iss != nil {
		mint = iss
	}
	b, err := newBroker(getenv, awsCfg, reg, mint, db, table)
	if err != nil {
		return err
	}
	if cmd != "audit" && *as == "" {
		return errors.New("who is acting? set -as or SUPPORT_PRINCIPAL")
	}
	emit := func(v any, err error) error {
		if err != nil {
			return err
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	switch cmd {
	case "request":
		return emit(b.Request(ctx, *as, *account, *ticket, *justification, *duration))
	case "approve":
		return emit(b.Approve(ctx, *as, *id))
	case "dismiss":
		return emit(b.Dismiss(ctx, *as, *id))
	case "revoke":
		return emit(b.Revoke(ctx, *as, *id))
	case "pre-approve":
		return emit(b.PreApprove(ctx, *as, *account, *maxDuration))
	case "credentials":
		if *format != "json" && *format != "env" && *format != "console" {
			return fmt.Errorf("broker credentials: -format %q, want json, env or console", *format)
		}
		c, err := b.Credentials(ctx, *as, *id)
		if err != nil {
			return err
		}
		switch *format {
		case "json":
			return emit(c, nil)
		case "console":
			link, err := (&broker.Console{Endpoint: getenv("FEDERATION_ENDPOINT"), Issuer: getenv("CONSOLE_ISSUER")}).SignInURL(ctx, c)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(out, link)
			return err
		}
		_, err = fmt.Fprintf(out, "export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nexport AWS_SESSION_TOKEN=%s\n# expires %s; session %s in %s\n",
			c.AccessKeyID, c.SecretAccessKey, c.SessionToken, c.Expiration.Format(time.RFC3339), c.SessionName, c.RoleARN)
		return err
	case "audit":
		f := broker.Filter{Account: *account, Engineer: *engineer}
		for _, t := range []struct {
			flag string
			v    *time.Time
		}{{*since, &f.Since}, {*until, &f.Until}} {
			if t.flag == "" {
				continue
			}
			if *t.v, err = time.Parse(time.RFC3339, t.flag); err != nil {
				return fmt.Errorf("broker audit: %w", err)
			}
		}
		return b.Audit().Export(ctx, out, f)
	default:
		return fmt.Errorf("unknown broker command %q\n%s", cmd, brokerUsage)
	}
}

var (
	vendorFromEnv          = backend.Vendor
	errIssuerNotConfigured = backend.ErrIssuerNotConfigured
	newIssuer              = backend.NewIssuer
	newBroker              = backend.NewBroker
)

// noIssuer stands in for an issuer that is not configured.
type noIssuer = backend.NoMinter
