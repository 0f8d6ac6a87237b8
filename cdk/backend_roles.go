package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	iam "github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/tables"
)

// roleSet is the backend's three roles.
//
//   - backend: DoiT-Support-Gateway-Backend, the role every customer's management trust names (by
//     ARN). The hook Lambda runs as it; operators may assume it to run supportctl repair and sweep.
//     It assumes customers' management roles and the signer role, reads and writes the registry,
//     creates, aliases and retires the per-account signing keys, and publishes their documents.
//   - signer: DoiT-Support-Gateway-Signer, the one principal the signing keys' and the subject
//     key's policies let sign or compute a MAC. It can do nothing else.
//   - api: the HTTP API's Lambda: the broker's table, reads of the registry, the keys' public
//     halves (JWKS), and the signer role.
//
// The backend and signer roles are retained when the stack is deleted: their ARNs are written into
// policies this stack does not own (customers' management trusts; every signing key's policy), and a
// role made again under the same name is another principal to those policies.
type roleSet struct {
	backend, signer, api iam.Role
}

func (be *backend) newRoles() roleSet {
	stack := be.stack
	lambda := iam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil)

	var backendTrust iam.IPrincipal = lambda
	if len(be.b.OperatorRoleARNs) > 0 {
		principals := []iam.IPrincipal{lambda}
		for _, arn := range be.b.OperatorRoleARNs {
			principals = append(principals, iam.NewArnPrincipal(jsii.String(arn)))
		}
		backendTrust = iam.NewCompositePrincipal(principals...)
	}
	backend := iam.NewRole(stack, jsii.String("BackendRole"), &iam.RoleProps{
		RoleName:           jsii.String(be.v.BackendRoleName),
		Description:        jsii.String("The " + be.v.Name + " support gateway backend: the only principal customers' management roles trust. Runs the hook."),
		AssumedBy:          backendTrust,
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	})
	backend.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)
	logicalID(backend, "BackendRole")

	api := iam.NewRole(stack, jsii.String("ApiRole"), &iam.RoleProps{
		Description:        jsii.String("The " + be.v.Name + " support gateway HTTP API (broker, issuer documents)."),
		AssumedBy:          lambda,
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	})
	logicalID(api, "ApiRole")

	signer := iam.NewRole(stack, jsii.String("SignerRole"), &iam.RoleProps{
		RoleName:    jsii.String(be.v.SignerRoleName()),
		Description: jsii.String("Signs the " + be.v.Name + " support gateway's tokens and computes pairwise subjects; nothing else."),
		AssumedBy: iam.NewCompositePrincipal(
			iam.NewArnPrincipal(backend.RoleArn()),
			iam.NewArnPrincipal(api.RoleArn()),
		),
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	})
	signer.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)
	logicalID(signer, "SignerRole")
	be.output("BackendRoleArn", "The backend role customers' management roles trust; the hook runs as it", backend.RoleArn())
	be.output("SignerRoleArn", "SIGNER_ROLE_ARN: the only principal the issuer's keys let sign", signer.RoleArn())
	return roleSet{backend: backend, signer: signer, api: api}
}

// statement is an Allow statement.
func statement(sid string, actions []string, resources []string, conditions map[string]any) iam.PolicyStatement {
	props := &iam.PolicyStatementProps{
		Sid:       jsii.String(sid),
		Actions:   jsii.Strings(actions...),
		Resources: jsii.Strings(resources...),
	}
	if conditions != nil {
		props.Conditions = &conditions
	}
	return iam.NewPolicyStatement(props)
}

// attach gives a role one inline policy of the given statements.
func (be *backend) attach(role iam.Role, id string, statements ...iam.PolicyStatement) {
	p := iam.NewPolicy(be.stack, jsii.String(id), &iam.PolicyProps{Statements: &statements})
	p.AttachToRole(role)
	logicalID(p, id)
}

// kmsKeys is the ARN pattern of every KMS key in the vendor account and region; the statements that
// use it narrow it by the keys' tags, since the per-account keys are made at run time.
func (be *backend) kmsKeys() string {
	return "arn:" + be.partition + ":kms:" + Region + ":" + be.account + ":key/*"
}

