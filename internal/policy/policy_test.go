package policy

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The longest concrete values a document can be built with: IAM counts characters of the stored
// document, so sizes are checked on concrete documents, never on template placeholders.
var longest = Target{Partition: "aws-iso-b", AccountID: "999999999999"}

const (
	trustLimit   = 2048  // role trust policy (default quota)
	managedLimit = 6144  // managed policy
	inlineLimit  = 10240 // all inline policies of one role, together
)

func TestDocumentsFitIAMLimits(t *testing.T) {
	v := DefaultVendor()
	gw := GatewayPermissions(longest)
	tests := map[string]struct {
		doc   Document
		limit int
	}{
		"management trust":          {v.ManagementTrust(longest, "999999999999", strings.Repeat("x", 1224)), trustLimit},
		"support role trust":        {v.WebIdentityTrust(longest), trustLimit},
		"boundary (managed)":        {v.Boundary(longest), managedLimit},
		"support policy (managed)":  {SupportPermissions(longest, Features{Runbooks: true, Diagnostic: true}), managedLimit},
		"management policy alone":   {v.ManagementPolicy(longest), inlineLimit},
		"gateway inline, all three": {NewDocument(append(append(gw.Base.Statement, gw.Runbooks.Statement...), gw.Diagnostic.Statement...)...), inlineLimit},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			size := tc.doc.Size()
			t.Logf("%d of %d characters", size, tc.limit)
			assert.LessOrEqual(t, size, tc.limit)
		})
	}
}

func TestSizeIgnoresWhitespace(t *testing.T) {
	d := NewDocument(Statement{Effect: Allow, Action: Strings{"s3:ListBucket"}, Resource: Strings{"*"}})
	assert.Equal(t, len(d.JSON()), d.Size(), "compact JSON has no whitespace outside strings")
	spaced := NewDocument(Statement{Sid: "a b", Effect: Allow, Action: Strings{"s3:ListBucket"}, Resource: Strings{"*"}})
	assert.Equal(t, len(spaced.JSON())-1, spaced.Size())
}

func TestStringsMarshalling(t *testing.T) {
	d := NewDocument(Statement{Effect: Allow, Action: Strings{"a:B"}, Resource: Strings{"x", "y"}})
	assert.Equal(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"a:B","Resource":["x","y"]}]}`, d.JSON())
	back, err := Parse(d.JSON())
	require.NoError(t, err)
	assert.Equal(t, d, back)
	_, err = Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":3}]}`)
	assert.ErrorContains(t, err, "want a string or a list of strings")
}

func TestEquivalent(t *testing.T) {
	base := NewDocument(
		Statement{Sid: "A", Effect: Allow, Action: Strings{"iam:GetRole", "iam:ListRoles"}, Resource: Strings{"*"}},
		Statement{Sid: "B", Effect: Deny, Action: Strings{"s3:GetObject"}, Resource: Strings{"*"},
			Condition: Condition{"StringEquals": {"aws:PrincipalTag/x": {"1", "2"}}}},
	)
	same := NewDocument(
		Statement{Effect: Deny, Action: Strings{"S3:GetObject"}, Resource: Strings{"*"},
			Condition: Condition{"StringEquals": {"AWS:PrincipalTag/x": {"2", "1"}}}},
		Statement{Sid: "renamed", Effect: Allow, Action: Strings{"iam:ListRoles", "iam:GetRole", "iam:GetRole"}, Resource: Strings{"*"}},
	)
	assert.True(t, Equivalent(base, same), "order, Sid, case of actions and keys, duplicates do not change meaning")

	changed := map[string]func(*Document){
		"effect":          func(d *Document) { d.Statement[0].Effect = Deny },
		"action":          func(d *Document) { d.Statement[0].Action = Strings{"iam:GetRole"} },
		"resource":        func(d *Document) { d.Statement[0].Resource = Strings{"arn:aws:iam::1:role/x"} },
		"condition value": func(d *Document) { d.Statement[1].Condition["StringEquals"]["aws:PrincipalTag/x"] = Strings{"1"} },
		"version":         func(d *Document) { d.Version = "2008-10-17" },
		"statement count": func(d *Document) { d.Statement = d.Statement[:1] },
		"principal": func(d *Document) {
			d.Statement[0].Principal = &Principal{AWS: Strings{"arn:aws:iam::1:root"}}
		},
	}
	for name, change := range changed {
		t.Run(name, func(t *testing.T) {
			d, err := Parse(base.JSON())
			require.NoError(t, err)
			change(&d)
			assert.False(t, Equivalent(base, d))
		})
	}
}

var actionPattern = regexp.MustCompile(`^([a-z0-9-]+:[A-Za-z0-9*?]+|\*)$`)

