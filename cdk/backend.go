package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	iam "github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	kms "github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	lambda "github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	logs "github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	s3 "github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	sns "github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	snssubs "github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/supportaccess/gateway/internal/policy"
)

// BackendStackName is the vendor's own stack. Unlike the customer templates it has Lambda assets, so
// it needs `cdk bootstrap` and is synthesized in tests (backend_test.go) and for linting
// (go run ./cdk -backend-template), never committed.
const BackendStackName = "support-gateway-backend"

// logRetention is how long every log group of the backend keeps its logs: a year, so a customer's
// question about a session months ago can still be answered from the hook's and the API's logs (the
// audit log itself is in DynamoDB, 30 days).
const logRetention = logs.RetentionDays_ONE_YEAR

// backend holds what the parts of the backend stack share while it is built.
type backend struct {
	stack awscdk.Stack
	c     Config
	b     BackendConfig
	v     policy.Vendor

	opsKey     kms.Key   // encrypts the log groups and the alarm topic
	accessLogs s3.Bucket // S3 server access logs and CloudFront standard logs
	alarms     sns.Topic // every alarm notifies it
	tables     tableSet  // backend_tables.go
	roles      roleSet   // backend_roles.go
	issuer     issuerSet // backend_issuer.go
	hook       hookSet   // backend_hook.go
	templates  s3.Bucket // backend_templates.go
	api        apiSet    // backend_api.go
	signerARN  string    // the signer role's ARN, known before the role exists (key policies name it)
	managedBy  *string   // the ManagedBy tag value on everything the issuer and this stack create
	account    string    // the vendor account
	partition  string    // "aws": the hook and the issuer serve the commercial partition
	hostPrefix []string  // the issuer bucket's key prefixes, one per issuer host
}

// NewBackendStack is the vendor's backend: the registry's and broker's tables, the hook (its SNS
// topic, Lambda, dead letters and alarms), the issuer (signer role, pairwise-subject key, documents
// bucket behind CloudFront), the template bucket and the HTTP API. It deploys in the vendor account
// named in cdk.json, in us-east-1 (the customer templates' hook topic is there).
func NewBackendStack(scope constructs.Construct, id string, c Config, b BackendConfig) awscdk.Stack {
	v := c.Vendor
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Description: jsii.String(v.Name + " support gateway backend (v" + policy.TemplateVersion + "): registry and broker tables, " +
			"the Custom::Hook topic and Lambda, the token issuer's signer, keys and documents, the template bucket and the HTTP API."),
		Env:                   &awscdk.Environment{Account: jsii.String(c.VendorAccountID), Region: jsii.String(Region)},
		AnalyticsReporting:    jsii.Bool(false),
		TerminationProtection: jsii.Bool(true),
	})
	be := &backend{stack: stack, c: c, b: b, v: v, account: c.VendorAccountID, partition: "aws",
		managedBy: jsii.String(v.ManagedByTag())}
	be.signerARN = "arn:" + be.partition + ":iam::" + be.account + ":role/" + v.SignerRoleName()
	for _, host := range v.IssuerHosts {
		be.hostPrefix = append(be.hostPrefix, host+"/accounts/")
	}
	awscdk.Tags_Of(stack).Add(jsii.String(v.ManagedByTagKey()), be.managedBy, nil)

	be.operations()
	be.tables = be.newTables()
	be.roles = be.newRoles()
	be.issuer = be.newIssuer()
	be.hook = be.newHook()
	be.templates = be.newTemplateBucket()
	be.api = be.newAPI()
	be.grantBackend()
	be.grantSigner()
	be.grantAPI()
	be.functionsDependOnPoliciesOnly()
	return stack
}

