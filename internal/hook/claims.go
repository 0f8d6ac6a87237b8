package hook

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// claim is one Custom::Hook event with its shape checked: the fields are well formed and agree
// with one another. Nothing in it is proven: anyone may publish it.
type claim struct {
	e       cfnresource.Event
	kind    registry.Kind
	account string
	target  policy.Target
	owner   registry.Owner
	mgmt    managementProps
	gw      gatewayProps
}

// resourceType is the type both templates give the hook.
const resourceType = "Custom::Hook"

var (
	accountID = regexp.MustCompile(`^\d{12}$`)
	// stackARNShape is arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>
	// ("AWS CloudFormation resource types: stack ARN", Service Authorization Reference).
	stackARNShape = regexp.MustCompile(`^arn:([a-z-]+):cloudformation:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):stack/([A-Za-z][A-Za-z0-9-]{0,127})/([A-Za-z0-9-]{1,128})$`)
)

// parseClaim checks the shape of e: the resource type, the ServiceToken, the stack ARN, the
// partition, the properties of the template its RoleArn names, and that the stack's account, the
// AccountId property and the role's account are one. Errors are reasons the customer can act on.
func (h *Hook) parseClaim(e cfnresource.Event) (claim, error) {
	c := claim{e: e, owner: registry.Owner{StackID: e.StackID, LogicalID: e.LogicalResourceID}}
	if e.ResourceType != resourceType {
		return c, fmt.Errorf("ResourceType %q is not %s: deploy the template exactly as %s publishes it", clipped(e.ResourceType), resourceType, h.Vendor.Name)
	}
	if err := h.checkServiceToken(e); err != nil {
		return c, err
	}
	stack, err := h.stack(e.StackID)
	if err != nil {
		return c, err
	}
	roleARN, _ := e.ResourceProperties["RoleArn"].(string)
	switch {
	case strings.HasSuffix(roleARN, "/"+h.Vendor.ManagementRoleName()):
		c.kind = registry.Management
		err = cfnresource.DecodeProperties(e.ResourceProperties, &c.mgmt)
		c.account = c.mgmt.AccountID
	case strings.HasSuffix(roleARN, "/"+h.Vendor.GatewayRoleName()):
		c.kind = registry.Gateway
		err = cfnresource.DecodeProperties(e.ResourceProperties, &c.gw)
		c.account = c.gw.AccountID
	default:
		return c, fmt.Errorf("RoleArn %q names neither %s nor %s: deploy the template exactly as %s publishes it",
			clipped(roleARN), h.Vendor.ManagementRoleName(), h.Vendor.GatewayRoleName(), h.Vendor.Name)
	}
	if err != nil {
		return c, err
	}
	if !accountID.MatchString(c.account) {
		return c, fmt.Errorf("AccountId %q is not a 12-digit AWS account ID", clipped(c.account))
	}
	role, err := parseARN(roleARN)
	if err != nil {
		return c, fmt.Errorf("RoleArn: %w", err)
	}
	if stack.Account != c.account || role.Account != c.account {
		return c, fmt.Errorf("accounts disagree: the stack is in %s, AccountId is %s, RoleArn is in %s",
			stack.Account, c.account, clipped(role.Account))
	}
	if role.Partition != stack.Partition {
		return c, fmt.Errorf("partitions disagree: the stack is in %s, RoleArn in %s", stack.Partition, clipped(role.Partition))
	}
	c.target = policy.Target{Partition: stack.Partition, AccountID: c.account}
	return c, nil
}

// stack parses a StackId and checks its partition is one the deployment serves.
func (h *Hook) stack(stackID string) (arn, error) {
	m := stackARNShape.FindStringSubmatch(stackID)
	if m == nil {
		return arn{}, fmt.Errorf("StackId %q is not a CloudFormation stack ARN", clipped(stackID))
	}
	if !slices.Contains(h.partitions(), m[1]) {
		return arn{}, fmt.Errorf("the stack is in the %s partition, which %s's support gateway does not serve (it serves %s)",
			m[1], h.Vendor.Name, strings.Join(h.partitions(), ", "))
	}
	if !slices.Contains(h.regions(), m[2]) {
		return arn{}, fmt.Errorf("the stack is in %s: deploy it in %s, as the template requires", m[2], strings.Join(h.regions(), " or "))
	}
	return arn{Partition: m[1], Service: "cloudformation", Region: m[2], Account: m[3], Resource: "stack/" + m[4] + "/" + m[5]}, nil
}

// regions are where the templates deploy (their Rules pin us-east-1): a stack elsewhere is not one
// of them, and its response bucket is not CloudFormation's.
func (h *Hook) regions() []string {
	if len(h.Regions) == 0 {
		return []string{"us-east-1"}
	}
	return h.Regions
}

func (h *Hook) partitions() []string {
	if len(h.Partitions) == 0 {
		return []string{"aws"}
	}
	return h.Partitions
}

// checkServiceToken requires the request's ServiceToken (CloudFormation sends it twice: at the top
// level and among the properties) to be the vendor's topic or function, the same in both places.
func (h *Hook) checkServiceToken(e cfnresource.Event) error {
	prop, _ := e.ResourceProperties["ServiceToken"].(string)
	tokens := slices.Compact(slices.DeleteFunc([]string{e.ServiceToken, prop}, func(s string) bool { return s == "" }))
	switch {
	case len(tokens) == 0:
		return fmt.Errorf("the request has no ServiceToken: deploy the template exactly as %s publishes it", h.Vendor.Name)
	case len(tokens) > 1:
		return fmt.Errorf("the request names two different ServiceTokens: deploy the template exactly as %s publishes it", h.Vendor.Name)
	}
	a, err := parseARN(tokens[0])
	if err != nil || (a.Service != "sns" && a.Service != "lambda") || !slices.Contains(h.partitions(), a.Partition) ||
		(h.VendorAccountID != "" && a.Account != h.VendorAccountID) {
		return fmt.Errorf("ServiceToken is not %s's: deploy the template exactly as %s publishes it", h.Vendor.Name, h.Vendor.Name)
	}
	return nil
}

// clipped bounds a value from the request quoted in a reason.
func clipped(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
