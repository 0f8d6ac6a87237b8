package awscheck

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/supportaccess/gateway/internal/policy"
)

func TestWildcardMatch(t *testing.T) {
	tests := map[string]struct {
		pattern, s string
		want       bool
	}{
		"exact":                    {"sts:AssumeRole", "sts:AssumeRole", true},
		"star matches a run":       {"sts:Assume*", "sts:AssumeRoleWithWebIdentity", true},
		"star matches nothing":     {"sts:AssumeRole*", "sts:AssumeRole", true},
		"star alone":               {"*", "anything", true},
		"question mark one char":   {"urn:doit:engineer:??", "urn:doit:engineer:ab", true},
		"question mark not zero":   {"urn:doit:engineer:??", "urn:doit:engineer:a", false},
		"question mark not two":    {"urn:doit:engineer:?", "urn:doit:engineer:ab", false},
		"backtracking":             {"a*b*c", "axxbyybzc", true},
		"backtracking fails":       {"a*b*c", "axxbyyb", false},
		"case-sensitive":           {"sts:assumerole", "sts:AssumeRole", false},
		"literal star in value":    {"a*", "a*b", true},
		"prefix is not a match":    {"sts:Assume", "sts:AssumeRole", false},
		"empty pattern":            {"", "", true},
		"empty pattern, non-empty": {"", "x", false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tt.want, wildcardMatch(tt.pattern, tt.s))
		})
	}
}

func TestArnMatch(t *testing.T) {
	role := "arn:aws:iam::123456789012:role/path/Signer"
	tests := map[string]struct {
		pattern string
		want    bool
	}{
		"exact":                       {role, true},
		"wildcard in resource":        {"arn:aws:iam::123456789012:role/*", true},
		"wildcard account":            {"arn:aws:iam::*:role/path/Signer", true},
		"other account":               {"arn:aws:iam::210987654321:role/path/Signer", false},
		"star does not cross a colon": {"arn:aws:iam::*", false},
		"not an ARN":                  {"*", false},
		"path missing":                {"arn:aws:iam::123456789012:role/Signer", false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tt.want, arnMatch(role, tt.pattern))
		})
	}
}

