package policy

import (
	"fmt"
	"strings"
)

// TemplateVersion identifies the IAM documents and templates of this release. The hook sends it to
// the vendor and the provisioner tags what it creates with it. Change it whenever a document changes.
const TemplateVersion = "2026.11.0"

// Vendor is the support vendor's configuration. The defaults reproduce the source documents (DoiT).
type Vendor struct {
	// Name prefixes every name the vendor owns in a customer account ("DoiT").
	Name string
	// BackendRoleName is the role in the vendor's account that runs the backend; it is the only
	// principal the management role trusts.
	BackendRoleName string
	// IssuerHosts are the primary and the standby host of the vendor's OIDC issuer. Each customer
	// account gets one identity provider per host, at https://<host>/accounts/<account-id>.
	IssuerHosts [2]string
	// HookTopicName is the SNS topic in the vendor's account that the gateway template's hook
	// notifies by default.
	HookTopicName string
}

// DefaultVendor returns the vendor configuration of the source documents.
func DefaultVendor() Vendor {
	return Vendor{
		Name:            "DoiT",
		BackendRoleName: "DoiT-Support-Gateway-Backend",
		IssuerHosts:     [2]string{"oidc.aws-ops.doit-intl.com", "oidc-standby.aws-ops.doit-intl.com"},
		HookTopicName:   "doit-support-gateway-hook",
	}
}

// Validate reports a configuration that would produce broken or unsafe documents.
func (v Vendor) Validate() error {
	if v.Name == "" || strings.ContainsAny(v.Name, " /*?${}") {
		return fmt.Errorf("vendor name %q: must be non-empty, without spaces, slashes, wildcards or ${}", v.Name)
	}
	if v.BackendRoleName == "" || strings.ContainsAny(v.BackendRoleName, " *?${}") {
		return fmt.Errorf("vendor backend role name %q: must be a plain role name", v.BackendRoleName)
	}
	for _, h := range v.IssuerHosts {
		if h == "" || strings.ContainsAny(h, " /:*?${}") {
			return fmt.Errorf("issuer host %q: must be a bare host name (no scheme, path or wildcard)", h)
		}
	}
	if v.IssuerHosts[0] == v.IssuerHosts[1] {
		return fmt.Errorf("issuer hosts: primary and standby must differ, both are %q", v.IssuerHosts[0])
	}
	if v.HookTopicName == "" {
		return fmt.Errorf("hook topic name: must be set")
	}
	return nil
}

// Names every IAM entity the system creates or refers to in a customer account.

// ManagementRoleName is the role the vendor's backend assumes (seed 000).
func (v Vendor) ManagementRoleName() string { return v.Name + "_Management_Role_DO-NOT-DELETE" }

// ManagementPolicyName is the management role's inline policy (seed 000).
func (v Vendor) ManagementPolicyName() string { return v.Name + "_Customer_Policy_DO-NOT-DELETE" }

// BoundaryName is the customer-owned permissions boundary. It deliberately does not match
// "<Name>-*", the prefix of the policies the vendor may write.
func (v Vendor) BoundaryName() string { return v.Name + "_Support_Boundary_DO-NOT-DELETE" }

// SupportPath is the IAM path of the role and policy the provisioner creates.
func (v Vendor) SupportPath() string { return "/" + strings.ToLower(v.Name) + "-support/" }

// SupportRoleName is the role the provisioner creates through the management role.
func (v Vendor) SupportRoleName() string { return v.Name + "-Support" }

// SupportPolicyName is the one managed policy the provisioner writes.
func (v Vendor) SupportPolicyName() string { return v.Name + "-Support-Permissions" }

// GatewayRoleName is the role the support-gateway template creates (seed 002).
func (v Vendor) GatewayRoleName() string { return v.Name + "-Support-Gateway" }

// SessionTagKey is the one session tag the broker sets (seed 002: DoiTEnvironment); customers can
// use it in their own resource policies.
func (v Vendor) SessionTagKey() string { return v.Name + "Environment" }

// GatewayOptionPolicyNames are the inline policies the support-gateway template adds to its role
// for its two options (runbooks, diagnostic tool): their presence is how the vendor reads which
// options the account's own stack enabled.
func (v Vendor) GatewayOptionPolicyNames() (runbooks, diagnostics string) {
	return v.Name + "-Support-Runbooks", v.Name + "-Support-Diagnostics"
}

// TenantTokenTag is the tag the support-gateway template puts on its role with the stack's
// TenantToken: the account's own statement of the organization it belongs to, which the backend
// reads when it proves the role (an event's token is only a claim; the role's tag is set by whoever
// deploys the account's stack).
func (v Vendor) TenantTokenTag() string { return v.Name + "TenantToken" }

// TenantTokenPattern is what a TenantToken parameter admits: empty, or the characters an IAM tag
// value allows (the token goes on the role's tag), at most 256 of them. The vendor issues
// "tt-" and 64 hex digits.
const TenantTokenPattern = `^[A-Za-z0-9._:/=+@-]{0,256}$`

