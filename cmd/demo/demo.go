package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/supportaccess/gateway/internal/auth/localop"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/test/sim"
)

// The story's cast.
const (
	tenant            = "acme"         // the vendor's customer (bob's group in the users file is tenant:acme)
	customerAccount   = "111122223333" // acme's account that deploys the management-role stack
	orgManagement     = "210987654321" // acme's organization's management account
	engineer          = "alice"        // a vendor engineer (doit-engineers)
	customer          = "bob"          // acme's customer (tenant:acme)
	ticket            = "SUP-42"
	managementLinkURL = hook.DefaultManagementTemplateURL // where the template is published
)

// demo is the story's state, step to step.
type demo struct {
	story
	opts    options
	users   []localop.User
	log     *slog.Logger
	hookLog io.Writer

	aws    *sim.AWS
	vendor *vendor
	link   string
	stack  *sim.Stack
	alice  *person
	bob    *person
	req    broker.Request
}

// close stops everything the demo started.
func (d *demo) close() error {
	var errs []error
	if d.vendor != nil {
		errs = append(errs, d.vendor.Close())
	}
	if d.aws != nil {
		errs = append(errs, d.aws.Close())
	}
	return errors.Join(errs...)
}

// play tells the whole story.
func (d *demo) play(ctx context.Context) error {
	start := time.Now()
	fmt.Fprintln(d.out, "The support-access gateway, end to end on this machine. AWS is played by moto behind a front end")
	fmt.Fprintln(d.out, "that checks what moto ignores; every other piece is the product's own code.")
	steps := []func(context.Context) error{d.startAWS, d.startVendor, d.invite, d.deployManagement, d.registered,
		d.request, d.approve, d.credentials, d.audit, d.deleteStack}
	d.part("One customer account: the management-role stack")
	for _, s := range steps {
		if err := s(ctx); err != nil {
			return err
		}
	}
	d.part(fmt.Sprintf("An organization: the support-gateway StackSet in %d member accounts", d.opts.accounts))
	if err := d.organization(ctx); err != nil {
		return err
	}
	d.summary(time.Since(start))
	fmt.Fprintf(d.out, "\ndemo: all %d steps passed\n", len(d.steps))
	return nil
}

func (d *demo) startAWS(ctx context.Context) error {
	return d.step("Start the stand-ins for AWS", func(say sayFunc) error {
		var err error
		d.aws, err = sim.Start(ctx, sim.Config{Root: d.opts.root, HookBinary: d.opts.hookBinary, Logs: d.hookLog})
		if err != nil {
			return err
		}
		say("moto (IAM, STS, KMS, DynamoDB, S3, Organizations) at %s: the vendor's account %s and every customer's", d.aws.MotoURL(), sim.VendorAccount)
		say("in front of it, at %s, a checker that refuses what AWS would and moto does not:", d.aws.Endpoint())
		say("  trust policies and ExternalIds, web-identity tokens against the issuer's published keys, KMS key policies")
		say("the hook Lambda: lambdas/hook built as it ships, run under a local Lambda Runtime API, as the backend role")
		return nil
	})
}

func (d *demo) startVendor(ctx context.Context) error {
	return d.step("The vendor's backend starts", func(say sayFunc) error {
		var err error
		d.vendor, err = startVendor(ctx, d.aws, d.users, d.opts.opAddr, d.opts.apiAddr, d.log)
		if err != nil {
			return err
		}
		say("the operator, once per vendor account: the broker's table and the key that names engineers per account")
		say("  $ supportctl broker create-table && supportctl issuer create-subject-key")
		say("sign-in: the local OpenID Provider at %s, %d users from %s", d.vendor.op.Issuer(), len(d.users), d.opts.usersFile)
		say("the API: supportd's handler at %s (/v1 behind sign-in, /healthz; the issuer's documents for the issuer hosts)", d.vendor.apiURL)
		return nil
	})
}

