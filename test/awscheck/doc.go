// Package awscheck is a checking front end for end-to-end tests: an HTTP server that sits between
// an AWS SDK client (the hook Lambda, the broker) and a moto server, and refuses the calls AWS would
// refuse but moto admits.
//
// Why it exists: moto's STS hands out credentials for AssumeRole and AssumeRoleWithWebIdentity on
// roles that do not exist, in any account, and ignores trust policies, ExternalIds and
// web-identity tokens (any string will do); moto's KMS never consults key policies. The product's
// security rests on exactly those checks: the management role admits only the vendor's backend
// with the customer's ExternalId, the support roles admit only the account's own issuer with the
// right aud and sub, and only the signer role may sign with the issuer's keys. Against bare moto, a
// test that got any of them wrong would still pass. Through this front end it fails, with the error
// AWS would give.
//
// Clients point at the front end instead of moto (AWS_ENDPOINT_URL, aws.Config.BaseEndpoint). The
// calls listed below are decided here. A refused call is answered as AWS's API answers it (same
// HTTP status, error code and wire format, so the AWS SDK for Go v2 reports the same
// smithy.APIError ErrorCode); an admitted call, and every other call, is forwarded to moto
// unchanged, Host header and body included. Every decision is recorded (Server.Decisions) and
// logged when a test fails; decisions never hold an ExternalId, a token or a full access key.
//
// # Who the caller is
//
// The access key ID of the SigV4 credential scope. Config.Principals maps static keys to the
// principal ARN they stand for (the Lambda's key to its execution role). Credentials that moto's
// STS hands out through the front end are remembered as sessions of the role they were issued for:
// aws:PrincipalArn is the role's ARN as GetRole spells it (path included), and error messages name
// the session ARN (arn:aws:sts::ACCT:assumed-role/NAME/SESSION). Any other key, including the
// credentials Config.Admin uses, is moto's default account's anonymous caller, which no Principal
// matches: its checked calls are all refused (the decision's Reason says so). Set up state straight
// on moto, not through the front end.
//
// # What it checks
//
// sts:AssumeRole
//   - The role exists (IAM GetRole in the role ARN's account, through Config.Admin); a RoleArn
//     whose path differs from the role's (a path-less ARN for a role with a path, too) names no role.
//   - The role's trust policy admits the caller: no applicable Deny statement and an applicable
//     Allow statement. A statement applies when its Action (or NotAction) matches sts:AssumeRole
//     (IAM wildcards * and ?, case-insensitive), its Principal.AWS names the caller (its role or
//     static ARN, its session ARN, "*", or its account as "ACCT" or "arn:aws:iam::ACCT:root"), and
//     all its conditions hold. Refusal: 403 AccessDenied, "User: <caller> is not authorized to
//     perform: sts:AssumeRole on resource: <role>".
//   - DurationSeconds is at most the role's MaxSessionDuration, and at most an hour when a role
//     (any caller whose ARN is a role's) assumes a role: role chaining. Refusal: 400 ValidationError.
//
// sts:AssumeRoleWithWebIdentity (unsigned; recognised by its form body)
//   - The role exists; else 403 AccessDenied "Not authorized to perform sts:AssumeRoleWithWebIdentity".
//   - The inline session Policy has at most 2,048 characters; else 400 PackedPolicyTooLarge. (STS
//     limits the packed size of policies and tags together; this is a plain length check.)
//   - The token is a compact ES256 JWS whose iss is an https URL without a trailing slash; the
//     role's account has the OIDC provider arn:PARTITION:iam::ACCT:oidc-provider/<iss without
//     https://>, else 400 InvalidIdentityToken "No OpenIDConnect provider found in your account for
//     <iss>"; one of its aud values is one of the provider's client IDs, else InvalidIdentityToken
//     "Incorrect token audience".
//   - <iss>/.well-known/openid-configuration and then its jwks_uri (https) are fetched through
//     Config.Fetch; failure is 400 IDPCommunicationError. The document's issuer equals iss byte for
//     byte, and the JWKS key with the token's kid verifies the signature; else InvalidIdentityToken.
//     With Config.MotoDigest the signature is verified over SHA-256(SHA-256(signing input)).
//   - exp is in the future (else 400 ExpiredTokenException "Token expired: ..."); nbf and iat are
//     at most 5 minutes in the future (else InvalidIdentityToken).
//   - The trust policy admits the token: no applicable Deny and an applicable Allow statement whose
//     Action matches sts:AssumeRoleWithWebIdentity and whose Principal.Federated is the provider's
//     ARN. If the token carries session tags (principal_tags of its https://aws.amazon.com/tags
//     claim), the same evaluation must also allow sts:TagSession. Refusal: 403 AccessDenied.
//   - DurationSeconds is at most the role's MaxSessionDuration (400 ValidationError).
//
// kms:Sign, kms:GenerateMac, kms:VerifyMac
//   - The KeyId (key ID, key ARN, alias name or alias ARN; in the ARN's account and region, else
//     the caller's account and the request's region) is resolved with DescribeKey. A key that does
//     not exist is forwarded, and moto answers NotFoundException as KMS would.
//   - Its key policy (GetKeyPolicy "default") decides alone: an applicable Deny statement refuses
//     with 400 AccessDeniedException (JSON 1.1) "User: <caller> is not authorized to perform:
//     kms:Sign on resource: <key ARN> with an explicit deny in a key policy"; otherwise an
//     applicable Allow statement must name the caller, else the same error "... because no
//     resource-based policy allows the kms:Sign action". kms:MessageType is RAW when the request
//     names none, as in KMS.
//
// Conditions: StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase,
// StringLike, StringNotLike, ArnEquals, ArnLike, ArnNotEquals and ArnNotLike, each also with
// IfExists and with a ForAllValues: or ForAnyValue: qualifier; on these keys only: for AssumeRole
// sts:ExternalId and aws:PrincipalArn; for AssumeRoleWithWebIdentity <provider>:aud,
// <provider>:sub and aws:TagKeys; for KMS aws:PrincipalArn, kms:SigningAlgorithm, kms:MessageType
// and kms:MacAlgorithm. A statement with any other operator or key fails closed: a Deny is taken to
// apply and an Allow not to, and the decision's Reason names the operator or key.
//
// # What it does not check
//
//   - IAM identity policies and permissions boundaries of the caller. In AWS, a trust or key policy
//     Allow that names an account ("ACCT" or its root) delegates to that account's IAM policies,
//     and a cross-account call needs both; here such an Allow admits every principal of the
//     account (the Reason says so), and an Allow that names the caller itself is preferred.
//   - Service control policies, resource control policies, KMS grants, VPC endpoint policies.
//   - Session policies (Policy, PolicyArns) and session tags as limits on what a session may do
//     later; Policy is only checked for length.
//   - Condition keys other than those listed above (aws:SourceIp, aws:PrincipalTag/*,
//     aws:RequestTag/*, aws:PrincipalAccount, sts:RoleSessionName, sts:SourceIdentity,
//     kms:CallerAccount, kms:ViaService, kms:EncryptionContext*, ...): they fail closed. Policy
//     variables (${aws:username}) are not substituted.
//   - Principal.Service and Principal.CanonicalUser never match. "Principal": "*" is read as
//     {"AWS": "*"}: every AssumeRole and KMS caller, and no web identity. Resource and NotResource
//     of trust policies are ignored.
//   - Whether the caller's credentials are valid, unexpired and correctly signed (moto checks none
//     of it; remembered sessions never expire), and whether a principal named in a policy exists.
//   - OIDC: the IdP's TLS certificate, thumbprints and real reachability (Config.Fetch stands for
//     the internet); signature algorithms other than ES256; tokens without a kid; azp and the
//     choice among several audiences beyond "one of them is a client ID"; the size limits of
//     tokens and session tags; session tag values and transitive keys. ProviderId (OAuth 2.0
//     providers) is refused rather than evaluated.
//   - RoleSessionName, SourceIdentity, SerialNumber/TokenCode (MFA), DurationSeconds below 900.
//   - Every other call, of STS (GetCallerIdentity, GetSessionToken, AssumeRoleWithSAML), KMS
//     (GetPublicKey, Encrypt, PutKeyPolicy, ...), IAM or any service: it is forwarded, and moto's
//     answer stands.
//   - Eventual consistency: a role, provider or key policy is seen the moment moto has it.
package awscheck
