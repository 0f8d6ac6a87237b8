package main

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/supportaccess/gateway/internal/tables"
)

// BackendConfig is what the vendor's platform team sets for its own backend stack, in cdk.json's
// context (supportGateway:backend:* keys) or with `cdk deploy -c key=value`. Every field has a
// default, so the stack synthesizes from the committed cdk.json alone.
type BackendConfig struct {
	// RegistryTable and BrokerTable name the two DynamoDB tables (internal/tables declares them).
	RegistryTable, BrokerTable string
	// HookAsset and APIAsset are the directories holding each Lambda's bootstrap binary (make build
	// writes bin/hook/bootstrap; lambdas/api is to write bin/api/bootstrap).
	HookAsset, APIAsset string
	// HookReservedConcurrency is the hook function's reserved concurrency (0: none reserved).
	HookReservedConcurrency int
	// HookTopicCloudFormationOnly keeps the aws:CalledVia condition on the hook topic's policy, so
	// only CloudFormation, acting for a principal of any account, can publish (see hookTopicPolicy).
	HookTopicCloudFormationOnly bool
	// IssuerThumbprints is the hook's ISSUER_THUMBPRINTS ("": IAM's own).
	IssuerThumbprints string
	// IssuerCertificateARN is an ACM certificate in us-east-1 for both issuer hosts; without it the
	// issuer distributions have no alternate domain names, and STS cannot reach the issuer at its hosts.
	IssuerCertificateARN string
	// AuthIssuer and AuthAudience, both or neither, replace the Cognito user pool the stack makes
	// by an external OpenID provider for the HTTP API's JWT authorizer.
	AuthIssuer, AuthAudience string
	// AuthCallbackURLs are the Cognito app client's OAuth callback URLs.
	AuthCallbackURLs []string
	// AuthDomainPrefix, if set, gives the user pool its Cognito domain
	// (https://<prefix>.auth.us-east-1.amazoncognito.com), where the authorization-code flow signs in;
	// without it only the CLI's SRP sign-in works.
	AuthDomainPrefix string
	// TemplateBucketName names the template bucket ("": CloudFormation names it).
	TemplateBucketName string
	// AlarmEmail, if set, subscribes an address to the alarm topic (the subscription must be confirmed).
	AlarmEmail string
	// OperatorRoleARNs may assume the backend role, to run supportctl repair, sweep and issuer
	// commands as the principal the customers' management roles trust.
	OperatorRoleARNs []string
}

// Context keys of the backend stack in cdk.json.
const (
	ctxBackendPrefix          = "supportGateway:backend:"
	ctxRegistryTable          = ctxBackendPrefix + "registryTable"
	ctxBrokerTable            = ctxBackendPrefix + "brokerTable"
	ctxHookAsset              = ctxBackendPrefix + "hookAsset"
	ctxAPIAsset               = ctxBackendPrefix + "apiAsset"
	ctxHookConcurrency        = ctxBackendPrefix + "hookReservedConcurrency"
	ctxHookCloudFormationOnly = ctxBackendPrefix + "hookTopicCloudFormationOnly"
	ctxIssuerThumbprints      = ctxBackendPrefix + "issuerThumbprints"
	ctxIssuerCertificate      = ctxBackendPrefix + "issuerCertificateArn"
	ctxAuthIssuer             = ctxBackendPrefix + "authIssuer"
	ctxAuthAudience           = ctxBackendPrefix + "authAudience"
	ctxAuthCallbackURLs       = ctxBackendPrefix + "authCallbackUrls"
	ctxAuthDomainPrefix       = ctxBackendPrefix + "authDomainPrefix"
	ctxTemplateBucket         = ctxBackendPrefix + "templateBucketName"
	ctxAlarmEmail             = ctxBackendPrefix + "alarmEmail"
	ctxOperatorRoles          = ctxBackendPrefix + "operatorRoleArns"
)

