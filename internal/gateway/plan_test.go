package gateway

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/supportaccess/gateway/internal/policy"
)

var (
	vendor = policy.DefaultVendor()
	acct   = policy.Target{Partition: "aws", AccountID: "111122223333"}
	opts   = Options{Features: policy.Features{Runbooks: true}, TemplateVersion: "v1"}
)

// converged is the observation of an account that is exactly as desired.
func converged(d Desired) Observed {
	o := Observed{Providers: map[string]*ObservedProvider{}}
	for _, p := range d.Providers {
		o.Providers[p.ARN] = &ObservedProvider{ClientIDs: p.ClientIDs, Thumbprints: []string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"}, Tags: d.Tags}
	}
	o.Role = &ObservedRole{Trust: d.Role.Trust, Boundary: d.Role.Boundary, MaxSessionDuration: d.Role.MaxSessionDuration,
		Description: d.Role.Description, Tags: d.Tags, Attached: d.Attachments}
	doc := d.Policy.Document
	o.Policy = &ObservedPolicy{DefaultVersion: "v1", Document: doc, Versions: []PolicyVersion{{ID: "v1", Default: true, Document: &doc}},
		Tags: d.Tags, Attachments: 1}
	return o
}

// steps lists the expected steps; their order within a wave does not matter.
func steps(ss ...Step) []Step {
	sortSteps(ss)
	return ss
}

func TestPlanPresent(t *testing.T) {
	d := DesiredState(vendor, acct, opts)
	p0, p1 := d.Providers[0].ARN, d.Providers[1].ARN
	role, pol := d.Role.ARN, d.Policy.ARN
	audit, support := d.Attachments[0], d.Attachments[1]
	oldDoc := policy.SupportPermissions(acct, policy.Features{})

	tests := map[string]struct {
		observe func(*Observed)
		want    []Step
	}{
		"converged: nothing to do": {func(*Observed) {}, nil},
		"empty account: providers and policy, then the role, then its attachments": {
			func(o *Observed) { *o = Observed{} },
			steps(
				Step{0, CreateProvider, p0, ""}, Step{0, CreateProvider, p1, ""}, Step{0, CreatePolicy, pol, ""},
				Step{1, CreateRole, role, ""},
				Step{2, AttachPolicy, role, audit}, Step{2, AttachPolicy, role, pol}, Step{2, AttachPolicy, role, support},
			)},
		"role missing, providers and policy there: no wait for them": {
			func(o *Observed) { o.Role = nil },
			steps(Step{0, CreateRole, role, ""},
				Step{1, AttachPolicy, role, audit}, Step{1, AttachPolicy, role, pol}, Step{1, AttachPolicy, role, support})},
		"wrong client IDs: recreate the provider, then fix the trust": {
			func(o *Observed) {
				o.Providers[p1].ClientIDs = []string{"sts.amazonaws.com"}
				o.Role.Trust = policy.NewDocument()
			},
			steps(Step{0, RecreateProvider, p1, ""}, Step{1, UpdateTrust, role, ""})},
		"edited trust policy": {func(o *Observed) {
			o.Role.Trust = vendor.WebIdentityTrust(policy.Target{Partition: "aws", AccountID: "999999999999"})
		}, steps(Step{0, UpdateTrust, role, ""})},
		"a missing attachment": {func(o *Observed) { o.Role.Attached = []string{audit, pol} }, steps(Step{0, AttachPolicy, role, support})},
		"a customer's extra attachment is left alone": {
			func(o *Observed) { o.Role.Attached = append(o.Role.Attached, "arn:aws:iam::111122223333:policy/Mine") }, nil},
		"boundary removed by hand": {func(o *Observed) { o.Role.Boundary = "" }, steps(Step{0, PutBoundary, role, d.Role.Boundary})},
		"session duration raised":  {func(o *Observed) { o.Role.MaxSessionDuration = 43200 }, steps(Step{0, UpdateRole, role, ""})},
		"tags missing everywhere": {
			func(o *Observed) {
				o.Role.Tags, o.Policy.Tags = nil, map[string]string{"DoiTManagedBy": "doit-support-gateway", "DoiTTemplateVersion": "old"}
				o.Providers[p0].Tags = nil
			},
			steps(Step{0, TagPolicy, pol, ""}, Step{0, TagProvider, p0, ""}, Step{0, TagRole, role, ""})},
		"customer's own tags do not count as drift": {
			func(o *Observed) {
				o.Role.Tags = map[string]string{"DoiTManagedBy": "doit-support-gateway", "DoiTTemplateVersion": "v1", "CostCenter": "42"}
			}, nil},
		"default version differs, a stored version matches: set it default": {
			func(o *Observed) {
				o.Policy.Document = oldDoc
				o.Policy.Versions = []PolicyVersion{{ID: "v1", Document: &d.Policy.Document}, {ID: "v2", Default: true, Document: &oldDoc}}
			},
			steps(Step{0, SetDefaultVersion, pol, "v1"})},
		"new document, 4 versions: create a fifth": {
			func(o *Observed) { o.Policy.Document, o.Policy.Versions = oldDoc, versions(4, &oldDoc) },
			steps(Step{0, CreatePolicyVersion, pol, ""})},
		"new document at the 5-version limit: prune the oldest non-default first": {
			func(o *Observed) { o.Policy.Document, o.Policy.Versions = oldDoc, versions(5, &oldDoc) },
			steps(Step{0, CreatePolicyVersion, pol, "v1"})},
		"thumbprints unmanaged: IAM's own are fine": {func(o *Observed) { o.Providers[p0].Thumbprints = []string{"0000"} }, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := converged(d)
			tc.observe(&o)
			assert.Equal(t, tc.want, Plan(d, o, Present))
		})
	}
}