// ServiceTokenPattern is what the templates' ServiceToken parameters admit: an SNS topic or a
// Lambda function in us-east-1, the two targets a custom resource can notify. The onboarding link
// (hook.LinkConfig) checks the value it fills in against it, so the customer never sees the
// template refuse it.
const ServiceTokenPattern = `^arn:aws[a-z-]*:(sns|lambda):us-east-1:\d{12}:[A-Za-z0-9_:.-]+$`

// ManagedByTag is the value of the ManagedByTagKey tag on everything the vendor's templates and
// provisioner create.
func (v Vendor) ManagedByTag() string { return strings.ToLower(v.Name) + "-support-gateway" }

// ManagedByTagKey ("DoiTManagedBy") and TemplateVersionTagKey ("DoiTTemplateVersion") are the tag
// keys the vendor puts on what it creates. They carry the vendor's name because a role's tags are
// its sessions' aws:PrincipalTag, which a customer's ABAC policies may trust: a generic key such
// as ManagedBy or team could collide with the customer's own. The management policy lets the
// vendor set and remove these keys and no other (ResourceTagKeys).
func (v Vendor) ManagedByTagKey() string { return v.Name + "ManagedBy" }

// TemplateVersionTagKey is the tag key holding the release that made a resource.
func (v Vendor) TemplateVersionTagKey() string { return v.Name + "TemplateVersion" }

// ResourceTagKeys are every tag key the vendor sets on a customer's IAM resources.
func (v Vendor) ResourceTagKeys() Strings {
	return Strings{v.ManagedByTagKey(), v.TemplateVersionTagKey()}
}

// Target is the customer account a document is built for. Its fields are concrete values for the
// provisioner, or CloudFormation placeholders for the templates (see Template).
type Target struct {
	Partition string // "aws", or "${AWS::Partition}"
	AccountID string // the customer's account, or "${AWS::AccountId}"
}

// Template is the Target of a CloudFormation template: the stack's own partition and account.
var Template = Target{Partition: "${AWS::Partition}", AccountID: "${AWS::AccountId}"}

func (t Target) iam(resource string) string {
	return "arn:" + t.Partition + ":iam::" + t.AccountID + ":" + resource
}

// AWSManagedPolicyARN is the ARN of an AWS managed policy, such as SecurityAudit.
func (t Target) AWSManagedPolicyARN(name string) string {
	return "arn:" + t.Partition + ":iam::aws:policy/" + name
}

// ManagementRoleARN is the ARN of the management role.
func (v Vendor) ManagementRoleARN(t Target) string { return t.iam("role/" + v.ManagementRoleName()) }

// BoundaryARN is the ARN of the customer-owned boundary.
func (v Vendor) BoundaryARN(t Target) string { return t.iam("policy/" + v.BoundaryName()) }

// SupportRoleARN is the exact ARN of the provisioned support role, path included.
func (v Vendor) SupportRoleARN(t Target) string {
	return t.iam("role" + v.SupportPath() + v.SupportRoleName())
}

// SupportPolicyARN is the exact ARN of the provisioner's managed policy, path included.
func (v Vendor) SupportPolicyARN(t Target) string {
	return t.iam("policy" + v.SupportPath() + v.SupportPolicyName())
}

// GatewayRoleARN is the ARN of the support-gateway template's role.
func (v Vendor) GatewayRoleARN(t Target) string { return t.iam("role/" + v.GatewayRoleName()) }

// IssuerURL is the issuer of this account's tokens on the given host (0 primary, 1 standby).
func (v Vendor) IssuerURL(t Target, host int) string {
	return "https://" + v.issuerPath(t, host)
}

func (v Vendor) issuerPath(t Target, host int) string {
	return v.IssuerHosts[host] + "/accounts/" + t.AccountID
}

// ProviderARN is the ARN of this account's identity provider for the given host.
func (v Vendor) ProviderARN(t Target, host int) string {
	return t.iam("oidc-provider/" + v.issuerPath(t, host))
}

// ProviderARNs are the ARNs of both identity providers, primary first.
func (v Vendor) ProviderARNs(t Target) []string {
	return []string{v.ProviderARN(t, 0), v.ProviderARN(t, 1)}
}

// Audience is the OIDC client ID (the token's aud) for this account. Binding it to the account
// means a token minted for one account is refused by every other.
func (v Vendor) Audience(t Target) string {
	return "urn:" + strings.ToLower(v.Name) + ":support-gateway:" + t.AccountID
}

// AttachAllowList is every managed policy the management role may attach to the support role.
func (v Vendor) AttachAllowList(t Target) []string {
	return []string{
		t.AWSManagedPolicyARN("SecurityAudit"),
		t.AWSManagedPolicyARN("AWSSupportAccess"),
		v.SupportPolicyARN(t),
	}
}
