package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	acm "github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	cloudfront "github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	origins "github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	kms "github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	s3 "github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/supportaccess/gateway/internal/policy"
)

// The issuer's documents' cache lifetimes, in seconds: internal/issuer's JWKSMaxAge and
// DiscoveryMaxAge (the documents carry them as Cache-Control; backend_test.go checks they agree).
// CloudFront keeps an object without Cache-Control (aws s3 sync sets none) for the JWKS's lifetime,
// never the managed policies' day: a rotated-in key must reach STS within the rotation's lead.
const (
	issuerJWKSMaxAge      = 60
	issuerDiscoveryMaxAge = 3600
)

// issuerSet is the token issuer's part of the backend.
type issuerSet struct {
	subjectKey   kms.CfnKey
	bucket       s3.Bucket
	distribution []cloudfront.Distribution // primary, standby
}

// newIssuer makes the pairwise-subject HMAC key (so no one runs supportctl issuer
// create-subject-key) and the documents' bucket behind one CloudFront distribution per issuer host.
func (be *backend) newIssuer() issuerSet {
	stack, v := be.stack, be.v
	// The key policy is internal/policy's, exactly what issuer.EnsureSubjectKey would create: only
	// the signer computes MACs, only HMAC-SHA-256, nobody verifies. KMS refuses a key policy naming
	// a principal that does not exist, hence the dependency on the signer role.
	key := kms.NewCfnKey(stack, jsii.String("SubjectKey"), &kms.CfnKeyProps{
		Description: jsii.String(v.Name + " support gateway: pairwise engineer identifiers (the sub of every token)"),
		KeySpec:     jsii.String("HMAC_256"),
		KeyUsage:    jsii.String("GENERATE_VERIFY_MAC"),
		KeyPolicy:   cfnDocument(v.SubjectKeyPolicy(be.partition, be.account, be.signerARN)),
		// HMAC keys cannot rotate automatically, and a new key would give every engineer new subs.
		EnableKeyRotation:   jsii.Bool(false),
		PendingWindowInDays: jsii.Number(30),
		Tags:                &[]*awscdk.CfnTag{{Key: jsii.String(policy.IssuerKeyTagManagedBy), Value: be.managedBy}},
	})
	key.AddResourceDependency(be.roles.signer.Node().DefaultChild().(awscdk.CfnResource), jsii.String("the key policy names the signer role, which KMS requires to exist"))
	key.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
	// The alias the issuer computes subjects by (issuer.SubjectAlias).
	kms.NewCfnAlias(stack, jsii.String("SubjectKeyAlias"), &kms.CfnAliasProps{
		AliasName:   jsii.String(v.SubjectKeyAlias()),
		TargetKeyId: key.AttrKeyId(),
	})

	bucket := s3.NewBucket(stack, jsii.String("IssuerBucket"), &s3.BucketProps{
		BlockPublicAccess:      s3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:             s3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		Versioned:              jsii.Bool(true),
		ObjectOwnership:        s3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		ServerAccessLogsBucket: be.accessLogs,
		ServerAccessLogsPrefix: jsii.String("s3/issuer/"),
		LifecycleRules: &[]*s3.LifecycleRule{{
			Id: jsii.String("ExpireReplacedDocuments"),
			// every rotation and offboarding replaces or deletes documents; old versions are only
			// for looking back
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(90)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	logicalID(bucket, "IssuerBucket")

	cache := cloudfront.NewCachePolicy(stack, jsii.String("IssuerCachePolicy"), &cloudfront.CachePolicyProps{
		Comment:                    jsii.String("Issuer documents: their own Cache-Control, else the JWKS's max-age"),
		DefaultTtl:                 awscdk.Duration_Seconds(jsii.Number(issuerJWKSMaxAge)),
		MinTtl:                     awscdk.Duration_Seconds(jsii.Number(0)),
		MaxTtl:                     awscdk.Duration_Seconds(jsii.Number(issuerDiscoveryMaxAge)),
		CookieBehavior:             cloudfront.CacheCookieBehavior_None(),
		HeaderBehavior:             cloudfront.CacheHeaderBehavior_None(),
		QueryStringBehavior:        cloudfront.CacheQueryStringBehavior_None(),
		EnableAcceptEncodingGzip:   jsii.Bool(true),
		EnableAcceptEncodingBrotli: jsii.Bool(true),
	})

	var cert acm.ICertificate
	if be.b.IssuerCertificateARN != "" {
		cert = acm.Certificate_FromCertificateArn(stack, jsii.String("IssuerCertificate"), jsii.String(be.b.IssuerCertificateARN))
	}
	var dists []cloudfront.Distribution
	for i, id := range []string{"IssuerPrimaryDistribution", "IssuerStandbyDistribution"} {
		host := v.IssuerHosts[i]
		props := &cloudfront.DistributionProps{
			Comment: jsii.String(v.Name + " support gateway issuer " + host),
			DefaultBehavior: &cloudfront.BehaviorOptions{
				// each host is a folder of the one bucket: <host>/accounts/<account>/.well-known/…
				Origin: origins.S3BucketOrigin_WithOriginAccessControl(bucket, &origins.S3BucketOriginWithOACProps{
					OriginPath: jsii.String("/" + host),
				}),
				ViewerProtocolPolicy: cloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
				AllowedMethods:       cloudfront.AllowedMethods_ALLOW_GET_HEAD(),
				CachedMethods:        cloudfront.CachedMethods_CACHE_GET_HEAD(),
				CachePolicy:          cache,
				Compress:             jsii.Bool(true),
			},
			HttpVersion:   cloudfront.HttpVersion_HTTP2_AND_3,
			EnableLogging: jsii.Bool(true),
			LogBucket:     be.accessLogs,
			LogFilePrefix: jsii.String("cloudfront/" + host + "/"),
		}
		if cert != nil {
			props.DomainNames = jsii.Strings(host)
			props.Certificate = cert
			props.MinimumProtocolVersion = cloudfront.SecurityPolicyProtocol_TLS_V1_2_2021
		}
		d := cloudfront.NewDistribution(stack, jsii.String(id), props)
		logicalID(d, id)
		be.output(id+"Domain", "Point "+host+" here (a CNAME or an alias record)", d.DistributionDomainName())
		dists = append(dists, d)
	}
	be.output("IssuerBucketName", "ISSUER_BUCKET: the issuer documents' origin", bucket.BucketName())
	be.output("SubjectKeyArn", "The pairwise-subject HMAC key ("+v.SubjectKeyAlias()+")", key.AttrArn())
	return issuerSet{subjectKey: key, bucket: bucket, distribution: dists}
}
