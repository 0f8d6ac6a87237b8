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
	"s3:GetObjectVersion*", // its torrent and its copy for replication (and a version's ACL, tags and attributes)
	"s3:GetObjectTorrent",
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
	"elasticmapreduce:Get*Session*", // cluster session credentials, Spark Connect session endpoints (and session metadata)
	"glue:GetConnection*",           // GetConnection, GetConnections
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
// data: container registry tokens, EMR, Glue and Athena interactive-session endpoints and Spark UI
// links, Glue statement results and record previews, Bedrock documents, agent memory and stored
// invocations, CloudWatch records, telemetry query results and space credentials, Lambda durable
// execution inputs and history, SES archived mail, S3 object annotations, WAF sampled requests
// (request headers) and decrypted API keys, and SSM just-in-time access tokens. checkov
// (cloudsplaining) and an audit of every action the allow-list admits found them (README). A "*" here covers the actions it matches, all of which
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
	"glue:GetDashboardUrl",
	"glue:Get*Statement",
	"glue:GetEntityRecords",
	"glue:GetRecipeAction",
	"glue:GetSessionEndpoint",
	"lambda:GetDurableExecution*",
	"s3:GetObject*Annotation*",
	"ses:GetArchive*",
	"ssm:GetAccessToken",
	"wafv2:GetDecryptedAPIKey",
	"wafv2:GetSampledRequests",
}

// ResponseSecrets are reads whose responses carry user data, credentials, secrets, personal data or
// content inside what is otherwise configuration (environment variables and arguments are
// ArgumentReads). They were found systematically:
// every action the allow-lists admit (SecurityAudit, AWSSupportAccess and the inline grants for
// sessions; the boundary's cap), its response shape searched in botocore's service models for such
// fields, each finding reviewed by a person (test/iam/sensitive-reads.json: deny, kept as a known
// limit, or not sensitive, each with the reason). A "*" covers the actions named beside it; where it
// also covers a read the review found harmless (noted), that read is given up for room.
var ResponseSecrets = Strings{
	// user data and boot scripts
	"autoscaling:DescribeLaunchConfigurations",
	"ec2:DescribeSpot*Requests", // spot instance and spot fleet requests' launch specifications
	"sagemaker:Describe*Lifecycle*",
	// credentials and secrets
	"appsync:ListApiKeys",         // an API key's id is the key
	"codepipeline:Get*JobDetails", // artifact-bucket credentials, action secrets (and third-party jobs)
	"cognito-idp:ListUserPoolClientSecrets",
	"cognito-idp:*UserImportJob*", // presigned upload URLs
	"datapipeline:GetPipelineDefinition",
	"datapipeline:DescribeObjects",
	"datapipeline:EvaluateExpression",
	"ec2:DescribeBundleTasks",           // the upload policy's signature
	"ec2:DescribeConversionTasks",       // presigned import URLs
	"ec2:DescribeVpnConnections",        // tunnel pre-shared keys
	"ec2:GetVpnConnectionDeviceSample*", // the customer gateway's configuration, keys included
	"kafkaconnect:DescribeConnector*",   // connector configuration, often with passwords
	"s3:GetDataAccess",                  // temporary credentials (S3 Access Grants)
	"ses:*AddressList*",                 // import jobs' presigned URLs, list members (and the lists' names)
	"wafv2:ListAPIKeys",
	"chime:ListApiKeys",
	"chime:ListAttendees",                     // join tokens
	"chime:ListBots",                          // bot e-mails and tokens
	"directconnect:DescribeVirtualInterfaces", // BGP MD5 auth keys
	// personal data
	"account:Get*Contact*", // alternate contacts, contact information
	"cognito-idp:ListUsers*",
	"identitystore:DescribeUser",
	"identitystore:ListUsers",
	"sso-directory:ListUsers",
	"codestar:*UserProfile*",
	"codecommit:ListFileCommitHistory", // authors' names and e-mails
	"route53domains:GetDomainDetail",   // registrant contacts
	"ses:*Contact",
	"ses:ListContacts",
	"ses:*SuppressedDestination*",
	"shield:DescribeEmergencyContactSettings",
	"sns:*Endpoint*", // mobile push endpoints' device tokens and user data
	"sns:List*PhoneNumbers*",
	"sns:*Subscription*", // subscribers' e-mail addresses and phone numbers (the endpoints)
	"chime:List*Users",
	"chime:ListProxySessions",
	"chime:ListRoomMemberships",
	"quicksight:DescribeUser",
	"quicksight:ListUsers",
	// content
	"bedrock:*AutomatedReasoningPolicyTest*", // model input and output
	"bedrock:ListFlowExecutionEvents",
	"chime:ListChannelMessages",
	"cloudfront:Get*Function", // function code
	"codebuild:ListCommandExecutionsForSandbox",
	"cognito-sync:ListRecords",
	"quicksight:DescribeAssetBundle*Job",
	"quicksight:DescribeAutomationJob",
	"quicksight:DescribeDashboardSnapshotJobResult",
	"ses:GetMessageInsights",
	"ssm:ListCommandInvocations",  // command output
	"logs:ListAnomalies",          // sample log lines
	"ses:Get*portJob",             // export and import jobs' S3 URLs (an export's is presigned)
	"athena:GetResourceDashboard", // a Spark UI URL
	"sagemaker:DescribeModelCard", // model cards' content (also under ArgumentReads' Describe*Model*)
}

