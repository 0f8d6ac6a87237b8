package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/registry"
)

const issuerUsage = `usage: supportctl issuer <command> [flags]

commands:
  create-subject-key        create the pairwise-subject HMAC key (once per vendor account; idempotent)
  keys -account A           list the account's signing keys: state, when each signs, until when it
                            is published
  rotate -account A [-lead 10m] [-allow-long-lead]
                            give the account a new signing key: published at once, signing after
                            -lead (time to render and upload the JWKS and for caches to refresh:
                            its max-age is 60 s; 0 for a key that must stop signing now); the old
                            key signs until then and stays published until every token it signed
                            has expired (5 minutes later). A lead is never negative, and at most 1h
                            unless -allow-long-lead confirms that the old key is to go on signing
                            that long
  render -dir D [-account A]
                            write the discovery documents and JWKS of one account, or of every
                            registered or unclaimed one, as D/<issuer host>/accounts/<account>/.well-known/…
                            for publishing to S3/CloudFront (upload with Content-Type application/json;
                            sync with --delete so offboarded accounts disappear)

environment: REGISTRY_TABLE (the keys' table), VENDOR_ACCOUNT_ID, SIGNER_ROLE_ARN; optional VENDOR_NAME`

// runIssuer runs "supportctl issuer <command>".
func runIssuer(ctx context.Context, args []string, getenv func(string) string, awsCfg aws.Config, reg *registry.Registry, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(issuerUsage)
	}
	cmd, flags := args[0], flag.NewFlagSet("issuer "+args[0], flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	account := flags.String("account", "", "the customer's 12-digit AWS account ID")
	dir := flags.String("dir", "", "where render writes the files")
	lead := flags.Duration("lead", issuer.DefaultPublishLead, "how long a rotated-in key is published before it signs")
	allowLongLead := flags.Bool("allow-long-lead", false, "confirm a -lead longer than issuer.MaxPublishLead")
	if err := flags.Parse(args[1:]); err != nil {
		return fmt.Errorf("issuer %s: %w\n%s", cmd, err, issuerUsage)
	}
	if cmd == "rotate" { // checked as it enters, before any AWS call
		if err := issuer.CheckPublishLead(*lead, *allowLongLead); err != nil {
			if *lead > 0 {
				err = fmt.Errorf("%w; pass -allow-long-lead to confirm", err)
			}
			return fmt.Errorf("issuer rotate -lead: %w", err)
		}
	}
	iss, err := newIssuer(getenv, awsCfg, reg, dynamodb.NewFromConfig(awsCfg), nil)
	if err != nil {
		return err
	}
	if iss == nil {
		return errIssuerNotConfigured
	}
	switch cmd {
	case "create-subject-key":
		id, err := iss.EnsureSubjectKey(ctx)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, iss.SubjectAlias(), "→", id)
		return err
	case "keys", "rotate": // rotate, then list the keys as they are now
		if *account == "" {
			return fmt.Errorf("issuer %s: -account is required", cmd)
		}
		if cmd == "rotate" {
			if _, err := iss.Rotate(ctx, *account, *lead); err != nil {
				return err
			}
		}
		keys, err := iss.Keys(ctx, *account)
		if err != nil {
			return err
		}
		return printKeys(out, keys)
	case "render":
		if *dir == "" {
			return errors.New("issuer render: -dir is required")
		}
		accounts := []string{*account}
		if *account == "" {
			if accounts, err = onboardedAccounts(ctx, reg); err != nil {
				return err
			}
		}
		rendered := 0
		for _, a := range accounts {
			err := iss.RenderStatic(ctx, *dir, []string{a})
			if *account == "" && (errors.Is(err, issuer.ErrUnknownAccount) || errors.Is(err, issuer.ErrOffboarded)) {
				continue // a stack without a key yet, or one being removed: nothing to publish
			}
			if err != nil {
				return err
			}
			rendered++
		}
		_, err = fmt.Fprintf(out, "rendered %d account(s) into %s\n", rendered, *dir)
		return err
	default:
		return fmt.Errorf("unknown issuer command %q\n%s", cmd, issuerUsage)
	}
}

// onboardedAccounts are the accounts with a registered or unclaimed stack, sorted, once each.
func onboardedAccounts(ctx context.Context, reg *registry.Registry) ([]string, error) {
	var accounts []string
	for _, status := range []registry.Status{registry.Registered, registry.Unclaimed} {
		items, err := reg.ListByStatus(ctx, status)
		if err != nil {
			return nil, err
		}
		for _, o := range items {
			accounts = append(accounts, o.AccountID)
		}
	}
	slices.Sort(accounts)
	return slices.Compact(accounts), nil
}

// printKeys prints a line per key: ID, state, when it signs, until when it is published.
func printKeys(out io.Writer, keys []issuer.KeyRecord) error {
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	for _, k := range keys {
		signs, published := "never", "no longer"
		switch k.State {
		case issuer.KeyActive:
			from := k.SignsFrom
			if from.IsZero() {
				from = k.Created
			}
			signs, published = "signs from "+stamp(from), "published while active"
		case issuer.KeyRetiring:
			signs, published = "signs until "+stamp(k.SignsUntil), "published until "+stamp(k.RetireAfter)
		}
		if _, err := fmt.Fprintf(out, "%s\t%s\t%s\t%s\n", k.KeyID, k.State, signs, published); err != nil {
			return err
		}
	}
	return nil
}
