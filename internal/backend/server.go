package backend

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/supportaccess/gateway/internal/api"
	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/console"
	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/registry"
)

// ServerUsage lists the settings Server reads.
const ServerUsage = `environment:
  REGISTRY_TABLE, BROKER_TABLE      the registry's and the broker's DynamoDB tables (required)
  OIDC_ISSUER, OIDC_AUDIENCE        the sign-in provider's exact iss and the app client ID (required)
  OIDC_JWKS_URL                     where its keys are, when it serves no discovery document (moto's Cognito)
  OIDC_GROUPS_CLAIM                 the claim with the user's groups (default cognito:groups)
  OIDC_ENGINEER_GROUP               the vendor's engineers' group (required, e.g. doit-engineers)
  OIDC_TENANT_GROUP_PREFIX          tenant groups' prefix (default tenant:)
  VENDOR_ACCOUNT_ID, SIGNER_ROLE_ARN the issuer (without them the API issues no credentials); the API signs
                                    as SIGNER_ROLE_ARN; ISSUER_PRIMARY_HOST, ISSUER_STANDBY_HOST as for the hook
  VENDOR_NAME, SUPPORT_ENVIRONMENT, BROKER_MAX_DURATION, BROKER_PENDING_FOR, BROKER_STAFF_DOMAINS as for supportctl
  CONSOLE_URL                       the customers' web console, served under /console/: its public URL,
                                    https://<host>/console/ (http only on a loopback address); <URL>callback must
                                    be a callback URL of the OIDC_AUDIENCE app client, and OIDC_ISSUER must serve a
                                    discovery document. Sessions live in this process's memory: serve the console
                                    from one process (supportd). Unset: no console
  HOOK_TOPIC_ARN, MANAGEMENT_TEMPLATE_URL  the console's quick-create links for the management-role template, as
                                    for supportctl onboard (unset HOOK_TOPIC_ARN: the console makes no such link)
  GATEWAY_TEMPLATE_URL              the published support-gateway template (default ` + hook.DefaultGatewayTemplateURL + `)
  STACKSET_TEMPLATE_URL             the published StackSet template (unset: the console offers it to upload)`

// Server builds the backend's one handler tree (api.Handler) from the environment: the broker's API
// behind OIDC sign-in, the issuer's documents, the health routes, /readyz checking both tables, and
// with CONSOLE_URL the customers' web console, signing in at the same provider.
func Server(ctx context.Context, getenv func(string) string, awsCfg aws.Config, log *slog.Logger) (http.Handler, error) {
	var problems []error
	need := func(name string) string {
		v := getenv(name)
		if v == "" {
			problems = append(problems, fmt.Errorf("%s: required", name))
		}
		return v
	}
	regTable, brokerTable := need("REGISTRY_TABLE"), need("BROKER_TABLE")
	cfg := auth.Config{Issuer: need("OIDC_ISSUER"), Audience: need("OIDC_AUDIENCE"), JWKSURL: getenv("OIDC_JWKS_URL"),
		GroupsClaim: getenv("OIDC_GROUPS_CLAIM"), EngineerGroup: need("OIDC_ENGINEER_GROUP"),
		TenantGroupPrefix: getenv("OIDC_TENANT_GROUP_PREFIX"), Logger: log}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	verifier, err := auth.NewVerifier(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sign-in (OIDC_*): %w", err)
	}
	db := dynamodb.NewFromConfig(awsCfg)
	reg := &registry.Registry{DB: db, Table: regTable}
	// the API signs as the signer role, the one principal the keys' policies let sign
	var signer issuer.KMSAPI
	if arn := getenv("SIGNER_ROLE_ARN"); arn != "" {
		signer = kms.NewFromConfig(awsx.AssumeRoleConfig(awsCfg, sts.NewFromConfig(awsCfg), arn, "", Vendor(getenv).ManagedByTag()+"-api"))
	}
	iss, err := NewIssuer(getenv, awsCfg, reg, db, signer)
	if err != nil {
		return nil, err
	}
	var mint broker.Minter = NoMinter{}
	var issuerDocs http.Handler
	if iss != nil {
		mint, issuerDocs = iss, iss.Handler()
	}
	b, err := NewBroker(getenv, awsCfg, reg, mint, db, brokerTable, log)
	if err != nil {
		return nil, err
	}
	var web http.Handler // nil interface unless configured: api.Config.Console
	if u := getenv("CONSOLE_URL"); u != "" {
		c, err := console.New(console.Config{URL: u, Issuer: cfg.Issuer, ClientID: cfg.Audience, Verifier: verifier, Broker: b,
			Audit: b.Audit(), Registry: reg, Vendor: Vendor(getenv), Links: ConsoleLinks(getenv), Logger: log})
		if err != nil {
			return nil, fmt.Errorf("CONSOLE_URL=%s: %w", u, err)
		}
		web = c
	}
	ready := func(ctx context.Context) error {
		for _, t := range []string{regTable, brokerTable} {
			if _, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t)}); err != nil {
				return fmt.Errorf("table %s: %w", t, err)
			}
		}
		return nil
	}
	return api.Handler(api.Config{Broker: api.SignedIn(b, verifier), Issuer: issuerDocs, Console: web, Ready: ready, Logger: log}), nil
}

// ConsoleLinks are the console's quick-create settings from the environment (ServerUsage).
func ConsoleLinks(getenv func(string) string) console.Links {
	l := console.Links{Management: hook.LinkConfig{TemplateURL: cmp.Or(getenv("MANAGEMENT_TEMPLATE_URL"), hook.DefaultManagementTemplateURL),
		HookTopicARN: getenv("HOOK_TOPIC_ARN"), VendorAccountID: getenv("VENDOR_ACCOUNT_ID")},
		GatewayTemplateURL: cmp.Or(getenv("GATEWAY_TEMPLATE_URL"), hook.DefaultGatewayTemplateURL), StackSetTemplateURL: getenv("STACKSET_TEMPLATE_URL")}
	return l
}

// NoMinter stands in for an issuer that is not configured: no credentials are issued.
type NoMinter struct{}

// Mint refuses with ErrIssuerNotConfigured.
func (NoMinter) Mint(context.Context, string, issuer.Claims) (string, error) {
	return "", ErrIssuerNotConfigured
}

// HTTPServer serves h on addr with timeouts that bound a slow client: the headers within 5 s, the
// whole request within 15 s, the answer within 30 s (credentials wait on KMS and STS), an idle
// connection 60 s, headers at most 32 KiB.
func HTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 32 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}
