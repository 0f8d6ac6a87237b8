package quotas

// The pages the figures come from. Titles are the pages' own.
var (
	kmsRequestQuotas = Source{
		Title: "Request quotas - AWS Key Management Service",
		URL:   "https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html",
	}
	iamSTSQuotas = Source{
		Title: "IAM and AWS STS quotas - AWS Identity and Access Management",
		URL:   "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
	}
	iamThrottlingBlog = Source{
		Title: "How to monitor and query IAM resources at scale – Part 2 (AWS Security Blog)",
		URL:   "https://aws.amazon.com/blogs/security/how-to-monitor-and-query-iam-resources-at-scale-part-2/",
	}
	iamSTSThrottlingKC = Source{
		Title: `How do I resolve API throttling or "Rate exceeded" errors for IAM and AWS STS? (AWS re:Post Knowledge Center)`,
		URL:   "https://repost.aws/knowledge-center/iam-sts-throttling-error",
	}
	snsQuotas = Source{
		Title: "Amazon Simple Notification Service endpoints and quotas - AWS General Reference",
		URL:   "https://docs.aws.amazon.com/general/latest/gr/sns.html",
	}
	dynamoDBQuotas = Source{
		Title: "Quotas in Amazon DynamoDB - Amazon DynamoDB",
		URL:   "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html",
	}
	dynamoDBOnDemandKC = Source{
		Title: "My on-demand Amazon DynamoDB table has throttling (AWS re:Post Knowledge Center)",
		URL:   "https://repost.aws/knowledge-center/on-demand-table-throttling-dynamodb",
	}
	s3Performance = Source{
		Title: "Best practices design patterns: optimizing Amazon S3 performance - Amazon Simple Storage Service",
		URL:   "https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html",
	}
	s3FiveXXKC = Source{
		Title: "HTTP 5xx errors from Amazon S3 (AWS re:Post Knowledge Center)",
		URL:   "https://repost.aws/knowledge-center/http-5xx-errors-s3",
	}
	athenaS3Throttling = Source{
		Title: "Reduce throttling at the service level - Amazon Athena",
		URL:   "https://docs.aws.amazon.com/athena/latest/ug/performance-tuning-s3-throttling-reduce-throttling-at-the-service-level.html",
	}
)

