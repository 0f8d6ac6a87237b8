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
		vendorAdministers(partition, vendorAccount),
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

// MacAlgorithmHMACSHA256 is the only algorithm the issuer's pairwise-subject key computes.
const MacAlgorithmHMACSHA256 = "HMAC_SHA_256"

// SubjectKeyPolicy is the key policy of the issuer's one HMAC key, which turns an engineer and an
// account into the token's pairwise sub. Only signerRoleARN may compute with it, and only
// HMAC-SHA-256; nobody may verify with it (the issuer never needs to), so the key cannot be used
// as an oracle for guessing which engineer a sub names. The vendor account's root administers it,
// as with the signing keys.
func (v Vendor) SubjectKeyPolicy(partition, vendorAccount, signerRoleARN string) Document {
	anyone := &Principal{AWS: Strings{"*"}}
	mac := Strings{"kms:GenerateMac"}
	all := Strings{"*"}
	return NewDocument(
		vendorAdministers(partition, vendorAccount),
		Statement{
			Sid:       "SignerComputesSubjects",
			Effect:    Allow,
			Principal: &Principal{AWS: Strings{signerRoleARN}},
			Action:    mac,
			Resource:  all,
			Condition: Condition{"StringEquals": {"kms:MacAlgorithm": {MacAlgorithmHMACSHA256}}},
		},
		Statement{
			Sid:       "DenyMacByOthers",
			Effect:    Deny,
			Principal: anyone,
			Action:    mac,
			Resource:  all,
			Condition: Condition{"ArnNotEquals": {"aws:PrincipalArn": {signerRoleARN}}},
		},
		Statement{
			Sid:       "DenyOtherMacAlgorithms",
			Effect:    Deny,
			Principal: anyone,
			Action:    mac,
			Resource:  all,
			Condition: Condition{"StringNotEquals": {"kms:MacAlgorithm": {MacAlgorithmHMACSHA256}}},
		},
		Statement{
			Sid:       "DenyVerifyMac",
			Effect:    Deny,
			Principal: anyone,
			Action:    Strings{"kms:VerifyMac"},
			Resource:  all,
		},
	)
}

// vendorAdministers lets the vendor account's root administer a key, which lets IAM policies in the
// vendor account grant what the key policy does not reserve.
func vendorAdministers(partition, vendorAccount string) Statement {
	return Statement{
		Sid:       "VendorAccountAdministers",
		Effect:    Allow,
		Principal: &Principal{AWS: Strings{"arn:" + partition + ":iam::" + vendorAccount + ":root"}},
		Action:    Strings{"kms:*"},
		Resource:  Strings{"*"},
	}
}