// signingKeyTags is the condition that picks the issuer's per-account signing keys: P-256 signing
// keys carrying the vendor's ManagedBy tag and an Account tag (the subject key has none, and is an
// HMAC key). The key spec and usage are the key's own, which no tag can change.
func (be *backend) signingKeyTags() map[string]any {
	return map[string]any{
		"StringEquals": map[string]any{
			"aws:ResourceTag/" + policy.IssuerKeyTagManagedBy: be.v.ManagedByTag(),
			"kms:KeySpec":  "ECC_NIST_P256",
			"kms:KeyUsage": "SIGN_VERIFY",
		},
		"Null": map[string]any{"aws:ResourceTag/" + policy.IssuerKeyTagAccount: "false"},
	}
}

// grantBackend writes the backend role's policy: what the hook (and supportctl, as the same role)
// calls, on exact ARNs wherever they exist before run time.
func (be *backend) grantBackend() {
	v := be.v
	managed := map[string]any{"aws:RequestTag/" + policy.IssuerKeyTagManagedBy: v.ManagedByTag()}
	tagKeys := map[string]any{"aws:TagKeys": []string{policy.IssuerKeyTagManagedBy, policy.IssuerKeyTagAccount}}
	var documents []string
	for _, prefix := range be.hostPrefix {
		documents = append(documents, *be.issuer.bucket.ArnForObjects(jsii.String(prefix + "*")))
	}
	be.attach(be.roles.backend, "BackendRolePolicy",
		// The management role of every customer account (any account: onboarding is open), and only
		// it. The hook also tries it without the ExternalId, to prove the customer's trust refuses that
		// (PROBE_WITHOUT_EXTERNAL_ID), so there is no sts:ExternalId condition here: the customer's
		// trust policy is what requires it.
		statement("AssumeCustomersManagementRoles", []string{"sts:AssumeRole"},
			[]string{"arn:" + be.partition + ":iam::*:role/" + v.ManagementRoleName()}, nil),
		// Tokens are signed, and subjects computed, only through the signer role.
		statement("AssumeTheSigner", []string{"sts:AssumeRole"}, []string{*be.roles.signer.RoleArn()}, nil),
		// The registry and the issuer's key records in it: reads, conditional and transactional
		// writes (TransactWriteItems is authorized item by item), the operators' listings (Scan).
		statement("Registry", []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:PutItem",
			"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"},
			[]string{*be.tables.registry.TableArn()}, nil),
		// A signing key per registered account, made at run time, so no key ARN exists yet (CreateKey
		// names no resource): only single-region P-256 signing keys with KMS's own key material,
		// tagged as the issuer tags them (ManagedBy, and Account) and with no other tag.
		statement("CreateAccountSigningKeys", []string{"kms:CreateKey"}, []string{"*"}, map[string]any{
			"StringEquals": merge(managed, map[string]any{
				"kms:KeySpec":   "ECC_NIST_P256",
				"kms:KeyUsage":  "SIGN_VERIFY",
				"kms:KeyOrigin": "AWS_KMS",
			}),
			"Bool":                      map[string]any{"kms:MultiRegion": "false"},
			"Null":                      map[string]any{"aws:RequestTag/" + policy.IssuerKeyTagAccount: "false"},
			"ForAllValues:StringEquals": tagKeys,
		}),
		// CreateKey with tags also needs kms:TagResource, on the key being made: only those two tags.
		statement("TagNewSigningKeys", []string{"kms:TagResource"}, []string{be.kmsKeys()}, map[string]any{
			"StringEquals":              managed,
			"Null":                      map[string]any{"aws:RequestTag/" + policy.IssuerKeyTagAccount: "false"},
			"ForAllValues:StringEquals": tagKeys,
		}),
		// The account aliases (alias/doit-support-issuer/ and exactly twelve characters: an account
		// ID, never the stack's own alias/doit-support-issuer/subjects) ...
		statement("AccountKeyAliases", []string{"kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"},
			[]string{"arn:" + be.partition + ":kms:" + Region + ":" + be.account + ":" + v.IssuerKeyAliasPrefix() + "????????????"}, nil),
		// ... and the keys they point to, which KMS authorizes too; the public halves for the JWKS;
		// deletion when an account is offboarded. Only the issuer's signing keys (the tag conditions).
		statement("UseAccountSigningKeys", []string{"kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias",
			"kms:GetPublicKey", "kms:DescribeKey", "kms:ScheduleKeyDeletion"}, []string{be.kmsKeys()}, be.signingKeyTags()),
		// Each account's discovery document and JWKS, on both hosts' prefixes of the issuer bucket.
		statement("PublishIssuerDocuments", []string{"s3:PutObject", "s3:DeleteObject"}, documents, nil),
		// Lambda writes a failed event to the dead-letter queue as the function's role; the queue is
		// encrypted with the operations key, used through SQS only.
		statement("EncryptDeadLetters", []string{"kms:GenerateDataKey", "kms:Decrypt"}, []string{*be.opsKey.KeyArn()},
			map[string]any{"StringEquals": map[string]any{"kms:ViaService": "sqs." + Region + ".amazonaws.com"}}),
	)
	// The hook never touches the stack's own keys (the pairwise-subject key, the operations key),
	// whatever the tag conditions above would allow: tags can be added by whoever may tag.
	be.roles.backend.AddToPrincipalPolicy(iam.NewPolicyStatement(&iam.PolicyStatementProps{
		Sid:    jsii.String("NeverTheStacksOwnKeys"),
		Effect: iam.Effect_DENY,
		Actions: jsii.Strings("kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:DisableKey",
			"kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias", "kms:PutKeyPolicy", "kms:CreateGrant"),
		Resources: &[]*string{be.issuer.subjectKey.AttrArn(), be.opsKey.KeyArn()},
	}))
}

