package gateway

import (
	"github.com/supportaccess/gateway/internal/policy"
)

// Desired is what the vendor manages in one account.
type Desired struct {
	Providers   []Provider
	Role        Role
	Policy      ManagedPolicy
	Attachments []string          // managed policies attached to the role, in order
	Tags        map[string]string // the vendor's tag keys only (policy.Vendor.ResourceTagKeys)
	ManagedBy   string            // who wrote the policy, for its description
}

// Provider is one OIDC identity provider.
type Provider struct {
	ARN, URL  string
	ClientIDs []string
	// Thumbprints are managed only when the vendor configures them: IAM computes one itself when a
	// provider is created without, so comparing against "none" would report drift forever.
	Thumbprints []string
}

// Role is the support role.
type Role struct {
	Name, Path, ARN    string
	Trust              policy.Document
	Boundary           string
	MaxSessionDuration int32
	Description        string
}

// ManagedPolicy is the vendor's one managed policy.
type ManagedPolicy struct {
	Name, Path, ARN string
	Document        policy.Document
}

// Options are the per-account choices.
type Options struct {
	Features        policy.Features
	TemplateVersion string
	Thumbprints     []string // the issuer's certificate thumbprints, if the vendor manages them
}

// DesiredState is the desired state of account t, from the IAM documents of internal/policy.
func DesiredState(v policy.Vendor, t policy.Target, o Options) Desired {
	d := Desired{
		Role: Role{
			Name: v.SupportRoleName(), Path: v.SupportPath(), ARN: v.SupportRoleARN(t),
			Trust:              v.WebIdentityTrust(t),
			Boundary:           v.BoundaryARN(t),
			MaxSessionDuration: 3600,
			Description:        v.Name + " support engineers' read-only access, through " + v.Name + "'s identity providers only.",
		},
		Policy: ManagedPolicy{
			Name: v.SupportPolicyName(), Path: v.SupportPath(), ARN: v.SupportPolicyARN(t),
			Document: policy.SupportPermissions(t, o.Features),
		},
		Attachments: v.AttachAllowList(t),
		Tags:        map[string]string{v.ManagedByTagKey(): v.ManagedByTag(), v.TemplateVersionTagKey(): o.TemplateVersion},
		ManagedBy:   v.ManagedByTag(),
	}
	for host := range v.IssuerHosts {
		d.Providers = append(d.Providers, Provider{
			ARN: v.ProviderARN(t, host), URL: v.IssuerURL(t, host),
			ClientIDs: []string{v.Audience(t)}, Thumbprints: o.Thumbprints,
		})
	}
	return d
}

// Observed is what the account holds at the desired ARNs; a nil pointer means absent.
type Observed struct {
	Providers map[string]*ObservedProvider // by ARN
	Role      *ObservedRole
	Policy    *ObservedPolicy
}

// ObservedProvider is an identity provider as IAM returns it.
type ObservedProvider struct {
	ClientIDs, Thumbprints []string
	Tags                   map[string]string
}

// ObservedRole is the role as IAM returns it.
type ObservedRole struct {
	Trust              policy.Document
	Boundary           string
	MaxSessionDuration int32
	Description        string
	Tags               map[string]string
	Attached           []string // managed policy ARNs
	Inline             []string // inline policy names
}

// ObservedPolicy is the managed policy as IAM returns it.
type ObservedPolicy struct {
	DefaultVersion string
	Document       policy.Document // of the default version
	Versions       []PolicyVersion // oldest first
	Tags           map[string]string
	Attachments    int // entities it is attached to
}

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	ID       string
	Default  bool
	Document *policy.Document // known only when observed
}