func TestConditions(t *testing.T) {
	context := map[string][]string{
		"sts:externalid":   {"ext-1"},
		"aws:principalarn": {"arn:aws:iam::123456789012:role/Backend"},
		"kms:macalgorithm": nil, // evaluated, absent from this request
		"aws:tagkeys":      {"DoiTEnvironment"},
	}
	tests := map[string]struct {
		cond policy.Condition
		want outcome
	}{
		"no condition":                       {nil, applies},
		"StringEquals holds":                 {policy.Condition{"StringEquals": {"sts:ExternalId": {"x", "ext-1"}}}, applies},
		"StringEquals fails":                 {policy.Condition{"StringEquals": {"sts:ExternalId": {"ext-2"}}}, notApplicable},
		"key names are case-insensitive":     {policy.Condition{"StringEquals": {"STS:EXTERNALID": {"ext-1"}}}, applies},
		"values are case-sensitive":          {policy.Condition{"StringEquals": {"sts:ExternalId": {"EXT-1"}}}, notApplicable},
		"StringEqualsIgnoreCase":             {policy.Condition{"StringEqualsIgnoreCase": {"sts:ExternalId": {"EXT-1"}}}, applies},
		"StringNotEquals":                    {policy.Condition{"StringNotEquals": {"sts:ExternalId": {"ext-1"}}}, notApplicable},
		"StringLike":                         {policy.Condition{"StringLike": {"sts:ExternalId": {"ext-?"}}}, applies},
		"StringNotLike":                      {policy.Condition{"StringNotLike": {"sts:ExternalId": {"ext-*"}}}, notApplicable},
		"ArnLike":                            {policy.Condition{"ArnLike": {"aws:PrincipalArn": {"arn:aws:iam::*:role/Back*"}}}, applies},
		"ArnEquals with a wildcard":          {policy.Condition{"ArnEquals": {"aws:PrincipalArn": {"arn:aws:iam::123456789012:role/*"}}}, applies},
		"ArnNotEquals":                       {policy.Condition{"ArnNotEquals": {"aws:PrincipalArn": {"arn:aws:iam::123456789012:role/Backend"}}}, notApplicable},
		"all keys must hold":                 {policy.Condition{"StringEquals": {"sts:ExternalId": {"ext-1"}}, "ArnEquals": {"aws:PrincipalArn": {"arn:aws:iam::1:role/X"}}}, notApplicable},
		"absent key, positive operator":      {policy.Condition{"StringEquals": {"kms:MacAlgorithm": {"HMAC_SHA_256"}}}, notApplicable},
		"absent key, negated operator":       {policy.Condition{"StringNotEquals": {"kms:MacAlgorithm": {"HMAC_SHA_256"}}}, applies},
		"absent key, IfExists":               {policy.Condition{"StringEqualsIfExists": {"kms:MacAlgorithm": {"HMAC_SHA_256"}}}, applies},
		"present key, IfExists":              {policy.Condition{"StringEqualsIfExists": {"sts:ExternalId": {"other"}}}, notApplicable},
		"ForAllValues subset":                {policy.Condition{"ForAllValues:StringEquals": {"aws:TagKeys": {"DoiTEnvironment", "Other"}}}, applies},
		"ForAllValues not a subset":          {policy.Condition{"ForAllValues:StringEquals": {"aws:TagKeys": {"Other"}}}, notApplicable},
		"ForAllValues absent key is vacuous": {policy.Condition{"ForAllValues:StringEquals": {"kms:MacAlgorithm": {"x"}}}, applies},
		"ForAnyValue":                        {policy.Condition{"ForAnyValue:StringEquals": {"aws:TagKeys": {"DoiTEnvironment"}}}, applies},
		"ForAnyValue absent key":             {policy.Condition{"ForAnyValue:StringEquals": {"kms:MacAlgorithm": {"x"}}}, notApplicable},
		"unsupported operator":               {policy.Condition{"IpAddress": {"sts:ExternalId": {"10.0.0.0/8"}}}, unsupported},
		"unsupported key":                    {policy.Condition{"StringEquals": {"aws:SourceIp": {"10.0.0.1"}}}, unsupported},
		"unsupported qualifier":              {policy.Condition{"ForSomeValues:StringEquals": {"aws:TagKeys": {"x"}}}, unsupported},
		// A failing clause must not hide an unsupported one, or a Deny would not fail closed.
		"unsupported beats failing": {policy.Condition{
			"StringEquals":    {"sts:ExternalId": {"wrong"}},
			"StringEqualsXyz": {"sts:ExternalId": {"x"}},
		}, unsupported},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, _ := conditionsHold(tt.cond, context)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestEvaluate(t *testing.T) {
	backend := "arn:aws:iam::123456789012:role/Backend"
	who := staticCaller("AKIA1", backend)
	allow := policy.Statement{Sid: "Allow", Effect: policy.Allow, Principal: &policy.Principal{AWS: policy.Strings{backend}},
		Action: policy.Strings{"sts:AssumeRole"}}
	req := evalRequest{
		action:    "sts:AssumeRole",
		principal: who.matchesAWS,
		context:   map[string][]string{"aws:principalarn": {backend}, "sts:externalid": nil},
	}
	// with returns a copy of s, its own Principal included, changed by edit.
	with := func(s policy.Statement, edit func(*policy.Statement)) policy.Statement {
		p := *s.Principal
		s.Principal = &p
		edit(&s)
		return s
	}
	tests := map[string]struct {
		statements []policy.Statement
		allowed    bool
		explicit   bool
	}{
		"allow":                             {[]policy.Statement{allow}, true, false},
		"no statements":                     {nil, false, false},
		"action names are case-insensitive": {[]policy.Statement{with(allow, func(s *policy.Statement) { s.Action = policy.Strings{"STS:assumerole"} })}, true, false},
		"action wildcard":                   {[]policy.Statement{with(allow, func(s *policy.Statement) { s.Action = policy.Strings{"sts:*"} })}, true, false},
		"other action":                      {[]policy.Statement{with(allow, func(s *policy.Statement) { s.Action = policy.Strings{"sts:TagSession"} })}, false, false},
		"NotAction excludes":                {[]policy.Statement{with(allow, func(s *policy.Statement) { s.Action, s.NotAction = nil, policy.Strings{"sts:AssumeRole"} })}, false, false},
		"NotAction includes":                {[]policy.Statement{with(allow, func(s *policy.Statement) { s.Action, s.NotAction = nil, policy.Strings{"sts:TagSession"} })}, true, false},
		"account root":                      {[]policy.Statement{with(allow, func(s *policy.Statement) { s.Principal.AWS = policy.Strings{"arn:aws:iam::123456789012:root"} })}, true, false},
		"bare account":                      {[]policy.Statement{with(allow, func(s *policy.Statement) { s.Principal.AWS = policy.Strings{"123456789012"} })}, true, false},
		"other account's root":              {[]policy.Statement{with(allow, func(s *policy.Statement) { s.Principal.AWS = policy.Strings{"arn:aws:iam::210987654321:root"} })}, false, false},
		"everyone":                          {[]policy.Statement{with(allow, func(s *policy.Statement) { s.Principal.AWS = policy.Strings{"*"} })}, true, false},
		"other role":                        {[]policy.Statement{with(allow, func(s *policy.Statement) { s.Principal.AWS = policy.Strings{"arn:aws:iam::123456789012:role/Other"} })}, false, false},
		"federated only":                    {[]policy.Statement{with(allow, func(s *policy.Statement) { s.Principal = &policy.Principal{Federated: policy.Strings{backend}} })}, false, false},
		"no principal":                      {[]policy.Statement{with(allow, func(s *policy.Statement) { s.Principal = nil })}, false, false},
		"deny wins": {[]policy.Statement{allow, with(allow, func(s *policy.Statement) {
			s.Sid, s.Effect, s.Principal.AWS = "Deny", policy.Deny, policy.Strings{"*"}
		})}, false, true},
		"deny with unmet condition": {[]policy.Statement{allow, with(allow, func(s *policy.Statement) {
			s.Effect, s.Condition = policy.Deny, policy.Condition{"ArnNotEquals": {"aws:PrincipalArn": {backend}}}
		})}, true, false},
		"unsupported deny fails closed": {[]policy.Statement{allow, with(allow, func(s *policy.Statement) {
			s.Effect, s.Condition = policy.Deny, policy.Condition{"Bool": {"aws:SecureTransport": {"false"}}}
		})}, false, true},
		"unsupported allow does not apply": {[]policy.Statement{with(allow, func(s *policy.Statement) {
			s.Condition = policy.Condition{"StringEquals": {"aws:SourceVpc": {"vpc-1"}}}
		})}, false, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			v := evaluate(policy.NewDocument(tt.statements...), req)
			assert.Equal(t, tt.allowed, v.allowed, v.reason)
			assert.Equal(t, tt.explicit, v.explicitDeny, v.reason)
		})
	}
}

func TestUnsupportedIsNamedInReason(t *testing.T) {
	doc := policy.NewDocument(policy.Statement{Sid: "Vpc", Effect: policy.Allow, Principal: &policy.Principal{AWS: policy.Strings{"*"}},
		Action: policy.Strings{"sts:AssumeRole"}, Condition: policy.Condition{"StringEquals": {"aws:SourceVpc": {"vpc-1"}}}})
	who := staticCaller("AKIA1", "arn:aws:iam::123456789012:role/Backend")
	v := evaluate(doc, evalRequest{action: "sts:AssumeRole", principal: who.matchesAWS, context: map[string][]string{}})
	assert.False(t, v.allowed)
	assert.Contains(t, v.reason, "aws:SourceVpc")
	assert.Contains(t, v.reason, "fail closed")
}

func TestParseStoredDocument(t *testing.T) {
	// GetRole's rendering of a trust policy, as moto (and IAM) send it: URL-encoded, %2B for "+".
	encoded := "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%7B%22Effect%22%3A%20%22Allow%22%2C%20" +
		"%22Principal%22%3A%20%22%2A%22%2C%20%22Action%22%3A%20%22sts%3AAssumeRole%22%2C%20%22Condition%22%3A%20%7B" +
		"%22StringEquals%22%3A%20%7B%22sts%3AExternalId%22%3A%20%22a%2Bb%20c/d%22%7D%7D%7D%7D"
	doc, err := parseStoredDocument(encoded)
	if !assert.NoError(t, err) {
		return
	}
	want := policy.NewDocument(policy.Statement{
		Effect:    policy.Allow,
		Principal: &policy.Principal{AWS: policy.Strings{"*"}},
		Action:    policy.Strings{"sts:AssumeRole"},
		Condition: policy.Condition{"StringEquals": {"sts:ExternalId": {"a+b c/d"}}},
	})
	assert.Equal(t, want, doc, "a lone statement becomes a list, Principal \"*\" becomes {\"AWS\": \"*\"}")
}

// TestAccountDelegation: an Allow that names only the caller's account admits it (AWS would ask the
// account's IAM policies), but an Allow that names the caller itself is the one the reason cites.
func TestAccountDelegation(t *testing.T) {
	signer := "arn:aws:iam::123456789012:role/Signer"
	who := staticCaller("AKIA1", signer)
	root := policy.Statement{Sid: "Root", Effect: policy.Allow, Principal: &policy.Principal{AWS: policy.Strings{"arn:aws:iam::123456789012:root"}},
		Action: policy.Strings{"kms:*"}, Resource: policy.Strings{"*"}}
	named := policy.Statement{Sid: "Signer", Effect: policy.Allow, Principal: &policy.Principal{AWS: policy.Strings{signer}},
		Action: policy.Strings{"kms:Sign"}, Resource: policy.Strings{"*"}}
	req := evalRequest{action: "kms:Sign", resource: "arn:aws:kms:us-east-1:123456789012:key/k", principal: who.matchesAWS,
		context: map[string][]string{}}

	v := evaluate(policy.NewDocument(root, named), req)
	assert.True(t, v.allowed)
	assert.Equal(t, "allowed by statement Signer", v.reason)

	v = evaluate(policy.NewDocument(root), req)
	assert.True(t, v.allowed)
	assert.Contains(t, v.reason, "allowed by statement Root, which names the caller's account")
}
