package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/supportaccess/gateway/test/sim"
)

// up starts the stand-ins and the backend, registers the demo account through its management-role
// stack, prints how to use them, and waits until ctx ends (Ctrl-C).
func (d *demo) up(ctx context.Context) error {
	start := time.Now()
	for _, s := range []func(context.Context) error{d.startAWS, d.startVendor, d.invite, d.deployManagement, d.registered} {
		if err := s(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintf(d.out, "\nReady in %s.\n", seconds(time.Since(start)))
	fmt.Fprint(d.out, d.upInstructions())
	<-ctx.Done()
	fmt.Fprintln(d.out, "\nstopping…")
	return nil
}

// upInstructions are the URLs, the users and the settings for supportctl.
func (d *demo) upInstructions() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("")
	w("  API (supportd's handler)   %s   (/healthz, /v1/… with a bearer token)", d.vendor.apiURL)
	w("  console (customers)        %s   sign in as %s (password %s), a customer of %s", d.vendor.consoleURL, customer,
		d.vendor.user(customer).Password, tenant)
	w("  OpenID Provider (sign-in)  %s   client %s", d.vendor.op.Issuer(), d.vendor.op.ClientID())
	w("  AWS (moto, checked)        %s   (moto itself: %s)", d.aws.Endpoint(), d.aws.MotoURL())
	w("  registered account         %s (tenant %s, management-role stack)", customerAccount, tenant)
	w("  logs                       %s", d.opts.logs)
	w("")
	w("Users (%s):", d.opts.usersFile)
	for _, u := range d.users {
		password := u.Password
		if password == "" {
			password = "(none: the username alone signs in)"
		}
		groups := strings.Join(u.Groups, ", ")
		if groups == "" {
			groups = "no group: signed in without a role"
		}
		w("  %-6s %-18s password %-38s %s", u.Username, u.Email, password, groups)
	}
	w("")
	w("Paste into a shell for supportctl (go run ./cmd/supportctl …). The AWS settings act as the vendor's backend")
	w("role through the checking front end, so the operator commands work too:")
	w("")
	w("export SUPPORT_API_URL=%s", d.vendor.apiURL)
	w("export AWS_ENDPOINT_URL=%s AWS_REGION=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=",
		d.aws.Endpoint(), sim.Region, sim.BackendAccessKey)
	w("export REGISTRY_TABLE=%s BROKER_TABLE=%s VENDOR_ACCOUNT_ID=%s", sim.RegistryTable, brokerTable, sim.VendorAccount)
	w("export SIGNER_ROLE_ARN=%s ISSUER_BUCKET=%s", sim.SignerRoleARN, sim.IssuerBucket)
	w("export HOOK_TOPIC_ARN=%s MANAGEMENT_TEMPLATE_URL=%s", sim.HookTopic, managementLinkURL)
	w("")
	w("Then, for example (each person with a token cache of their own):")
	w("")
	w("SUPPORTCTL_TOKEN_FILE=$HOME/.config/supportctl/alice.json SUPPORTCTL_PASSWORD=%s go run ./cmd/supportctl login -issuer %s -client-id %s -user %s",
		d.vendor.user(engineer).Password, d.vendor.op.Issuer(), d.vendor.op.ClientID(), engineer)
	w("SUPPORTCTL_TOKEN_FILE=$HOME/.config/supportctl/alice.json go run ./cmd/supportctl broker request -account %s -ticket SUP-1 -justification \"look around\"", customerAccount)
	w("SUPPORTCTL_TOKEN_FILE=$HOME/.config/supportctl/bob.json SUPPORTCTL_PASSWORD=%s go run ./cmd/supportctl login -issuer %s -client-id %s -user %s",
		d.vendor.user(customer).Password, d.vendor.op.Issuer(), d.vendor.op.ClientID(), customer)
	w("SUPPORTCTL_TOKEN_FILE=$HOME/.config/supportctl/bob.json go run ./cmd/supportctl broker list -state pending")
	w("")
	w("Ctrl-C stops everything.")
	return b.String()
}