// operations makes what every other part uses: the key of the log groups and the alarm topic, the
// access-log bucket and the alarm topic.
func (be *backend) operations() {
	stack := be.stack
	be.opsKey = kms.NewKey(stack, jsii.String("OperationsKey"), &kms.KeyProps{
		Description:       jsii.String(be.v.Name + " support gateway: encrypts the backend's log groups and alarm notifications"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	be.opsKey.AddAlias(jsii.String("alias/" + be.v.ManagedByTag() + "/operations"))
	// CloudWatch Logs encrypts each log group of this account with the key, and only those
	// (the encryption context names the log group).
	be.opsKey.AddToResourcePolicy(iam.NewPolicyStatement(&iam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchLogsEncryptsThisAccountsLogGroups"),
		Principals: &[]iam.IPrincipal{iam.NewServicePrincipal(jsii.String("logs."+Region+".amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"ArnLike": map[string]any{
			"kms:EncryptionContext:aws:logs:arn": "arn:" + be.partition + ":logs:" + Region + ":" + be.account + ":log-group:*",
		}},
	}), nil)
	// CloudWatch alarms of this account publish to the encrypted alarm topic.
	be.opsKey.AddToResourcePolicy(iam.NewPolicyStatement(&iam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublishToTheAlarmTopic"),
		Principals: &[]iam.IPrincipal{iam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": be.account}},
	}), nil)

	be.accessLogs = s3.NewBucket(stack, jsii.String("AccessLogsBucket"), &s3.BucketProps{
		BlockPublicAccess: s3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        s3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		Versioned:         jsii.Bool(true),
		// CloudFront's standard logs are delivered with an ACL grant, which needs ACLs enabled here.
		ObjectOwnership: s3.ObjectOwnership_BUCKET_OWNER_PREFERRED,
		LifecycleRules: &[]*s3.LifecycleRule{{
			Id:                          jsii.String("ExpireAfterAYear"),
			Expiration:                  awscdk.Duration_Days(jsii.Number(365)),
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(30)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})

	be.alarms = sns.NewTopic(stack, jsii.String("AlarmTopic"), &sns.TopicProps{
		DisplayName: jsii.String(be.v.Name + " support gateway alarms"),
		MasterKey:   be.opsKey,
		EnforceSSL:  jsii.Bool(true),
	})
	if be.b.AlarmEmail != "" {
		be.alarms.AddSubscription(snssubs.NewEmailSubscription(jsii.String(be.b.AlarmEmail), nil))
	}
}

// logGroup is a log group kept logRetention, encrypted with the operations key and retained when
// the stack goes.
func (be *backend) logGroup(scope constructs.Construct, id string) logs.LogGroup {
	return logs.NewLogGroup(scope, jsii.String(id), &logs.LogGroupProps{
		Retention:     logRetention,
		EncryptionKey: be.opsKey,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

// logicalID gives a construct's CloudFormation resource a readable, stable logical ID: the backend's
// resources are referred to by it in the README, alarms and suppressions, and renaming one would
// replace it.
func logicalID(c constructs.IConstruct, id string) {
	c.Node().DefaultChild().(awscdk.CfnElement).OverrideLogicalId(jsii.String(id))
}

// output adds a stack output.
func (be *backend) output(id, description string, value *string) {
	awscdk.NewCfnOutput(be.stack, jsii.String(id), &awscdk.CfnOutputProps{Description: jsii.String(description), Value: value})
}

// functionsDependOnPoliciesOnly leaves each function's DependsOn with its role's default policy (the
// grants CDK writes there must exist before the function runs) and drops the role, which the
// function's Role (Fn::GetAtt) orders already: cfn-lint warns of the duplicate (W3005).
func (be *backend) functionsDependOnPoliciesOnly() {
	for _, f := range []struct {
		fn   lambda.Function
		role iam.Role
		id   string
	}{{be.hook.function, be.roles.backend, "BackendRole"}, {be.api.function, be.roles.api, "ApiRole"}} {
		policy := f.role.Node().TryFindChild(jsii.String("DefaultPolicy"))
		if policy == nil {
			continue
		}
		logicalID(policy, f.id+"DefaultPolicy")
		f.fn.Node().DefaultChild().(awscdk.CfnResource).AddOverride(jsii.String("DependsOn"), []string{f.id + "DefaultPolicy"})
	}
}