// ArgumentReads are reads found the same way whose responses carry environment variables, job
// arguments, task parameters or template bodies: configuration a team may have put secrets into.
// The roles' own policies deny them (the gateway role's DoiT-Support-Base, the vendor's
// DoiT-Support-Permissions), so no session makes them. The boundary does not repeat them, for room
// in IAM's 6,144-character limit on a managed policy: only a vendor backend under an attacker's
// control, rewriting its own policy, could read them through the DoiT-Support role (README, known
// limits; the escalation suite checks that the boundary leaves out nothing of another kind).
var ArgumentReads = Strings{
	"appsync:GetGraphqlApiEnvironmentVariables",
	"batch:DescribeJobDefinitions",
	"batch:DescribeJobs",
	"elasticmapreduce:DescribeNotebookExecution",
	"emr-serverless:GetJobRun",
	"emr-serverless:GetSession",
	"glue:GetJob",
	"glue:GetJobs",
	"glue:GetJobRun*",
	"glue:GetSession",
	"glue:GetTrigger*",
	"glue:GetWorkflow*", // and run properties
	"glue:GetDevEndpoint*",
	"glue:GetBlueprintRun*",
	"sagemaker:Describe*Job*",   // training, processing, transform, tuning, monitoring jobs (and the others)
	"sagemaker:Describe*Model*", // models, packages, cards (and package groups)
	"sagemaker:DescribePipeline*",
	"sagemaker:DescribeAlgorithm",
	"sagemaker:DescribeAppImageConfig",
	"sagemaker:DescribeInferenceComponent",
	"sagemaker:DescribeMonitoringSchedule",
	"sagemaker:DescribePartnerApp",
	"devicefarm:ListProjects",
	"ssm:*MaintenanceWindow*Task*", // task parameters (and the execution tasks' status)
	"cloudformation:Get*Template",  // template bodies (GetTemplate, GetGeneratedTemplate)
	"cloudformation:DescribeStackSet",
	"cloudformation:DescribeStackResourceDrifts", // resolved resource properties, user data included
	"elasticmapreduce:DescribeJobFlows",          // step and bootstrap arguments (DescribeCluster replaces it)
	"glue:GetDataflowGraph",                      // node arguments
}

// DenySensitiveReads is the statement that enforces SensitiveReads, ResponseSecrets, ArgumentReads
// and CapSensitiveReads.
func DenySensitiveReads() Statement {
	return denyReads(allSensitiveReads())
}

// allSensitiveReads is SensitiveReads, ResponseSecrets, ArgumentReads and CapSensitiveReads, in
// that order.
func allSensitiveReads() Strings {
	return slices.Concat(SensitiveReads, ResponseSecrets, ArgumentReads, CapSensitiveReads)
}

// boundaryReads is what the boundary denies of the sensitive reads inside its cap: all but
// ArgumentReads.
func boundaryReads() Strings {
	return slices.Concat(SensitiveReads, ResponseSecrets, CapSensitiveReads)
}

// DenyAPIKeyValues denies reading API Gateway API keys: IAM authorizes API Gateway's reads as
// apigateway:GET on the resource's path, and SecurityAudit grants apigateway:GET on everything,
// including GetApiKey/GetApiKeys with includeValue and a usage plan's keys, which return the keys
// themselves. The rest of API Gateway's configuration stays readable.
func DenyAPIKeyValues(t Target) Statement {
	arn := "arn:" + t.Partition + ":apigateway:*::"
	return Statement{
		Sid:      "DenyAPIKeyValues",
		Effect:   Deny,
		Action:   Strings{"apigateway:GET"},
		Resource: Strings{arn + "/apikeys*", arn + "/usageplans/*/keys*"},
	}
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
// those, and the room it saves keeps it within IAM's size limits. An entry with a wildcard counts
// when some action could match both it and a pattern (PatternsOverlap).
func sensitiveReadsMatching(reads, patterns Strings) Strings {
	var out Strings
	for _, a := range reads {
		if slices.ContainsFunc(patterns, func(p string) bool { return PatternsOverlap(p, a) }) {
			out = append(out, a)
		}
	}
	return out
}

// PatternsOverlap reports whether some action matches both IAM action patterns (* and ?
// wildcards, compared case-insensitively): "ses:Get*" and "ses:*Contact" overlap (ses:GetContact),
// "ses:List*" and "ses:Get*" do not.
func PatternsOverlap(p, q string) bool {
	p, q = strings.ToLower(p), strings.ToLower(q)
	memo := map[[2]int]bool{}
	var overlap func(i, j int) bool
	overlap = func(i, j int) bool {
		key := [2]int{i, j}
		if v, ok := memo[key]; ok {
			return v
		}
		memo[key] = false // a cycle cannot make progress
		var ok bool
		switch {
		case i == len(p) && j == len(q):
			ok = true
		case i < len(p) && p[i] == '*':
			ok = overlap(i+1, j) || (j < len(q) && overlap(i, j+1))
		case j < len(q) && q[j] == '*':
			ok = overlap(i, j+1) || (i < len(p) && overlap(i+1, j))
		case i < len(p) && j < len(q) && (p[i] == q[j] || p[i] == '?' || q[j] == '?'):
			ok = overlap(i+1, j+1)
		}
		memo[key] = ok
		return ok
	}
	return overlap(0, 0)
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