// Every action in every document is well formed: a literal service prefix (IAM refuses wildcards
// there) and an action name. IAM policy variables are refused: inside Fn::Sub they would have to be
// escaped, and nothing here needs one.
func TestDocumentsAreWellFormed(t *testing.T) {
	v := DefaultVendor()
	docs := map[string]Document{
		"management trust":  v.ManagementTrust(Template, "${AccountNumberParameter}", "${ExternalId}"),
		"management policy": v.ManagementPolicy(Template),
		"boundary":          v.Boundary(Template),
		"support trust":     v.WebIdentityTrust(Template),
		"support policy":    SupportPermissions(Template, Features{Runbooks: true, Diagnostic: true}),
	}
	for name, d := range docs {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, Version, d.Version)
			sids := map[string]bool{}
			for _, s := range d.Statement {
				assert.Contains(t, []Effect{Allow, Deny}, s.Effect)
				assert.False(t, sids[s.Sid], "duplicate Sid %q", s.Sid)
				sids[s.Sid] = true
				for _, a := range append(append(Strings{}, s.Action...), s.NotAction...) {
					assert.Regexp(t, actionPattern, a)
				}
			}
			assert.NotContains(t, d.JSON(), "${aws:")
		})
	}
}

func TestManagementPolicyUsesExactARNsOnly(t *testing.T) {
	v := DefaultVendor()
	for _, s := range v.ManagementPolicy(longest).Statement {
		for _, r := range s.Resource {
			if s.Effect == Allow {
				assert.NotContains(t, r, "*", "allow statement %s must name exact ARNs", s.Sid)
			}
		}
	}
}

func TestBoundaryIsNotVendorWritable(t *testing.T) {
	v := DefaultVendor()
	assert.False(t, strings.HasPrefix(v.BoundaryName(), v.Name+"-"), "boundary name must not match %s-*", v.Name)
	assert.NotContains(t, v.AttachAllowList(Template), v.BoundaryARN(Template))
	assert.NotEqual(t, v.BoundaryARN(Template), v.SupportPolicyARN(Template))
}

func TestReadOnlyActionsAreReadsOnly(t *testing.T) {
	acts := ReadOnlyActions()
	assert.IsNonDecreasing(t, []string(acts))
	for _, a := range acts {
		assert.Regexp(t, `^[a-z0-9-]+:(Describe|Get|List)\*$`, a)
	}
}

// The gateway role, built from inline pieces, grants exactly what the provisioned role's single
// policy grants for the same features.
func TestGatewayAndSupportPermissionsAgree(t *testing.T) {
	gw := GatewayPermissions(Template)
	for _, f := range []Features{{}, {Runbooks: true}, {Diagnostic: true}, {Runbooks: true, Diagnostic: true}} {
		statements := append([]Statement{}, gw.Base.Statement...)
		if f.Runbooks {
			statements = append(statements, gw.Runbooks.Statement...)
		}
		if f.Diagnostic {
			statements = append(statements, gw.Diagnostic.Statement...)
		}
		assert.True(t, Equivalent(SupportPermissions(Template, f), NewDocument(statements...)), "%+v", f)
	}
}

func TestWebIdentityTrustBindsAccountAndSubjectShape(t *testing.T) {
	v := DefaultVendor()
	a := Target{Partition: "aws", AccountID: "111111111111"}
	trust := v.WebIdentityTrust(a)
	require.Len(t, trust.Statement, 2)
	for i, s := range trust.Statement {
		assert.Equal(t, Strings{v.ProviderARN(a, i)}, s.Principal.Federated)
		host := v.IssuerHosts[i] + "/accounts/111111111111"
		assert.Equal(t, Strings{"urn:doit:support-gateway:111111111111"}, s.Condition["StringEquals"][host+":aud"])
		assert.Equal(t, Strings{"urn:doit:engineer:" + strings.Repeat("?", 26)}, s.Condition["StringLike"][host+":sub"])
		assert.Len(t, s.Condition["StringLike"], 1, "only sub is matched by pattern")
		assert.ElementsMatch(t, Strings{"sts:AssumeRoleWithWebIdentity", "sts:TagSession"}, s.Action)
	}
	assert.Equal(t, "arn:aws:iam::111111111111:oidc-provider/oidc.aws-ops.doit-intl.com/accounts/111111111111", v.ProviderARN(a, 0))
}

func TestValidSubject(t *testing.T) {
	v := DefaultVendor()
	id := "abcdefghijklmnopqrstuvwxyz"
	assert.True(t, v.ValidSubject("urn:doit:engineer:"+id))
	assert.True(t, v.ValidSubject("urn:doit:engineer:"+strings.Repeat("7", 26)))
	for _, bad := range []string{
		"", "role/DoiT-Support", "urn:doit:engineer:", "urn:doit:engineer:" + id[:25], "urn:doit:engineer:" + id + "a",
		"urn:doit:engineer:" + strings.ToUpper(id), "urn:doit:engineer:" + id[:25] + "1", "urn:doit:engineer:" + id[:25] + "/",
		"urn:acme:engineer:" + id, "alice@doit.com",
	} {
		assert.False(t, v.ValidSubject(bad), bad)
	}
}