// DefaultBackendConfig is the backend as it deploys without any supportGateway:backend:* context.
func DefaultBackendConfig() BackendConfig {
	return BackendConfig{
		RegistryTable:               tables.Registry.DefaultName,
		BrokerTable:                 tables.Broker.DefaultName,
		HookAsset:                   "bin/hook",
		APIAsset:                    "bin/api",
		HookReservedConcurrency:     20,
		HookTopicCloudFormationOnly: true,
		AuthCallbackURLs:            []string{"http://localhost:8400/callback"},
	}
}

var (
	tableName       = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
	s3BucketName    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	acmCertificate  = regexp.MustCompile(`^arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]+$`)
	vendorRoleARN   = regexp.MustCompile(`^arn:aws:iam::\d{12}:role/[\w+=,.@/-]+$`)
	httpsURL        = regexp.MustCompile(`^https://[^\s/?#]+(/[^\s?#]*)?$`)
	callbackURL     = regexp.MustCompile(`^(https://|http://localhost(:\d+)?/)\S+$`)
	emailAddress    = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	domainPrefix    = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	maxConcurrency  = 1000 // Lambda's default account concurrency; more cannot be reserved anyway
	thumbprintChars = regexp.MustCompile(`^[0-9A-Fa-f,\s]*$`)
)

