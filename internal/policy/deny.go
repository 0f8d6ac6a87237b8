package policy

import (
	"slices"
	"strings"
)

// SensitiveReads are the data reads no support session may make, whatever else it holds: object
// bodies, table items, stream records, queue messages, secrets, parameters, decryption, instance
// passwords, console output and user data, function and layer code, container image layers,
// repository files, query results, log events, command output, workflow inputs and outputs,
// database and cluster credentials, Glue connection passwords and Cognito client secrets.
// Metadata reads (configuration, policies, tags) stay allowed. A "*" covers the actions named
// beside it (test/iam expands every entry against the IAM action list).
var SensitiveReads = Strings{
	"s3:GetObject",
	"s3:GetObjectVersion",
	"s3:GetObject*Torrent", // GetObjectTorrent, GetObjectVersionTorrent
	"s3:GetObjectVersionForReplication",
	"s3-object-lambda:GetObject",
	"dynamodb:GetItem",
	"dynamodb:BatchGetItem",
	"dynamodb:Query",
	"dynamodb:Scan",
	"dynamodb:PartiQLSelect",
	"dynamodb:GetRecords",
	"kinesis:GetRecords",
	"sqs:ReceiveMessage",
	"secretsmanager:GetSecretValue",
	"secretsmanager:BatchGetSecretValue",
	"ssm:GetParameter*", // GetParameter, GetParameters, GetParametersByPath, GetParameterHistory
	"kms:Decrypt",
	"kms:ReEncryptFrom",
	"ec2:GetPasswordData",
	"ec2:GetConsole*", // GetConsoleOutput, GetConsoleScreenshot
	"ec2:GetLaunchTemplateData",
	"ec2:DescribeLaunchTemplateVersions",
	"ec2:DescribeInstanceAttribute",
	"lambda:GetFunction",
	"lambda:GetLayerVersion",
	"ecr:BatchGetImage",
	"ecr:GetDownloadUrlForLayer",
	"codecommit:GetBlob",
	"codecommit:GetFile",
	"codecommit:GetFolder",
	"codecommit:GitPull",
	"athena:GetQueryResults*", // and GetQueryResultsStream
	"logs:GetLogEvents",
	"logs:GetLogRecord",
	"logs:GetQueryResults",
	"logs:FilterLogEvents",
	"logs:StartLiveTail",
	"ssm:GetCommandInvocation",
	"states:DescribeExecution",
	"states:GetExecutionHistory",
	"elasticmapreduce:GetClusterSessionCredentials",
	"glue:GetConnection*", // GetConnection, GetConnections
	"redshift:GetClusterCredentials",
	"redshift:GetClusterCredentialsWithIAM",
	"redshift-serverless:GetCredentials",
	"cognito-idp:DescribeUserPoolClient",
	"cognito-idp:DescribeIdentityProvider",
	"rds:DownloadDBLogFilePortion",
	"rds:DownloadCompleteDBLogFile",
}

// CapSensitiveReads are sensitive reads that neither SecurityAudit nor AWSSupportAccess grants, so
// no session can make them (a session is at most those two plus its inline policy), but the
// boundary's read allow-list admits them: only the boundary, which caps what the vendor could write
// into its own role's policies, has to deny them. They are data, credentials or URLs that open
// data: container registry tokens, EMR/Glue/Athena interactive-session endpoints and Spark UI
// links, Glue statement results and record previews, Bedrock documents, agent memory and stored
// invocations, CloudWatch records, telemetry query results and space credentials, Lambda durable
// execution inputs and history, SES archived mail, S3 object annotations, WAF sampled requests
// (request headers) and decrypted API keys, Storage Gateway CHAP secrets, SSM just-in-time access
// tokens and Redshift Serverless auth tokens. checkov (cloudsplaining) and an audit of every action
// the allow-list admits found them (README). A "*" here covers the actions it matches, all of which
// are reads of this kind; test/iam expands each against the IAM action list.
var CapSensitiveReads = Strings{
	"athena:GetCalculationExecutionCode",
	"athena:GetSessionEndpoint",
	"bedrock:GetAgentMemory",
	"bedrock:GetDocumentContent",
	"bedrock:GetInvo*",
	"cloudwatch:GetRecords",
	"cloudwatch:GetSpaceCredentials*",
	"cloudwatch:GetTelemetryQueryResults",
	"ecr:GetAuthorizationToken",
	"elasticmapreduce:Get*PresignedURL",
	"elasticmapreduce:GetSessionEndpoint",
	"emr-serverless:GetDashboardForJobRun",
	"emr-serverless:GetSessionEndpoint",
	"glue:GetDashboardUrl",
	"glue:Get*Statement",
	"glue:GetEntityRecords",
	"glue:GetRecipeAction",
	"glue:GetSessionEndpoint",
	"lambda:GetDurableExecution*",
	"redshift-serverless:GetIdentityCenterAuthToken",
	"s3:GetObject*Annotation*",
	"ses:GetArchive*",
	"ssm:GetAccessToken",
	"storagegateway:DescribeChapCredentials",
	"wafv2:GetDecryptedAPIKey",
	"wafv2:GetSampledRequests",
}

// DenySensitiveReads is the statement that enforces SensitiveReads and CapSensitiveReads.
func DenySensitiveReads() Statement {
	return denyReads(allSensitiveReads())
}

// allSensitiveReads is SensitiveReads and CapSensitiveReads, in that order.
func allSensitiveReads() Strings {
	return append(slices.Clone(SensitiveReads), CapSensitiveReads...)
}

func denyReads(actions Strings) Statement {
	return Statement{
		Sid:      "DenySensitiveDataReads",
		Effect:   Deny,
		Action:   actions,
		Resource: Strings{"*"},
	}
}

// sensitiveReadsMatching are the entries of reads some pattern admits: a policy needs to deny only
// those, and the room it saves keeps it within IAM's size limits. An entry with a wildcard is
// matched as written, which is right for the allow-lists' "<service>:<Verb>*" patterns.
func sensitiveReadsMatching(reads, patterns Strings) Strings {
	var out Strings
	for _, a := range reads {
		if slices.ContainsFunc(patterns, func(p string) bool { return ActionMatches(p, a) }) {
			out = append(out, a)
		}
	}
	return out
}

// ActionMatches reports whether an IAM action pattern (with * and ? wildcards) matches an action,
// case-insensitively, as IAM compares actions.
func ActionMatches(pattern, action string) bool {
	p, a := strings.ToLower(pattern), strings.ToLower(action)
	// Iterative glob match with backtracking to the last '*'.
	pi, ai, star, mark := 0, 0, -1, 0
	for ai < len(a) {
		switch {
		case pi < len(p) && p[pi] == '*': // before the literal case: a '*' in action is text
			star, mark = pi, ai
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == a[ai]):
			pi++
			ai++
		case star >= 0:
			pi = star + 1
			mark++
			ai = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