func TestVendorValidate(t *testing.T) {
	require.NoError(t, DefaultVendor().Validate())
	bad := map[string]func(*Vendor){
		"empty name":         func(v *Vendor) { v.Name = "" },
		"wildcard name":      func(v *Vendor) { v.Name = "Do*T" },
		"host with scheme":   func(v *Vendor) { v.IssuerHosts[0] = "https://oidc.example.com" },
		"same hosts":         func(v *Vendor) { v.IssuerHosts[1] = v.IssuerHosts[0] },
		"empty backend role": func(v *Vendor) { v.BackendRoleName = "" },
		"empty topic":        func(v *Vendor) { v.HookTopicName = "" },
	}
	for name, change := range bad {
		t.Run(name, func(t *testing.T) {
			v := DefaultVendor()
			change(&v)
			assert.Error(t, v.Validate())
		})
	}
}

func TestActionMatches(t *testing.T) {
	for _, c := range []struct {
		pattern, action string
		want            bool
	}{
		{"s3:Get*", "s3:GetObject", true},
		{"s3:get*", "S3:GETOBJECT", true},
		{"s3:Get*", "s3:PutObject", false},
		{"s3:Get*", "s3-object-lambda:GetObject", false},
		{"*", "iam:CreateUser", true},
		{"ec2:Describe*", "ec2:DescribeInstances", true},
		{"ec2:?escribe*", "ec2:DescribeInstances", true},
		{"ec2:Describe*Attribute", "ec2:DescribeInstanceAttribute", true},
		{"ec2:Describe*Attribute", "ec2:DescribeInstances", false},
		{"logs:GetLogEvents", "logs:GetLogEvents", true},
		{"logs:GetLogEvents", "logs:GetLogEventsX", false},
	} {
		assert.Equal(t, c.want, ActionMatches(c.pattern, c.action), "%s ~ %s", c.pattern, c.action)
	}
}

func TestPatternsOverlap(t *testing.T) {
	for _, c := range []struct {
		p, q string
		want bool
	}{
		{"ses:Get*", "ses:*Contact", true},
		{"ses:List*", "ses:Get*", false},
		{"ses:Get*", "ses:GetContact", true},
		{"ses:GetContact", "ses:GetContacts", false},
		{"sns:*Endpoint*", "sns:List*", true},
		{"sns:*Endpoint*", "sns:Describe*", true}, // DescribeEndpoint would match both
		{"ec2:Describe*", "ec2:Get*Sample*", false},
		{"batch:DescribeJob?*s", "batch:Describe*", true},
		{"a:?", "a:bc", false},
		{"A:B*", "a:b", true},
		{"*", "x:y", true},
	} {
		assert.Equal(t, c.want, PatternsOverlap(c.p, c.q), "%s ∩ %s", c.p, c.q)
		assert.Equal(t, c.want, PatternsOverlap(c.q, c.p), "%s ∩ %s", c.q, c.p)
	}
}

// The boundary admits no sensitive read: each one either is outside the cap (its Deny NotAction
// statement) or is in its sensitive-read Deny statement. Its one Allow is "*": the cap is its denies.
func TestBoundaryAdmitsNoSensitiveRead(t *testing.T) {
	b := DefaultVendor().Boundary(Template)
	var within, denies Strings
	for _, s := range b.Statement {
		switch {
		case s.Effect == Allow:
			assert.Equal(t, Strings{"*"}, s.Action, "the boundary's one Allow is *, capped by its denies")
			assert.Equal(t, Strings{"*"}, s.Resource)
		case len(s.NotAction) > 0:
			within = append(within, s.NotAction...)
		case s.Sid == "DenySensitiveDataReads":
			denies = append(denies, s.Action...)
		}
	}
	require.NotEmpty(t, within, "the boundary has a Deny NotAction statement")
	all := allSensitiveReads()
	for _, a := range all {
		if slices.ContainsFunc(within, func(p string) bool { return PatternsOverlap(p, a) }) && !slices.Contains(ArgumentReads, a) {
			assert.Contains(t, denies, a, "the boundary admits %s and does not deny it", a)
		}
	}
	for _, a := range ArgumentReads {
		assert.NotContains(t, denies, a, "the boundary leaves ArgumentReads to the role policies")
	}
	assert.Less(t, len(denies), len(all), "the boundary's deny set is trimmed to what it would admit")
	for _, a := range CapSensitiveReads {
		assert.True(t, slices.ContainsFunc(within, func(p string) bool { return PatternsOverlap(p, a) }),
			"%s is outside the boundary's cap: it need not be listed", a)
	}
}
