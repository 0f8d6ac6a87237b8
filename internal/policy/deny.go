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
// Metadata reads (configuration, policies, tags) stay allowed.
var SensitiveReads = Strings{
	"s3:GetObject",
	"s3:GetObjectVersion",
	"s3:GetObjectTorrent",
	"s3:GetObjectVersionTorrent",
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
	"ssm:GetParameter",
	"ssm:GetParameters",
	"ssm:GetParametersByPath",
	"ssm:GetParameterHistory",
	"kms:Decrypt",
	"kms:ReEncryptFrom",
	"ec2:GetPasswordData",
	"ec2:GetConsoleOutput",
	"ec2:GetConsoleScreenshot",
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
	"athena:GetQueryResults",
	"athena:GetQueryResultsStream",
	"logs:GetLogEvents",
	"logs:GetLogRecord",
	"logs:GetQueryResults",
	"logs:FilterLogEvents",
	"logs:StartLiveTail",
	"ssm:GetCommandInvocation",
	"states:DescribeExecution",
	"states:GetExecutionHistory",
	"elasticmapreduce:GetClusterSessionCredentials",
	"glue:GetConnection",
	"glue:GetConnections",
	"redshift:GetClusterCredentials",
	"redshift:GetClusterCredentialsWithIAM",
	"redshift-serverless:GetCredentials",
	"cognito-idp:DescribeUserPoolClient",
	"cognito-idp:DescribeIdentityProvider",
	"rds:DownloadDBLogFilePortion",
	"rds:DownloadCompleteDBLogFile",
}

// DenySensitiveReads is the statement that enforces SensitiveReads.
func DenySensitiveReads() Statement {
	return denyReads(SensitiveReads)
}

func denyReads(actions Strings) Statement {
	return Statement{
		Sid:      "DenySensitiveDataReads",
		Effect:   Deny,
		Action:   actions,
		Resource: Strings{"*"},
	}
}

// sensitiveReadsMatching are the sensitive reads some pattern admits: the boundary needs to deny
// only those, and the room it saves keeps it within IAM's size limit.
func sensitiveReadsMatching(patterns Strings) Strings {
	var out Strings
	for _, a := range SensitiveReads {
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
		case pi < len(p) && (p[pi] == '?' || p[pi] == a[ai]):
			pi++
			ai++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ai
			pi++
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