// Table is the request-rate quotas the hook and the broker meet in a StackSet burst, in
// us-east-1, with their sources. It returns a new slice each time.
func Table() []Quota {
	return []Quota{
		// KMS, in the vendor account: the issuer's keys.
		{
			Name: "CreateKey request rate", Service: "kms", Operations: []string{"CreateKey"},
			Rate: 5, Burst: 5, Scope: VendorAccount, Evidence: Documented, Sources: []Source{kmsRequestQuotas},
			Note: "The issuer creates one ECC_NIST_P256 signing key per onboarded account (and the HMAC subject key once), " +
				"so n accounts take at least n/5 seconds: 1,000 accounts, 200 s. The binding quota of a burst.",
		},
		{
			Name: "CreateAlias request rate", Service: "kms", Operations: []string{"CreateAlias"},
			Rate: 5, Burst: 5, Scope: VendorAccount, Evidence: Documented, Sources: []Source{kmsRequestQuotas},
			Note: "One alias per account; the issuer tries UpdateAlias first and creates the alias when it is missing, so a new account makes both calls.",
		},
		{
			Name: "UpdateAlias request rate", Service: "kms", Operations: []string{"UpdateAlias"},
			Rate: 5, Burst: 5, Scope: VendorAccount, Evidence: Documented, Sources: []Source{kmsRequestQuotas},
		},
		{
			Name: "DeleteAlias request rate", Service: "kms", Operations: []string{"DeleteAlias"},
			Rate: 15, Burst: 15, Scope: VendorAccount, Evidence: Documented, Sources: []Source{kmsRequestQuotas},
		},
		{
			Name: "ScheduleKeyDeletion request rate", Service: "kms", Operations: []string{"ScheduleKeyDeletion"},
			Rate: 15, Burst: 15, Scope: VendorAccount, Evidence: Documented, Sources: []Source{kmsRequestQuotas},
			Note: "Offboarding schedules an account's keys for deletion. Older editions of the page said 5.",
		},
		{
			Name: "Cryptographic operations (ECC and SM2) request rate", Service: "kms",
			Operations: []string{"Sign", "Verify", "DeriveSharedSecret"},
			Rate:       1000, Burst: 1000, Scope: VendorAccount, Evidence: Documented, Sources: []Source{kmsRequestQuotas},
			Note: "The signing keys are ECC_NIST_P256 (ES256), so Sign counts here, not in the RSA quota " +
				"(\"Cryptographic operations (RSA) request rate\", also 1,000 shared today). Older editions of the page said 500 for RSA and 300 for ECC. " +
				"Cross-account use counts against the calling account.",
		},
		{
			Name: "Cryptographic operations (symmetric) request rate", Service: "kms",
			Operations: []string{"GenerateMac", "VerifyMac", "Encrypt", "Decrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateRandom", "ReEncrypt"},
			Rate:       100_000, Burst: 100_000, Scope: VendorAccount, Evidence: Documented, Sources: []Source{kmsRequestQuotas},
			Note: "GenerateMac (HMAC keys are symmetric) derives every token's pairwise subject. 100,000 in us-east-1, us-west-2 and eu-west-1; " +
				"20,000 in us-east-2, ap-southeast-1, ap-southeast-2, ap-northeast-1, eu-central-1 and eu-west-2; 10,000 elsewhere.",
		},
		{
			Name: "GetPublicKey request rate", Service: "kms", Operations: []string{"GetPublicKey"},
			Rate: 2000, Burst: 2000, Scope: VendorAccount, Evidence: Documented, Sources: []Source{kmsRequestQuotas},
			Note: "Publishing an account's JWKS reads its keys' public halves.",
		},
		{
			Name: "DescribeKey request rate", Service: "kms", Operations: []string{"DescribeKey"},
			Rate: 2000, Burst: 2000, Scope: VendorAccount, Evidence: Documented, Sources: []Source{kmsRequestQuotas},
		},

		// STS.
		{
			Name: "AWS STS request quota", Service: "sts",
			Operations: []string{"AssumeRole", "GetCallerIdentity", "GetSessionToken", "GetFederationToken", "DecodeAuthorizationMessage", "GetAccessKeyInfo"},
			Rate:       600, Burst: 600, Scope: VendorAccount, Evidence: Quoted, Sources: []Source{iamSTSQuotas},
			Note: "600 requests a second per account per Region, shared by the credentialed STS operations, as several independent pages quote " +
				"the IAM page; the stored copy of the page itself was cut before the section. A cross-account AssumeRole counts against the " +
				"calling account: the vendor's backend role assuming each customer's management role (twice per Create, with the negative probe). " +
				"Calls AWS services make on your behalf do not count.",
		},
		{
			Service: "sts", Operations: []string{"AssumeRoleWithWebIdentity"},
			Rate: 600, Burst: 600, Scope: CustomerAccount, Evidence: Assumed, Sources: []Source{iamSTSQuotas},
			Note: "Not in the list of operations that share the STS quota, and documented nowhere found: the call is unsigned, so it has no " +
				"calling account. Assumed: a bucket of the role's account (each customer's) at the credentialed rate. The broker makes one per " +
				"session, the hook one per gateway proof.",
		},

		// IAM, in the customer accounts (the hook reconciles each account with its management role's credentials).
		{
			Service: "iam",
			Rate:    10, Burst: 10, Scope: CustomerAccount, Evidence: Assumed, Sources: []Source{iamThrottlingBlog, iamSTSThrottlingKC},
			Note: "IAM publishes no rates: it throttles with token buckets per API (\"the number of tokens that a bucket holds and the refill rate " +
				"depends on the API\"), per account, and the rates cannot be raised. 10 a second for every operation together is this project's " +
				"assumption, not AWS's; the calls are made with each customer account's credentials, so each account has its own buckets.",
		},

		// SNS: CloudFormation publishes each Custom::Hook event to the vendor's topic.
		{
			Name: "Publish API throttling per account (standard topics)", Service: "sns", Operations: []string{"Publish", "PublishBatch"},
			Rate: 30_000, Burst: 30_000, Scope: VendorAccount, Evidence: Documented, Sources: []Source{snsQuotas},
			Note: "Messages a second: 30,000 in us-east-1; 9,000 in us-west-2 and eu-west-1; 1,500 in us-east-2, us-west-1, ap-south-1, " +
				"ap-northeast-2, ap-southeast-1, ap-southeast-2, ap-northeast-1 and eu-central-1; 300 elsewhere. A PublishBatch counts each of " +
				"its messages (a rule counts requests). CloudFormation publishes from the customer's stack; whether the topic owner's or the " +
				"publisher's account is charged is not documented (assumed: the vendor's). Far above any burst; the simulator delivers the " +
				"notifications itself, so no publish passes the proxy there.",
		},

		// DynamoDB, in the vendor account: the registry and the broker's table (on demand).
		{
			Name: "New on-demand table: write request units", Service: "dynamodb",
			Operations: []string{"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"},
			Rate:       4000, Burst: 4000, Scope: VendorAccount, Evidence: Documented, Sources: []Source{dynamoDBOnDemandKC},
			Note: "A new on-demand table serves up to 4,000 write request units a second at once (or 12,000 read, or a linear combination), " +
				"then up to double its previous peak. A rule counts requests: one unit is a write of up to 1 KB, and a transactional write " +
				"costs 2 units per item, so a TransactWriteItems of n items is 2n units and the real ceiling for it is lower. One rule covers " +
				"every table.",
		},
		{
			Name: "New on-demand table: read request units", Service: "dynamodb",
			Operations: []string{"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"},
			Rate:       12_000, Burst: 12_000, Scope: VendorAccount, Evidence: Documented, Sources: []Source{dynamoDBOnDemandKC},
			Note: "One unit is a strongly consistent read of up to 4 KB (an eventually consistent one is half; transactional, double).",
		},
		{
			Name: "Per partition: write request units", Service: "dynamodb",
			Operations: []string{"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"},
			Rate:       1000, Burst: 1000, Scope: VendorAccount, Evidence: Documented, Reference: true, Sources: []Source{dynamoDBOnDemandKC},
			Note: "Each partition serves up to 1,000 write units a second (or 3,000 read), in both capacity modes; over it, " +
				"ProvisionedThroughputExceededException with TableWriteKeyRangeThroughputExceeded. Reference only: the proxy does not see " +
				"partitions. The registry keys its records by account and the audit by account and person; the one hot key is a pacing " +
				"counter (PACE#<budget>, one item per window, updated by every claim it paces), which a burst updates at most at the KMS " +
				"CreateKey rate, far below this.",
		},
		{
			Name: "Per partition: read request units", Service: "dynamodb",
			Operations: []string{"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"},
			Rate:       3000, Burst: 3000, Scope: VendorAccount, Evidence: Documented, Reference: true, Sources: []Source{dynamoDBOnDemandKC},
			Note: "Reference only, as the write quota above: the proxy does not see partitions.",
		},
		{
			Name: "Table-level read and write throughput (on demand)", Service: "dynamodb",
			Rate: 40_000, Burst: 40_000, Scope: VendorAccount, Evidence: Documented, Reference: true, Sources: []Source{dynamoDBQuotas},
			Note: "40,000 read and 40,000 write request units a second per on-demand table (adjustable). Read in the China-Regions edition " +
				"of the page (docs.amazonaws.cn), which has the same table; the stored global copy was cut before it. Reference only: a new " +
				"table meets its initial throughput (above) long before this.",
		},

		// S3, in the vendor account: the issuer bucket, where the hook publishes each account's documents.
		{
			Name: "PUT/COPY/POST/DELETE per partitioned prefix", Service: "s3",
			Operations: []string{"PutObject", "PostObject", "DeleteObject", "DeleteObjects"},
			Rate:       3500, Burst: 3500, Scope: VendorAccount, Evidence: Documented, Sources: []Source{s3FiveXXKC, s3Performance},
			Note: "At least 3,500 a second per partitioned prefix; a bucket starts as one partition and S3 adds partitions under sustained " +
				"load (answering 503 SlowDown meanwhile). Read in the Knowledge Center article, which quotes the S3 guide. A CopyObject looks " +
				"like a PutObject to the proxy. One rule covers every bucket (the CloudFormation response bucket is AWS's): narrow it with " +
				"PathPrefix to model one.",
		},
		{
			Name: "GET/HEAD per partitioned prefix", Service: "s3", Operations: []string{"GetObject", "HeadObject"},
			Rate: 5500, Burst: 5500, Scope: VendorAccount, Evidence: Documented, Sources: []Source{s3FiveXXKC, athenaS3Throttling, s3Performance},
		},
	}
}