func (d *demo) invite(ctx context.Context) error {
	return d.step(fmt.Sprintf("The vendor invites %s's account %s", tenant, customerAccount), func(say sayFunc) error {
		var err error
		d.link, err = hook.Link(ctx, d.aws.Registry(), hook.LinkConfig{TemplateURL: managementLinkURL,
			HookTopicARN: sim.HookTopic, VendorAccountID: sim.VendorAccount}, tenant, customerAccount)
		if err != nil {
			return err
		}
		say("$ supportctl onboard -tenant %s -account %s", tenant, customerAccount)
		say("a pending onboarding with a fresh ExternalId, and the quick-create link the customer opens:")
		say("  %s", redactExternalID(d.link))
		return nil
	})
}

func (d *demo) deployManagement(ctx context.Context) error {
	return d.step("The customer deploys the management-role stack from the link", func(say sayFunc) error {
		var err error
		if d.stack, err = d.aws.QuickCreate(ctx, customerAccount, d.link); err != nil {
			return err
		}
		say("CloudFormation creates, from the committed %s, in account %s:", sim.ManagementTemplate, customerAccount)
		for _, r := range d.stack.Resources() {
			if r.Type != "Custom::Hook" {
				say("  %-16s %-24s %s", r.LogicalID, r.Type, r.PhysicalID)
			}
		}
		say("then its Custom::Hook notifies the vendor through the SNS topic; the hook Lambda answered %s", d.stack.Hook.Status)
		return nil
	})
}

func (d *demo) registered(ctx context.Context) error {
	return d.step("The vendor has registered the account and provisioned support access", func(say sayFunc) error {
		o, _, err := d.aws.Registry().Get(ctx, customerAccount, registry.Management)
		if err != nil {
			return err
		}
		if o.Status != registry.Registered || o.Tenant != tenant {
			return fmt.Errorf("the registration is %s for tenant %q, want %s for %s", o.Status, o.Tenant, registry.Registered, tenant)
		}
		role := policy.DefaultVendor().ManagementRoleARN(policy.Target{Partition: "aws", AccountID: customerAccount})
		with, without := 0, 0
		for _, dec := range d.aws.Decisions() {
			if dec.Action == "AssumeRole" && dec.Target == role {
				if dec.Allowed {
					with++
				} else {
					without++
				}
			}
		}
		if with == 0 || without == 0 {
			return fmt.Errorf("STS saw %d admitted and %d refused AssumeRole calls on %s: the hook did not prove the role", with, without, role)
		}
		say("the hook proved the role first: STS admitted it with the ExternalId and refused it without")
		say("$ supportctl list -status REGISTERED  →  %s  management  REGISTERED  tenant=%q", customerAccount, o.Tenant)
		made, err := d.aws.Footprint(ctx, customerAccount)
		if err != nil {
			return err
		}
		if len(made) != 4 {
			return fmt.Errorf("the vendor made %d of its 4 resources in the account: %v", len(made), made)
		}
		say("the vendor's provisioner made, through the management role (the customer's boundary caps them):")
		for _, arn := range made {
			say("  %s", arn)
		}
		keys, err := d.aws.KeyStates(ctx, customerAccount)
		if err != nil {
			return err
		}
		jwks, err := d.jwks(ctx, customerAccount)
		if err != nil {
			return err
		}
		if !slices.Equal(keys, []string{"Enabled"}) || jwks != 1 {
			return fmt.Errorf("the account's signing keys are %v with %d published, want one enabled and published", keys, jwks)
		}
		say("the account's own KMS signing key (Enabled), its public key published at https://%s/accounts/%s/.well-known/jwks.json",
			policy.DefaultVendor().IssuerHosts[0], customerAccount)
		return nil
	})
}

