package policy

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIssuerKeyNames(t *testing.T) {
	v := DefaultVendor()
	assert.Equal(t, "alias/doit-support-issuer/111122223333", v.AccountKeyAlias("111122223333"))
	assert.Equal(t, "alias/doit-support-issuer/subjects", v.SubjectKeyAlias())
	assert.Equal(t, "DoiT-Support-Gateway-Signer", v.SignerRoleName())
	// The backend's IAM policy names the account aliases as the prefix and twelve ? (exactly twelve
	// characters), which must not match the subject key's alias, the stack's own.
	account := strings.TrimPrefix(v.AccountKeyAlias("111122223333"), v.IssuerKeyAliasPrefix())
	subjects := strings.TrimPrefix(v.SubjectKeyAlias(), v.IssuerKeyAliasPrefix())
	assert.Len(t, account, 12)
	assert.NotEqual(t, 12, len(subjects))
	// KMS aliases: alias/ and at most 256 characters of [a-zA-Z0-9/_-]
	for _, a := range []string{v.AccountKeyAlias("111122223333"), v.SubjectKeyAlias()} {
		assert.Regexp(t, `^alias/[a-zA-Z0-9/_-]{1,250}$`, a)
		assert.NotContains(t, a, "alias/aws/", "reserved for AWS managed keys")
	}
}
