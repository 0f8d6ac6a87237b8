package hook

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// DefaultManagementTemplateURL is where the management-role template is published (docs/deploy.md,
// "Publishing the templates"): the onboarding links' template unless configured otherwise.
const DefaultManagementTemplateURL = "https://doit-aws-ops-prod-templates.s3.amazonaws.com/doitmanagement.yaml"

// DefaultGatewayTemplateURL is where the support-gateway template is published.
const DefaultGatewayTemplateURL = "https://doit-support.s3.amazonaws.com/doit-support.json"

// LinkConfig is what the vendor's onboarding link points at.
type LinkConfig struct {
	ConsoleURL      string // default https://console.aws.amazon.com
	TemplateURL     string // the published management-role template
	StackName       string // default doit-management-role
	HookTopicARN    string // the ServiceToken: the vendor's hook topic (or function) in us-east-1, in VendorAccountID
	VendorAccountID string // AccountNumberParameter
}

// Onboarder records pending onboardings and prints their quick-create links.
type Onboarder interface {
	StartOnboarding(ctx context.Context, tenant, account, externalID string) (registry.Onboarding, error)
}

var _ Onboarder = (*registry.Registry)(nil)

var (
	twelveDigits = regexp.MustCompile(`^\d{12}$`)
	serviceToken = regexp.MustCompile(policy.ServiceTokenPattern)
	// a standard topic's name (SNS CreateTopic: up to 256 letters, digits, hyphens and underscores).
	// A FIFO topic (".fifo") is not one: Publish to it needs a MessageGroupId, which CloudFormation
	// does not send.
	topicName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	// a function (Lambda: a name of up to 64 letters, digits, hyphens and underscores), optionally
	// with a version or alias; $LATEST is not one the templates' pattern admits.
	functionName = regexp.MustCompile(`^function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_-]{1,128})?$`)
)

// Validate checks the link's settings where they enter, before a pending onboarding is recorded:
// whatever the link carries the customer's stack must accept and the hook must answer to.
//
// HookTopicARN (HOOK_TOPIC_ARN) is the management template's ServiceToken, so it must be what that
// parameter's AllowedPattern admits (policy.ServiceTokenPattern: an SNS topic or a Lambda function
// in us-east-1; else CloudFormation refuses the stack's parameters), in the aws partition (the link
// opens the commercial console in us-east-1, a region of no other partition), in VendorAccountID
// (the hook refuses an event whose ServiceToken is in another account, so the customer's stack
// would fail), and a standard topic or a function by name (the only two a custom resource can
// notify).
func (c LinkConfig) Validate() error {
	var problems []error
	if !twelveDigits.MatchString(c.VendorAccountID) {
		problems = append(problems, fmt.Errorf("VENDOR_ACCOUNT_ID: %q is not a 12-digit AWS account ID", c.VendorAccountID))
	}
	if c.TemplateURL == "" {
		problems = append(problems, errors.New("the management template's URL is not configured"))
	}
	if err := c.checkServiceToken(); err != nil {
		problems = append(problems, fmt.Errorf("HOOK_TOPIC_ARN: %w", err))
	}
	return errors.Join(problems...)
}

func (c LinkConfig) checkServiceToken() error {
	const want = "want the vendor's SNS topic (or hook Lambda function) in us-east-1, " +
		"such as arn:aws:sns:us-east-1:<vendor account>:doit-support-gateway-hook"
	if c.HookTopicARN == "" {
		return fmt.Errorf("required: %s", want)
	}
	a, err := parseARN(c.HookTopicARN)
	if err != nil {
		return fmt.Errorf("%q is not an ARN: %s", c.HookTopicARN, want)
	}
	switch {
	case a.Partition != "aws":
		return fmt.Errorf("%q is in partition %q, want aws: the link opens the management template in us-east-1 "+
			"of the commercial console", c.HookTopicARN, a.Partition)
	case a.Region != "us-east-1":
		return fmt.Errorf("%q is in %q, want us-east-1: the management template's ServiceToken must be in us-east-1 "+
			"(its AllowedPattern)", c.HookTopicARN, a.Region)
	case a.Service != "sns" && a.Service != "lambda":
		return fmt.Errorf("%q is an ARN of %s: %s", c.HookTopicARN, a.Service, want)
	case a.Account != c.VendorAccountID:
		return fmt.Errorf("%q is in account %q, want VENDOR_ACCOUNT_ID %q: the hook refuses an event whose ServiceToken "+
			"is another account's", c.HookTopicARN, a.Account, c.VendorAccountID)
	case a.Service == "sns" && !topicName.MatchString(a.Resource):
		return fmt.Errorf("%q does not name a standard SNS topic (up to 256 letters, digits, - and _; not a FIFO topic, "+
			"to which CloudFormation cannot publish)", c.HookTopicARN)
	case a.Service == "lambda" && !functionName.MatchString(a.Resource):
		return fmt.Errorf("%q does not name a Lambda function (function:<name>, optionally :<version or alias>)", c.HookTopicARN)
	case !serviceToken.MatchString(c.HookTopicARN): // the checks above imply it; the template's own pattern is the rule
		return fmt.Errorf("%q is not what the management template's ServiceToken admits (%s)", c.HookTopicARN, policy.ServiceTokenPattern)
	}
	return nil
}

// Link records a pending onboarding for tenant and account with a fresh ExternalId and returns
// the quick-create URL the customer clicks. A new link replaces a pending one (the older link
// stops working); an account a stack has registered is refused until that stack is deleted.
func Link(ctx context.Context, reg Onboarder, c LinkConfig, tenant, account string) (string, error) {
	if tenant == "" {
		return "", fmt.Errorf("onboarding link: the tenant is empty")
	}
	if !twelveDigits.MatchString(account) {
		return "", fmt.Errorf("onboarding link: %q is not a 12-digit AWS account ID", account)
	}
	if err := c.Validate(); err != nil {
		return "", fmt.Errorf("onboarding link: %w", err)
	}
	externalID, err := registry.NewExternalID()
	if err != nil {
		return "", err
	}
	if _, err := reg.StartOnboarding(ctx, tenant, account, externalID); err != nil {
		return "", fmt.Errorf("onboarding link for %s: %w", account, err)
	}
	return QuickCreateURL(c, externalID), nil
}

// QuickCreateURL is the CloudFormation console link that opens the management-role template with
// its parameters filled in, in us-east-1 (the region the template requires).
func QuickCreateURL(c LinkConfig, externalID string) string {
	stack := c.StackName
	if stack == "" {
		stack = "doit-management-role"
	}
	return QuickCreate(c.ConsoleURL, c.TemplateURL, stack, [2]string{"ExternalId", externalID},
		[2]string{"ServiceToken", c.HookTopicARN}, [2]string{"AccountNumberParameter", c.VendorAccountID})
}

// QuickCreate is the CloudFormation console link (console: default https://console.aws.amazon.com)
// that opens templateURL as stack, with params (name, value) filled in, in us-east-1. The console
// reads the quick-create parameters from the fragment, which browsers never send to a server.
// Source: "Creating quick-create links for stacks", AWS CloudFormation User Guide.
func QuickCreate(console, templateURL, stack string, params ...[2]string) string {
	if console == "" {
		console = "https://console.aws.amazon.com"
	}
	var b strings.Builder
	b.WriteString(console + "/cloudformation/home?region=us-east-1#/stacks/quickcreate?templateURL=" + url.QueryEscape(templateURL) +
		"&stackName=" + url.QueryEscape(stack))
	for _, p := range params {
		b.WriteString("&param_" + p[0] + "=" + url.QueryEscape(p[1]))
	}
	return b.String()
}
