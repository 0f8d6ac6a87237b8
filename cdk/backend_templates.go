package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	iam "github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	s3 "github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/supportaccess/gateway/internal/policy"
)

// Where the published templates live in the template bucket: every release under its own version,
// never overwritten (StackSets and existing stacks keep pointing at the version they were made
// from), and the current release again under latest/ (the quick-create links).
const (
	templateVersionPrefix = "v"
	templateLatestPrefix  = "latest/"
)

// newTemplateBucket is where the customer templates are published. CloudFormation takes a template
// only from an S3 object URL (TemplateURL), and customers read it there before deploying, so the
// two published prefixes are readable by anyone (GetObject only: no listing, no other key); the rest
// of the bucket is private, and nothing but the published templates is ever put in it.
func (be *backend) newTemplateBucket() s3.Bucket {
	props := &s3.BucketProps{
		// Public access by bucket policy only: no ACL may make anything public.
		BlockPublicAccess: s3.NewBlockPublicAccess(&s3.BlockPublicAccessOptions{
			BlockPublicAcls:       jsii.Bool(true),
			IgnorePublicAcls:      jsii.Bool(true),
			BlockPublicPolicy:     jsii.Bool(false),
			RestrictPublicBuckets: jsii.Bool(false),
		}),
		ObjectOwnership:        s3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Encryption:             s3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		Versioned:              jsii.Bool(true),
		ServerAccessLogsBucket: be.accessLogs,
		ServerAccessLogsPrefix: jsii.String("s3/templates/"),
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
	}
	if be.b.TemplateBucketName != "" {
		props.BucketName = jsii.String(be.b.TemplateBucketName)
	}
	bucket := s3.NewBucket(be.stack, jsii.String("TemplateBucket"), props)
	logicalID(bucket, "TemplateBucket")
	bucket.AddToResourcePolicy(iam.NewPolicyStatement(&iam.PolicyStatementProps{
		Sid:        jsii.String("AnyoneReadsThePublishedTemplates"),
		Principals: &[]iam.IPrincipal{iam.NewAnyPrincipal()},
		Actions:    jsii.Strings("s3:GetObject"),
		Resources: &[]*string{
			bucket.ArnForObjects(jsii.String(templateVersionPrefix + "*")),
			bucket.ArnForObjects(jsii.String(templateLatestPrefix + "*")),
		},
	}))
	be.output("TemplateBaseUrl", "Publish the templates under v"+policy.TemplateVersion+"/ and latest/ here (TemplateURL)",
		awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), bucket.BucketRegionalDomainName(), jsii.String("/")}))
	return bucket
}