func versions(n int, doc *policy.Document) []PolicyVersion {
	var out []PolicyVersion
	for i := 1; i <= n; i++ {
		out = append(out, PolicyVersion{ID: fmt.Sprintf("v%d", i), Default: i == n, Document: doc})
	}
	// the default is the newest; make the oldest non-default v1
	return out
}

func TestPlanManagedThumbprints(t *testing.T) {
	o2 := opts
	o2.Thumbprints = []string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"}
	d := DesiredState(vendor, acct, o2)
	o := converged(d)
	assert.Empty(t, Plan(d, o, Present))
	o.Providers[d.Providers[0].ARN].Thumbprints = []string{"0000000000000000000000000000000000000000"}
	assert.Equal(t, steps(Step{0, UpdateThumbprints, d.Providers[0].ARN, ""}), Plan(d, o, Present))
}

func TestPlanAbsent(t *testing.T) {
	d := DesiredState(vendor, acct, opts)
	p0, p1, role, pol := d.Providers[0].ARN, d.Providers[1].ARN, d.Role.ARN, d.Policy.ARN
	mine := "arn:aws:iam::111122223333:policy/Mine"

	full := converged(d)
	full.Role.Attached = append(full.Role.Attached, mine)
	full.Role.Inline = []string{"added-by-hand"}
	doc := d.Policy.Document
	full.Policy.Versions = []PolicyVersion{{ID: "v1", Document: &doc}, {ID: "v2", Default: true, Document: &doc}}
	assert.Equal(t, steps(
		Step{0, DeleteInlinePolicy, role, "added-by-hand"},
		Step{0, DeleteProvider, p0, ""}, Step{0, DeleteProvider, p1, ""},
		Step{0, DeletePolicyVersion, pol, "v1"},
		Step{0, DetachPolicy, role, d.Attachments[0]}, Step{0, DetachPolicy, role, pol},
		Step{0, DetachPolicy, role, d.Attachments[1]}, Step{0, DetachPolicy, role, mine},
		Step{1, DeletePolicy, pol, ""}, Step{1, DeleteRole, role, ""},
	), Plan(d, full, Absent), "IAM's order: detach and delete inline and old versions, then the role and the policy")
	assert.Equal(t, 2, Waves(Plan(d, full, Absent)))

	assert.Empty(t, Plan(d, Observed{}, Absent), "nothing left: nothing to do")

	elsewhere := converged(d)
	elsewhere.Role = nil
	elsewhere.Providers = nil
	elsewhere.Policy.Attachments = 1
	assert.Empty(t, Plan(d, elsewhere, Absent), "a policy a customer attached to their own role is left alone")
}

func TestDesiredStateIsThePolicyPackages(t *testing.T) {
	d := DesiredState(vendor, acct, opts)
	assert.Equal(t, "arn:aws:iam::111122223333:role/doit-support/DoiT-Support", d.Role.ARN)
	assert.Equal(t, "/doit-support/", d.Role.Path)
	assert.True(t, policy.Equivalent(vendor.WebIdentityTrust(acct), d.Role.Trust))
	assert.Equal(t, vendor.BoundaryARN(acct), d.Role.Boundary)
	assert.True(t, policy.Equivalent(policy.SupportPermissions(acct, opts.Features), d.Policy.Document))
	assert.Equal(t, vendor.AttachAllowList(acct), d.Attachments)
	assert.Equal(t, []string{"urn:doit:support-gateway:111122223333"}, d.Providers[0].ClientIDs)
	assert.Equal(t, "https://oidc-standby.aws-ops.doit-intl.com/accounts/111122223333", d.Providers[1].URL)
	assert.Equal(t, map[string]string{"DoiTManagedBy": "doit-support-gateway", "DoiTTemplateVersion": "v1"}, d.Tags)
}
