package policy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const keyPolicySigner = "arn:aws:iam::210987654321:role/issuer/DoiT-Support-Issuer"

func TestSigningKeyPolicyShape(t *testing.T) {
	d := DefaultVendor().SigningKeyPolicy("aws", "210987654321", keyPolicySigner)
	want := NewDocument(
		Statement{Effect: Allow, Principal: &Principal{AWS: Strings{"arn:aws:iam::210987654321:root"}},
			Action: Strings{"kms:*"}, Resource: Strings{"*"}},
		Statement{Effect: Allow, Principal: &Principal{AWS: Strings{keyPolicySigner}},
			Action: Strings{"kms:Sign"}, Resource: Strings{"*"},
			Condition: Condition{"StringEquals": {"kms:SigningAlgorithm": {"ECDSA_SHA_256"}, "kms:MessageType": {"DIGEST"}}}},
		Statement{Effect: Deny, Principal: &Principal{AWS: Strings{"*"}}, Action: Strings{"kms:Sign"}, Resource: Strings{"*"},
			Condition: Condition{"ArnNotEquals": {"aws:PrincipalArn": {keyPolicySigner}}}},
		Statement{Effect: Deny, Principal: &Principal{AWS: Strings{"*"}}, Action: Strings{"kms:Sign"}, Resource: Strings{"*"},
			Condition: Condition{"StringNotEquals": {"kms:SigningAlgorithm": {"ECDSA_SHA_256"}}}},
		Statement{Effect: Deny, Principal: &Principal{AWS: Strings{"*"}}, Action: Strings{"kms:Sign"}, Resource: Strings{"*"},
			Condition: Condition{"StringNotEquals": {"kms:MessageType": {"DIGEST"}}}},
	)
	assert.True(t, Equivalent(want, d), "got %s", d.JSON())

	parsed, err := Parse(d.JSON())
	require.NoError(t, err)
	assert.True(t, Equivalent(d, parsed), "the JSON form means the same")
	assert.Equal(t, Version, parsed.Version)
}

// Every Allow of kms:Sign is to the signer alone and carries both conditions; every other
// principal, algorithm and message type meets a Deny of its own.
func TestSigningKeyPolicyMakesSignExclusive(t *testing.T) {
	d := DefaultVendor().SigningKeyPolicy("aws", "210987654321", keyPolicySigner)
	denied := map[string]string{} // condition key → operator of the Deny that covers it
	for _, s := range d.Statement {
		signs := slices.Contains(s.Action, "kms:Sign") || slices.Contains(s.Action, "kms:*")
		switch {
		case s.Effect == Allow && slices.Contains(s.Action, "kms:Sign"):
			assert.Equal(t, Strings{keyPolicySigner}, s.Principal.AWS)
			assert.Equal(t, Strings{"ECDSA_SHA_256"}, s.Condition["StringEquals"]["kms:SigningAlgorithm"])
			assert.Equal(t, Strings{"DIGEST"}, s.Condition["StringEquals"]["kms:MessageType"])
		case s.Effect == Allow && signs:
			assert.Equal(t, Strings{"arn:aws:iam::210987654321:root"}, s.Principal.AWS, "only the account root gets kms:*")
		case s.Effect == Deny:
			assert.Equal(t, Strings{"kms:Sign"}, s.Action)
			assert.Equal(t, Strings{"*"}, s.Principal.AWS)
			require.Len(t, s.Condition, 1, "one condition per Deny, so each refuses on its own")
			for op, kv := range s.Condition {
				require.Len(t, kv, 1)
				for k := range kv {
					denied[k] = op
				}
			}
		}
	}
	assert.Equal(t, map[string]string{
		"aws:PrincipalArn":     "ArnNotEquals",
		"kms:SigningAlgorithm": "StringNotEquals",
		"kms:MessageType":      "StringNotEquals",
	}, denied)
}

func TestSigningKeyPolicyFitsKMSLimit(t *testing.T) {
	long := "arn:aws-iso-b:iam::999999999999:role/" + strings.Repeat("p/", 200) + strings.Repeat("r", 64)
	d := DefaultVendor().SigningKeyPolicy("aws-iso-b", "999999999999", long)
	assert.LessOrEqual(t, len(d.JSON()), KeyPolicyLimit)
	assert.Less(t, len(d.JSON()), 4096, "far below the limit: a policy this size has room for later statements")
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(d.JSON()), &raw))
}

// Only the signer computes subjects, only with HMAC-SHA-256; nobody verifies (no oracle for
// guessing which engineer a sub names); each Deny refuses on its own.
func TestSubjectKeyPolicyMakesMacExclusive(t *testing.T) {
	d := DefaultVendor().SubjectKeyPolicy("aws", "210987654321", keyPolicySigner)
	parsed, err := Parse(d.JSON())
	require.NoError(t, err)
	require.True(t, Equivalent(d, parsed))
	var allowsMac int
	denied := map[string]string{}
	for _, s := range d.Statement {
		switch {
		case s.Effect == Allow && slices.Contains(s.Action, "kms:GenerateMac"):
			allowsMac++
			assert.Equal(t, Strings{keyPolicySigner}, s.Principal.AWS)
			assert.Equal(t, Condition{"StringEquals": {"kms:MacAlgorithm": {"HMAC_SHA_256"}}}, s.Condition)
		case s.Effect == Allow:
			assert.Equal(t, Strings{"arn:aws:iam::210987654321:root"}, s.Principal.AWS, "only the account root gets kms:*")
		case s.Effect == Deny && slices.Equal(s.Action, Strings{"kms:VerifyMac"}):
			assert.Empty(t, s.Condition, "VerifyMac is denied to everyone, unconditionally")
			denied["kms:VerifyMac"] = "always"
		case s.Effect == Deny:
			assert.Equal(t, Strings{"kms:GenerateMac"}, s.Action)
			assert.Equal(t, Strings{"*"}, s.Principal.AWS)
			require.Len(t, s.Condition, 1)
			for op, kv := range s.Condition {
				require.Len(t, kv, 1)
				for k := range kv {
					denied[k] = op
				}
			}
		}
	}
	assert.Equal(t, 1, allowsMac)
	assert.Equal(t, map[string]string{
		"aws:PrincipalArn": "ArnNotEquals",
		"kms:MacAlgorithm": "StringNotEquals",
		"kms:VerifyMac":    "always",
	}, denied)
	assert.Less(t, len(d.JSON()), 4096)
}