// grantSigner writes the signer role's policy: sign with the per-account keys (ES256 over a digest)
// and compute subjects with the stack's HMAC key (HMAC-SHA-256), nothing else. The keys' own
// policies say the same and deny everyone else; this is the IAM half KMS also requires.
func (be *backend) grantSigner() {
	be.attach(be.roles.signer, "SignerRolePolicy",
		statement("SignWithAccountSigningKeys", []string{"kms:Sign"}, []string{be.kmsKeys()}, merge(be.signingKeyTags(), map[string]any{
			"StringEquals": merge(be.signingKeyTags()["StringEquals"].(map[string]any), map[string]any{
				"kms:SigningAlgorithm": policy.SigningAlgorithmES256,
				"kms:MessageType":      policy.MessageTypeDigest,
			}),
		})),
		statement("ComputePairwiseSubjects", []string{"kms:GenerateMac"}, []string{*be.issuer.subjectKey.AttrArn()}, map[string]any{
			"StringEquals": map[string]any{"kms:MacAlgorithm": policy.MacAlgorithmHMACSHA256},
		}),
	)
}

// grantAPI writes the API role's policy: the broker's table, reads of the registry (who owns an
// account, the issuer's key records), the signing keys' public halves (the JWKS it serves), and the
// signer role for minting tokens.
func (be *backend) grantAPI() {
	be.attach(be.roles.api, "ApiRolePolicy",
		statement("Broker", []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
			"dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"}, []string{*be.tables.broker.TableArn()}, nil),
		statement("ListBrokerIndexes", []string{"dynamodb:Query"}, be.brokerIndexes(), nil),
		statement("ReadRegistry", []string{"dynamodb:GetItem", "dynamodb:Query"}, []string{*be.tables.registry.TableArn()}, nil),
		statement("ReadAccountSigningKeys", []string{"kms:GetPublicKey", "kms:DescribeKey"}, []string{be.kmsKeys()}, be.signingKeyTags()),
		statement("AssumeTheSigner", []string{"sts:AssumeRole"}, []string{*be.roles.signer.RoleArn()}, nil),
	)
}

// brokerIndexes are the exact ARNs of the broker table's indexes (tables.Broker), which list
// requests and standing approvals.
func (be *backend) brokerIndexes() []string {
	var arns []string
	for _, ix := range tables.Broker.Indexes {
		arns = append(arns, *be.tables.broker.TableArn()+"/index/"+ix.Name)
	}
	return arns
}

// merge returns the union of condition maps (b wins).
func merge(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