// BackendConfigFromContext overrides the defaults with the context values that are set; every
// value is checked here, naming its key, so a bad one fails the synthesis and never the deployment.
func BackendConfigFromContext(ctx map[string]any) (BackendConfig, error) {
	c := DefaultBackendConfig()
	var problems []string
	bad := func(key, format string, args ...any) {
		problems = append(problems, "context "+key+": "+fmt.Sprintf(format, args...))
	}
	str := func(key string, dst *string) {
		v, ok := ctx[key]
		if !ok {
			return
		}
		s, ok := v.(string)
		if !ok {
			bad(key, "want a string, got %T", v)
			return
		}
		*dst = strings.TrimSpace(s)
	}
	list := func(key string, dst *[]string) {
		v, ok := ctx[key]
		if !ok {
			return
		}
		var items []string
		switch x := v.(type) {
		case string: // comma-separated, as `cdk deploy -c key=a,b` gives it
			for _, s := range strings.Split(x, ",") {
				if s = strings.TrimSpace(s); s != "" {
					items = append(items, s)
				}
			}
		case []any:
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					bad(key, "want strings, got a %T", e)
					return
				}
				items = append(items, strings.TrimSpace(s))
			}
		default:
			bad(key, "want a list or a comma-separated string, got %T", v)
			return
		}
		*dst = items
	}
	str(ctxRegistryTable, &c.RegistryTable)
	str(ctxBrokerTable, &c.BrokerTable)
	str(ctxHookAsset, &c.HookAsset)
	str(ctxAPIAsset, &c.APIAsset)
	str(ctxIssuerThumbprints, &c.IssuerThumbprints)
	str(ctxIssuerCertificate, &c.IssuerCertificateARN)
	str(ctxAuthIssuer, &c.AuthIssuer)
	str(ctxAuthAudience, &c.AuthAudience)
	str(ctxTemplateBucket, &c.TemplateBucketName)
	str(ctxAlarmEmail, &c.AlarmEmail)
	str(ctxAuthDomainPrefix, &c.AuthDomainPrefix)
	list(ctxAuthCallbackURLs, &c.AuthCallbackURLs)
	list(ctxOperatorRoles, &c.OperatorRoleARNs)
	if v, ok := ctx[ctxHookConcurrency]; ok {
		n, err := integer(v)
		if err != nil || n < 0 || n > maxConcurrency {
			bad(ctxHookConcurrency, "want a whole number from 0 (none reserved) to %d, got %v", maxConcurrency, v)
		} else {
			c.HookReservedConcurrency = n
		}
	}
	if v, ok := ctx[ctxHookCloudFormationOnly]; ok {
		b, err := boolean(v)
		if err != nil {
			bad(ctxHookCloudFormationOnly, "want true or false, got %v", v)
		} else {
			c.HookTopicCloudFormationOnly = b
		}
	}

	for key, name := range map[string]string{ctxRegistryTable: c.RegistryTable, ctxBrokerTable: c.BrokerTable} {
		if !tableName.MatchString(name) {
			bad(key, "%q is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)", name)
		}
	}
	if c.RegistryTable == c.BrokerTable {
		bad(ctxBrokerTable, "the registry and the broker need two tables, both are %q", c.RegistryTable)
	}
	for key, dir := range map[string]string{ctxHookAsset: c.HookAsset, ctxAPIAsset: c.APIAsset} {
		if dir == "" {
			bad(key, "want the directory holding the function's bootstrap")
		}
	}
	if !thumbprintChars.MatchString(c.IssuerThumbprints) {
		bad(ctxIssuerThumbprints, "want comma-separated SHA-1 thumbprints (40 hex digits each)")
	}
	if c.IssuerCertificateARN != "" && !acmCertificate.MatchString(c.IssuerCertificateARN) {
		bad(ctxIssuerCertificate, "%q is not an ACM certificate ARN in us-east-1 (CloudFront takes certificates from us-east-1 only)", c.IssuerCertificateARN)
	}
	switch {
	case (c.AuthIssuer == "") != (c.AuthAudience == ""):
		bad(ctxAuthIssuer, "set both %s and %s (an external OpenID provider), or neither (the stack's Cognito user pool)", ctxAuthIssuer, ctxAuthAudience)
	case c.AuthIssuer != "" && !httpsURL.MatchString(c.AuthIssuer):
		bad(ctxAuthIssuer, "%q is not an https issuer URL", c.AuthIssuer)
	}
	if len(c.AuthCallbackURLs) == 0 {
		bad(ctxAuthCallbackURLs, "want at least one callback URL")
	}
	for _, u := range c.AuthCallbackURLs {
		if !callbackURL.MatchString(u) {
			bad(ctxAuthCallbackURLs, "%q: Cognito takes https callback URLs, or http://localhost for the CLI", u)
		}
	}
	if c.AuthDomainPrefix != "" && (!domainPrefix.MatchString(c.AuthDomainPrefix) || strings.Contains(c.AuthDomainPrefix, "cognito") ||
		strings.Contains(c.AuthDomainPrefix, "aws") || strings.Contains(c.AuthDomainPrefix, "amazon")) {
		bad(ctxAuthDomainPrefix, "%q is not a Cognito domain prefix (lower-case letters, digits and hyphens; no aws, amazon or cognito)", c.AuthDomainPrefix)
	}
	if c.AuthDomainPrefix != "" && c.AuthIssuer != "" {
		bad(ctxAuthDomainPrefix, "a Cognito domain is for the stack's user pool, not an external issuer")
	}
	if c.TemplateBucketName != "" && !s3BucketName.MatchString(c.TemplateBucketName) {
		bad(ctxTemplateBucket, "%q is not an S3 bucket name", c.TemplateBucketName)
	}
	if c.AlarmEmail != "" && !emailAddress.MatchString(c.AlarmEmail) {
		bad(ctxAlarmEmail, "%q is not an e-mail address", c.AlarmEmail)
	}
	for _, arn := range c.OperatorRoleARNs {
		if !vendorRoleARN.MatchString(arn) {
			bad(ctxOperatorRoles, "%q is not an IAM role ARN", arn)
		}
	}
	if len(problems) > 0 {
		return BackendConfig{}, fmt.Errorf("backend configuration:\n  %s", strings.Join(problems, "\n  "))
	}
	return c, nil
}

// integer reads a whole number given as a JSON number or a string (cdk deploy -c gives strings).
func integer(v any) (int, error) {
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) {
			return 0, fmt.Errorf("%v is not whole", x)
		}
		return int(x), nil
	case string:
		return strconv.Atoi(strings.TrimSpace(x))
	}
	return 0, fmt.Errorf("%T is not a number", v)
}

// boolean reads true or false given as a JSON boolean or a string.
func boolean(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		return strconv.ParseBool(strings.TrimSpace(x))
	}
	return false, fmt.Errorf("%T is not a boolean", v)
}
