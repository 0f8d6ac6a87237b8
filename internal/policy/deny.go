package policy

// SensitiveReads are the data reads no support session may make, whatever else it holds: object
// bodies, table items, stream records, queue messages, secrets, parameters, decryption, instance
// passwords and console output, launch-template user data, function and layer code, container
// image layers, repository files, query results, database credentials, Glue connection passwords
// and Cognito app-client secrets. Metadata reads (configuration, policies, tags) stay allowed.
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
	"lambda:GetFunction",
	"lambda:GetLayerVersion",
	"ecr:BatchGetImage",
	"ecr:GetDownloadUrlForLayer",
	"codecommit:GetBlob",
	"codecommit:GetFile",
	"codecommit:GetFolder",
	"codecommit:GitPull",
	"athena:GetQueryResults",
	"glue:GetConnection",
	"glue:GetConnections",
	"redshift:GetClusterCredentials",
	"redshift:GetClusterCredentialsWithIAM",
	"redshift-serverless:GetCredentials",
	"cognito-idp:DescribeUserPoolClient",
	"rds:DownloadDBLogFilePortion",
	"rds:DownloadCompleteDBLogFile",
}

// DenySensitiveReads is the statement that enforces SensitiveReads.
func DenySensitiveReads() Statement {
	return Statement{
		Sid:      "DenySensitiveDataReads",
		Effect:   Deny,
		Action:   SensitiveReads,
		Resource: Strings{"*"},
	}
}