// jwks counts the keys of account's JWKS as the API serves it to the primary issuer host.
func (d *demo) jwks(ctx context.Context, account string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.vendor.apiURL+"/accounts/"+account+"/.well-known/jwks.json", nil)
	if err != nil {
		return 0, err
	}
	req.Host = policy.DefaultVendor().IssuerHosts[0]
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("the JWKS of %s: %s", account, resp.Status)
	}
	var set struct{ Keys []json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return 0, err
	}
	return len(set.Keys), nil
}

func (d *demo) request(ctx context.Context) error {
	return d.step(fmt.Sprintf("An engineer (%s) signs in and asks for access", engineer), func(say sayFunc) error {
		var err error
		if d.alice, err = signIn(ctx, d.vendor, engineer); err != nil {
			return err
		}
		say("$ supportctl login -user %s   (authorization code with PKCE at the OpenID Provider; the ID token is cached)", engineer)
		say("$ supportctl broker request -account %s -ticket %s -justification \"EKS upgrade fails\" -duration 30m", customerAccount, ticket)
		if err := d.alice.call(ctx, http.MethodPost, "/v1/requests", map[string]string{"account": customerAccount, "ticket": ticket,
			"justification": "EKS upgrade fails", "duration": "30m"}, &d.req); err != nil {
			return err
		}
		if d.req.State != broker.Pending {
			return fmt.Errorf("the request is %s, want %s", d.req.State, broker.Pending)
		}
		say("request %s by %s: %s (nobody can use the account before the customer decides)", d.req.ID, d.req.Engineer, d.req.State)
		var r *refusal
		err = d.alice.call(ctx, http.MethodPost, "/v1/requests/"+d.req.ID+"/approve", nil, nil)
		if !errors.As(err, &r) || r.status != http.StatusForbidden {
			return fmt.Errorf("the engineer approving her own request: %v, want 403 Forbidden", err)
		}
		say("she cannot approve it herself: %s", r)
		return nil
	})
}

func (d *demo) approve(ctx context.Context) error {
	return d.step(fmt.Sprintf("The customer (%s of %s) signs in and approves", customer, tenant), func(say sayFunc) error {
		var err error
		if d.bob, err = signIn(ctx, d.vendor, customer); err != nil {
			return err
		}
		say("$ supportctl login -user %s && supportctl broker list -state pending", customer)
		var page broker.RequestPage
		if err := d.bob.call(ctx, http.MethodGet, "/v1/requests?state=PENDING", nil, &page); err != nil {
			return err
		}
		if !slices.ContainsFunc(page.Requests, func(r broker.Request) bool { return r.ID == d.req.ID }) {
			return fmt.Errorf("%s's pending requests do not list %s", tenant, d.req.ID)
		}
		say("  %s  %s  %s  %q  %s", d.req.ID, d.req.Engineer, d.req.Ticket, d.req.Justification, d.req.Duration())
		say("$ supportctl broker approve -id %s", d.req.ID)
		var approved broker.Request
		if err := d.bob.call(ctx, http.MethodPost, "/v1/requests/"+d.req.ID+"/approve", nil, &approved); err != nil {
			return err
		}
		if approved.State != broker.Approved {
			return fmt.Errorf("the request is %s, want %s", approved.State, broker.Approved)
		}
		say("%s by %s, access until %s", approved.State, approved.DecidedBy, approved.AccessUntil.Format(time.TimeOnly+" MST"))
		return nil
	})
}

