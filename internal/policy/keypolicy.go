package policy

// The KMS key policy of the issuer's signing keys (one asymmetric P-256 key per customer account).
// A key policy is the only policy KMS always consults, so it is where "only the signer signs, and
// only the way the issuer signs" is written down, where an IAM policy in the vendor account cannot
// widen it.

// Condition values the issuer's kms:Sign calls carry: an ES256 signature over a SHA-256 digest the
// issuer computed itself.
const (
	SigningAlgorithmES256 = "ECDSA_SHA_256"
	MessageTypeDigest     = "DIGEST"
)

// KeyPolicyLimit is the largest key policy KMS accepts, in bytes.
const KeyPolicyLimit = 32 * 1024

// SigningKeyPolicy is the key policy of every issuer signing key. The vendor account's root may
// administer the key, which lets IAM policies in the vendor account grant the rest (describe,
// get the public key, schedule deletion); kms:Sign is allowed to signerRoleARN alone, with the
// issuer's algorithm and message type. Explicit denies make that exclusive: no IAM policy, grant or
// later Allow can let another principal sign, or the signer sign raw messages or with another
// algorithm. The denies are separate statements because the conditions of one statement must all
// hold for it to apply, and each of these must refuse on its own.
func (v Vendor) SigningKeyPolicy(partition, vendorAccount, signerRoleARN string) Document {
	anyone := &Principal{AWS: Strings{"*"}}
	sign := Strings{"kms:Sign"}
	all := Strings{"*"} // in a key policy, "*" is the key itself
	return NewDocument(
		Statement{
			Sid:       "VendorAccountAdministers",
			Effect:    Allow,
			Principal: &Principal{AWS: Strings{"arn:" + partition + ":iam::" + vendorAccount + ":root"}},
			Action:    Strings{"kms:*"},
			Resource:  all,
		},
		Statement{
			Sid:       "SignerSignsDigests",
			Effect:    Allow,
			Principal: &Principal{AWS: Strings{signerRoleARN}},
			Action:    sign,
			Resource:  all,
			Condition: Condition{"StringEquals": {
				"kms:SigningAlgorithm": {SigningAlgorithmES256},
				"kms:MessageType":      {MessageTypeDigest},
			}},
		},
		Statement{
			Sid:       "DenySignByOthers",
			Effect:    Deny,
			Principal: anyone,
			Action:    sign,
			Resource:  all,
			Condition: Condition{"ArnNotEquals": {"aws:PrincipalArn": {signerRoleARN}}},
		},
		Statement{
			Sid:       "DenyOtherSigningAlgorithms",
			Effect:    Deny,
			Principal: anyone,
			Action:    sign,
			Resource:  all,
			Condition: Condition{"StringNotEquals": {"kms:SigningAlgorithm": {SigningAlgorithmES256}}},
		},
		Statement{
			Sid:       "DenyRawMessages",
			Effect:    Deny,
			Principal: anyone,
			Action:    sign,
			Resource:  all,
			Condition: Condition{"StringNotEquals": {"kms:MessageType": {MessageTypeDigest}}},
		},
	)
}
