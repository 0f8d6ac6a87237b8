package policy

import "strings"

// The names and tags of the issuer's KMS keys in the vendor account (internal/issuer creates and
// uses them). They live here, with the key policies, because the vendor's backend stack names them
// too: its IAM policies allow the issuer's key operations only on keys and aliases of these names
// and tags.

// Tag keys the issuer puts on its keys: every key carries IssuerKeyTagManagedBy (the vendor's
// ManagedByTag); each account's signing key also carries IssuerKeyTagAccount (the customer account
// it signs for). The pairwise-subject key has no account tag.
const (
	IssuerKeyTagManagedBy = "ManagedBy"
	IssuerKeyTagAccount   = "Account"
)

// IssuerKeyAliasPrefix is the prefix of every issuer alias: alias/doit-support-issuer/.
func (v Vendor) IssuerKeyAliasPrefix() string {
	return "alias/" + strings.ToLower(v.Name) + "-support-issuer/"
}

// AccountKeyAlias is the alias of an account's active signing key: the prefix and the 12-digit account.
func (v Vendor) AccountKeyAlias(account string) string { return v.IssuerKeyAliasPrefix() + account }

// SubjectKeyAlias is the alias of the pairwise-subject HMAC key, one per vendor account.
func (v Vendor) SubjectKeyAlias() string { return v.IssuerKeyAliasPrefix() + "subjects" }

// SignerRoleName is the role in the vendor account that signs tokens and computes subjects: the
// only principal SigningKeyPolicy and SubjectKeyPolicy let use the keys.
func (v Vendor) SignerRoleName() string { return v.Name + "-Support-Gateway-Signer" }