func (d *demo) credentials(ctx context.Context) error {
	return d.step("The engineer gets short-lived credentials: the support role, under her name", func(say sayFunc) error {
		say("$ supportctl broker credentials -id %s -format env", d.req.ID)
		var c broker.Credentials
		if err := d.alice.call(ctx, http.MethodPost, "/v1/requests/"+d.req.ID+"/credentials", nil, &c); err != nil {
			return err
		}
		say("the broker minted a token signed by the account's KMS key; STS checked it against the published keys")
		say("and issued a session of %s until %s (access key …%s)", c.RoleARN, c.Expiration.Format(time.TimeOnly+" MST"), last4(c.AccessKeyID))
		who, err := sts.NewFromConfig(aws.Config{Region: sim.Region, BaseEndpoint: aws.String(d.aws.MotoURL()),
			Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)}).
			GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return fmt.Errorf("GetCallerIdentity with the session: %w", err)
		}
		want := "arn:aws:sts::" + customerAccount + ":assumed-role/" + policy.DefaultVendor().SupportRoleName() + "/" + c.SessionName
		if aws.ToString(who.Arn) != want || !strings.HasPrefix(c.SessionName, d.alice.email) {
			return fmt.Errorf("the session is %s (session name %s), want %s", aws.ToString(who.Arn), c.SessionName, want)
		}
		say("$ aws sts get-caller-identity  →  %s", aws.ToString(who.Arn))
		say("(the session name, engineer and ticket, is what the customer's CloudTrail shows)")
		return nil
	})
}

func (d *demo) audit(ctx context.Context) error {
	return d.step("The customer reads the access log of the account", func(say sayFunc) error {
		say("$ supportctl broker audit -account %s", customerAccount)
		var raw []byte
		if err := d.bob.call(ctx, http.MethodGet, "/v1/audit?account="+customerAccount, nil, &raw); err != nil {
			return err
		}
		var types []string
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			var ev broker.Event
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				return fmt.Errorf("an audit line %q: %w", line, err)
			}
			types = append(types, string(ev.Type))
			detail := ev.Ticket
			switch ev.Type {
			case broker.EventRefused:
				detail = ev.Action + ": " + ev.Reason
			case broker.EventSession:
				detail = "session " + ev.SessionName + ", key …" + ev.AccessKeyLast
			case broker.EventTokenMinted:
				detail = "sub " + ev.Subject
			}
			say("  %s  %-15s %-28s %s", ev.Time.Format(time.TimeOnly), ev.Type, ev.Actor, detail)
		}
		want := []string{"REQUESTED", "REFUSED", "APPROVED", "TOKEN_MINTED", "SESSION_ISSUED"}
		if !slices.Equal(types, want) {
			return fmt.Errorf("the audit holds %v, want %v", types, want)
		}
		return nil
	})
}

func (d *demo) deleteStack(ctx context.Context) error {
	return d.step("The customer deletes the stack: nothing of the vendor's is left", func(say sayFunc) error {
		if err := d.aws.DeleteStack(ctx, d.stack); err != nil {
			return err
		}
		say("CloudFormation sent the Hook's Delete (the hook answered SUCCESS), then deleted the stack's own resources")
		made, err := d.aws.Footprint(ctx, customerAccount)
		if err != nil {
			return err
		}
		if len(made) > 0 {
			return fmt.Errorf("the vendor's resources are still in the account: %v", made)
		}
		say("the vendor's role, policy and identity providers: gone from the account")
		o, _, err := d.aws.Registry().Get(ctx, customerAccount, registry.Management)
		if err != nil {
			return err
		}
		if o.Status != registry.Deregistered {
			return fmt.Errorf("the registration is %s, want %s", o.Status, registry.Deregistered)
		}
		keys, err := d.aws.KeyStates(ctx, customerAccount)
		if err != nil {
			return err
		}
		if len(keys) == 0 || slices.ContainsFunc(keys, func(s string) bool { return s != "PendingDeletion" }) {
			return fmt.Errorf("the account's signing keys are %v, want every one PendingDeletion", keys)
		}
		say("the registration: %s; the account's signing key: %s", o.Status, strings.Join(keys, ", "))
		var r *refusal
		err = d.alice.call(ctx, http.MethodPost, "/v1/requests", map[string]string{"account": customerAccount, "ticket": "SUP-43",
			"justification": "follow-up", "duration": "30m"}, nil)
		if !errors.As(err, &r) {
			return fmt.Errorf("a new request for the deleted account: %v, want a refusal", err)
		}
		say("a new request for the account is refused: %s", r)
		return nil
	})
}

