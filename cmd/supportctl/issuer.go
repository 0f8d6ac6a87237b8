package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/supportaccess/gateway/internal/backend"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/registry"
)

// The issuer's operator commands use the backend's wiring.
var newIssuer = backend.NewIssuer

// issuerEnv is what the issuer's commands read.
var issuerEnv = []envVar{
	{"REGISTRY_TABLE", "the registry's DynamoDB table, where the keys are listed (required)"},
	{"VENDOR_ACCOUNT_ID", "the vendor's AWS account ID (required), 12 digits"},
	{"SIGNER_ROLE_ARN", "the role that signs with the keys, in VENDOR_ACCOUNT_ID (required): their key policies name it"},
	{"VENDOR_NAME", "the vendor's name in aliases and names (default DoiT)"},
	{"ISSUER_PRIMARY_HOST, ISSUER_STANDBY_HOST", "the issuer's host names (default the vendor's)"},
	awsEnv,
}

func issuerCommands() *command {
	return &command{
		name: "issuer", synopsis: "<command> [flags]", section: operators,
		summary: "the issuer's signing keys: create-subject-key, keys, rotate, render",
		about: `The issuer's keys. The hook gives every registered account its signing key and offboards it when the
account's last stack is deleted; the rest is the platform team's. After a rotation, render and upload
the documents within its lead, and again once the old key's retirement has passed.`,
		env: issuerEnv,
		examples: []string{"supportctl issuer keys -account 111122223333",
			"supportctl issuer rotate -account 111122223333 -lead 10m",
			"supportctl issuer render -dir site && aws s3 sync site/ s3://<issuer bucket>/ --delete --content-type application/json"},
		subs: []*command{
			{
				name: "issuer create-subject-key", section: "commands",
				summary: "create the pairwise-subject HMAC key (once per vendor account; idempotent)",
				about: `Creates the KMS HMAC key that computes the engineers' pairwise subjects, once per vendor account, and
prints its alias and key ID; run again, it prints the key that is there.`,
				env:      issuerEnv,
				examples: []string{"supportctl issuer create-subject-key"},
				flags: func(f *flagSet) action {
					return func(ctx context.Context, x *invocation) error {
						iss, _, err := issuerFromEnv(ctx, newEnv(x, f.cmd))
						if err != nil {
							return err
						}
						id, err := iss.EnsureSubjectKey(ctx)
						if err != nil {
							return err
						}
						_, err = fmt.Fprintln(x.out, iss.SubjectAlias(), "→", id)
						return err
					}
				},
			},
			{
				name: "issuer keys", synopsis: "-account A", section: "commands",
				summary:  "list an account's signing keys: ID, state, when each signs, until when it is published",
				env:      issuerEnv,
				examples: []string{"supportctl issuer keys -account 111122223333"},
				flags: func(f *flagSet) action {
					account := f.account("account", "the customer's AWS account ID, 12 digits", required)
					return func(ctx context.Context, x *invocation) error {
						iss, _, err := issuerFromEnv(ctx, newEnv(x, f.cmd))
						if err != nil {
							return err
						}
						keys, err := iss.Keys(ctx, *account)
						if err != nil {
							return err
						}
						if len(keys) == 0 {
							x.note("account %s has no signing keys: it is not onboarded, or no stack of it has registered yet", *account)
						}
						return printKeys(x.out, keys)
					}
				},
			},
			{
				name: "issuer rotate", synopsis: "-account A [-lead D] [-allow-long-lead]", section: "commands",
				summary: "give an account a new signing key: published at once, signing after -lead",
				about: fmt.Sprintf(`Gives the account a new signing key, published at once and signing after -lead: time to render
and upload the JWKS and for caches to refresh (its max-age is %d s); 0 for a key that must stop
signing now. The old key signs until then and stays published until every token it signed has
expired (%s later). A lead is never negative, and at most %s unless -allow-long-lead confirms that
the old key is to go on signing that long. Prints the account's keys as they are now.`,
					issuer.JWKSMaxAge, formatDuration(issuer.MaxTokenLifetime), formatDuration(issuer.MaxPublishLead)),
				env:      issuerEnv,
				examples: []string{"supportctl issuer rotate -account 111122223333", "supportctl issuer rotate -account 111122223333 -lead 0"},
				flags: func(f *flagSet) action {
					account := f.account("account", "the customer's AWS account ID, 12 digits", required)
					lead := f.duration("lead", issuer.DefaultPublishLead, "how long the new key is published before it signs, such as 10m", nil)
					allowLongLead := f.boolean("allow-long-lead", "confirm a -lead longer than "+formatDuration(issuer.MaxPublishLead))
					f.check(func() error {
						if err := issuer.CheckPublishLead(*lead, *allowLongLead); err != nil {
							if *lead > 0 {
								err = fmt.Errorf("%w; pass -allow-long-lead to confirm", err)
							}
							return fmt.Errorf("-lead %s: %w", formatDuration(*lead), err)
						}
						return nil
					})
					return func(ctx context.Context, x *invocation) error {
						iss, _, err := issuerFromEnv(ctx, newEnv(x, f.cmd))
						if err != nil {
							return err
						}
						if _, err := iss.Rotate(ctx, *account, *lead); err != nil {
							return err
						}
						keys, err := iss.Keys(ctx, *account)
						if err != nil {
							return err
						}
						return printKeys(x.out, keys)
					}
				},
			},
			{
				name: "issuer render", synopsis: "-dir D [-account A]", section: "commands",
				summary: "write the discovery documents and JWKS of one account, or of every onboarded one",
				about: `Writes the discovery documents and JWKS of one account, or of every registered or unclaimed one, as
D/<issuer host>/accounts/<account>/.well-known/{openid-configuration,jwks.json}, the bytes the
backend's handler serves, for publishing to S3/CloudFront: upload with Content-Type
application/json, and sync with --delete so offboarded accounts disappear.`,
				env:      issuerEnv,
				examples: []string{"supportctl issuer render -dir site"},
				flags: func(f *flagSet) action {
					dir := f.text("dir", "D", "the directory to write into", required, nil)
					account := f.account("account", "only this account (default: every registered or unclaimed one)", optional)
					return func(ctx context.Context, x *invocation) error {
						iss, reg, err := issuerFromEnv(ctx, newEnv(x, f.cmd))
						if err != nil {
							return err
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
						if rendered == 0 {
							x.note("no registered or unclaimed account has a signing key: nothing to publish")
						}
						_, err = fmt.Fprintf(x.out, "rendered %d account(s) into %s\n", rendered, *dir)
						return err
					}
				},
			},
		},
	}
}

// issuerFromEnv checks issuerEnv, then wires the issuer as the backend does, on the registry's table.
func issuerFromEnv(ctx context.Context, e *environment) (*issuer.Issuer, *registry.Registry, error) {
	vendorFromEnv(e)
	account := e.accountID("VENDOR_ACCOUNT_ID", "the vendor's AWS account ID", required)
	if e.get("SIGNER_ROLE_ARN") == "" {
		e.need("SIGNER_ROLE_ARN", "the role that signs with the keys, e.g. arn:aws:iam::<vendor account>:role/DoiT-Support-Issuer")
	}
	e.roleIn("SIGNER_ROLE_ARN", account)
	cfg, reg, err := registryConfig(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	iss, err := newIssuer(e.getenv, cfg, reg, dynamodb.NewFromConfig(cfg), nil)
	return iss, reg, err
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
