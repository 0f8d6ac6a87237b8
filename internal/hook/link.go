package hook

import (
	"context"
	"fmt"
	"net/url"
	"regexp"

	"github.com/supportaccess/gateway/internal/registry"
)

// LinkConfig is what the vendor's onboarding link points at.
type LinkConfig struct {
	ConsoleURL      string // default https://console.aws.amazon.com
	TemplateURL     string // the published management-role template
	StackName       string // default doit-management-role
	HookTopicARN    string // the ServiceToken: the vendor's hook topic in us-east-1
	VendorAccountID string // AccountNumberParameter
}

// Onboarder records pending onboardings and prints their quick-create links.
type Onboarder interface {
	StartOnboarding(ctx context.Context, tenant, account, externalID string) (registry.Onboarding, error)
}

var _ Onboarder = (*registry.Registry)(nil)

var twelveDigits = regexp.MustCompile(`^\d{12}$`)

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
	if !twelveDigits.MatchString(c.VendorAccountID) || c.TemplateURL == "" || c.HookTopicARN == "" {
		return "", fmt.Errorf("onboarding link: the vendor account, template URL and hook topic must be configured")
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
	console, stack := c.ConsoleURL, c.StackName
	if console == "" {
		console = "https://console.aws.amazon.com"
	}
	if stack == "" {
		stack = "doit-management-role"
	}
	// The console reads the quick-create parameters from the fragment.
	return console + "/cloudformation/home?region=us-east-1#/stacks/quickcreate?" +
		"templateURL=" + url.QueryEscape(c.TemplateURL) +
		"&stackName=" + url.QueryEscape(stack) +
		"&param_ExternalId=" + url.QueryEscape(externalID) +
		"&param_ServiceToken=" + url.QueryEscape(c.HookTopicARN) +
		"&param_AccountNumberParameter=" + url.QueryEscape(c.VendorAccountID)
}