func (d *demo) organization(ctx context.Context) error {
	var (
		org      *sim.Organization
		ou       string
		accounts []string
		token    string
		op       *sim.Operation
	)
	steps := []struct {
		title string
		f     func(sayFunc) error
	}{
		{fmt.Sprintf("%s's AWS organization: a root, an OU, %d member accounts", tenant, d.opts.accounts), func(say sayFunc) error {
			var err error
			if org, err = d.aws.CreateOrganization(ctx, orgManagement); err != nil {
				return err
			}
			if ou, err = org.CreateOU(ctx, org.Root, "workloads"); err != nil {
				return err
			}
			if accounts, err = org.CreateAccounts(ctx, ou, "acme-workload", d.opts.accounts); err != nil {
				return err
			}
			say("management account %s, root %s, OU %s (workloads) holding %s", orgManagement, org.Root, ou, strings.Join(accounts, ", "))
			return nil
		}},
		{fmt.Sprintf("The vendor issues %s's tenant token", tenant), func(say sayFunc) error {
			var err error
			if token, err = d.aws.Registry().IssueTenantToken(ctx, tenant); err != nil {
				return err
			}
			say("$ supportctl tenant-token -tenant %s   (shown once, stored hashed; it ties the accounts to %s)", tenant, tenant)
			return nil
		}},
		{"The customer deploys the StackSet to the OU", func(say sayFunc) error {
			var err error
			op, err = org.DeployStackSet(ctx, sim.StackSetInput{Parameters: map[string]string{"OrganizationalUnitIds": ou, "TenantToken": token}})
			if op != nil {
				say("from the committed %s, in the management account: StackSet %s,", sim.StackSetTemplate, op.StackSet)
				say("one stack of %s per member account (%d at a time, %d failure(s) tolerated):", op.Template, op.Preferences.MaxConcurrent, op.Preferences.FailureTolerance)
				for _, in := range op.Instances {
					say("  %s  %-9s %s", in.Account, in.Status, strings.TrimSpace(seconds(in.Took)+"  "+in.Reason))
				}
				say("each: two identity providers and the DoiT-Support-Gateway role tagged with the token; its Custom::Hook tells the vendor")
			}
			return err
		}},
		{fmt.Sprintf("Every member account is registered to %s", tenant), func(say sayFunc) error {
			if err := d.aws.Settle(ctx); err != nil { // the hook proves each role after its answer
				return err
			}
			proven := 0
			for _, dec := range d.aws.Decisions() {
				if dec.Action == "AssumeRoleWithWebIdentity" && dec.Allowed && strings.HasSuffix(dec.Target, ":role/"+policy.DefaultVendor().GatewayRoleName()) {
					proven++
				}
			}
			say("the vendor proved each account's gateway role: STS admitted a token from that account's own issuer (%d)", proven)
			say("$ supportctl list -status REGISTERED")
			for _, a := range accounts {
				o, _, err := d.aws.Registry().Get(ctx, a, registry.Gateway)
				if err != nil {
					return err
				}
				say("  %s  gateway  %-10s  tenant=%q", a, o.Status, o.Tenant)
				if o.Status != registry.Registered || o.Tenant != tenant {
					return fmt.Errorf("account %s is %s for tenant %q, want %s for %s", a, o.Status, o.Tenant, registry.Registered, tenant)
				}
			}
			if proven < len(accounts) {
				return fmt.Errorf("STS admitted %d gateway proofs for %d accounts", proven, len(accounts))
			}
			return nil
		}},
	}
	for _, s := range steps {
		if err := d.step(s.title, s.f); err != nil {
			return err
		}
	}
	return nil
}

var externalIDParam = regexp.MustCompile(`(param_ExternalId=[^&]{4})[^&]*`)

// redactExternalID keeps a link's ExternalId out of the output but for its first characters.
func redactExternalID(link string) string {
	return externalIDParam.ReplaceAllString(link, "${1}…")
}

func last4(s string) string { return s[max(0, len(s)-4):] }
