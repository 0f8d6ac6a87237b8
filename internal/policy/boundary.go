package policy

import (
	"slices"
	"strings"
)

// readOnlyServices is the boundary's read allow-list: for each service, the read verbs (Describe*,
// Get*, List*) the boundary lets through. It covers the services SecurityAudit reads that support
// work involves (the verbs are the ones SecurityAudit itself uses for that service), plus the cost
// and right-sizing reads of the diagnostic tool (ce, compute-optimizer).
//
// IAM has no "read-only" wildcard: a service prefix cannot hold a wildcard ("*:Get*" is invalid),
// so the cap has to name each service. A service missing here is unreadable under the boundary even
// if SecurityAudit grants it; that is the price of a cap that fits IAM's 6,144-character limit.
// Services whose Get* actions hand out data or credentials are listed without Get (codecommit,
// glacier). Left out, so that the deny of the reads that hand out data or credentials fits
// (ResponseSecrets): retired services (Inspector Classic, WAF Classic, AWS Auto Scaling plans);
// services whose reads are mostly about people or content (identitystore, sso-directory, account
// contacts, route53domains registrant contacts, xray traces); services support seldom needs whose
// reads carry credentials or job secrets (storagegateway, kafkaconnect, emr-serverless,
// redshift-serverless, schemas, rolesanywhere, cognito-identity, ecr-public, codeartifact); and
// license-manager, docdb-elastic and grafana, whose List* support seldom needs. The gateway role, which holds SecurityAudit, still
// reads what is safe in them.
var readOnlyServices = map[string][]string{
	"access-analyzer":         {"Get", "List"},
	"acm":                     {"Describe", "List"},
	"acm-pca":                 {"Describe", "Get", "List"},
	"airflow":                 {"Get", "List"},
	"application-autoscaling": {"Describe"},
	"apprunner":               {"Describe", "List"},
	"appsync":                 {"Get", "List"},
	"athena":                  {"Get", "List"},
	"autoscaling":             {"Describe"},
	"backup":                  {"Describe", "Get", "List"},
	"batch":                   {"Describe"},
	"bedrock":                 {"Get", "List"},
	"ce":                      {"Describe", "Get", "List"},
	"cloudformation":          {"Describe", "Get", "List"},
	"cloudfront":              {"Get", "List"},
	"cloudtrail":              {"Describe", "Get", "List"},
	"cloudwatch":              {"Describe", "Get", "List"},
	"codebuild":               {"Get", "List"},
	"codecommit":              {"List"},
	"codedeploy":              {"Get", "List"},
	"codepipeline":            {"Get", "List"},
	"cognito-idp":             {"Describe", "List"},
	"compute-optimizer":       {"Describe", "Get"},
	"config":                  {"Describe", "Get", "List"},
	"datasync":                {"Describe", "List"},
	"dax":                     {"Describe", "List"},
	"detective":               {"Get", "List"},
	"directconnect":           {"Describe"},
	"dms":                     {"Describe", "List"},
	"ds":                      {"Describe"},
	"dynamodb":                {"Describe", "Get", "List"},
	"ec2":                     {"Describe", "Get"},
	"ecr":                     {"Describe", "Get", "List"},
	"ecs":                     {"Describe", "List"},
	"eks":                     {"Describe", "List"},
	"elasticache":             {"Describe", "List"},
	"elasticbeanstalk":        {"Describe", "List"},
	"elasticfilesystem":       {"Describe"},
	"elasticloadbalancing":    {"Describe"},
	"elasticmapreduce":        {"Describe", "Get", "List"},
	"es":                      {"Describe", "Get", "List"},
	"events":                  {"Describe", "List"},
	"firehose":                {"Describe", "List"},
	"fms":                     {"List"},
	"fsx":                     {"Describe", "List"},
	"glacier":                 {"Describe", "List"},
	"globalaccelerator":       {"Describe", "List"},
	"glue":                    {"Get"},
	"guardduty":               {"Describe", "Get", "List"},
	"health":                  {"Describe"},
	"iam":                     {"Get", "List"},
	"inspector2":              {"Describe", "Get", "List"},
	"kafka":                   {"Describe", "Get", "List"},
	"kinesis":                 {"Describe", "List"},
	"kinesisanalytics":        {"List"},
	"kms":                     {"Describe", "Get", "List"},
	"lambda":                  {"Get", "List"},
	"logs":                    {"Describe", "Get", "List"},
	"macie2":                  {"List"},
	"memorydb":                {"Describe"},
	"mq":                      {"Describe", "List"},
	"network-firewall":        {"Describe", "List"},
	"networkmanager":          {"Describe"},
	"organizations":           {"Describe", "List"},
	"ram":                     {"Get", "List"},
	"rds":                     {"Describe", "List"},
	"redshift":                {"Describe"},
	"resource-groups":         {"List"},
	"route53":                 {"Get", "List"},
	"route53resolver":         {"Get", "List"},
	"s3":                      {"Describe", "Get", "List"},
	"sagemaker":               {"Describe", "List"},
	"secretsmanager":          {"Describe", "Get", "List"},
	"securityhub":             {"Describe", "Get", "List"},
	"ses":                     {"Describe", "Get", "List"},
	"shield":                  {"Describe", "Get", "List"},
	"sns":                     {"Get", "List"},
	"sqs":                     {"Get", "List"},
	"ssm":                     {"Describe", "Get", "List"},
	"sso":                     {"Describe", "Get", "List"},
	"states":                  {"Describe", "List"},
	"synthetics":              {"Describe", "Get", "List"},
	"tag":                     {"Get"},
	"transfer":                {"Describe", "List"},
	"trustedadvisor":          {"Describe", "List"},
	"wafv2":                   {"Get", "List"},
	"workspaces":              {"Describe"},
}

// ReadOnlyActions is the boundary's read allow-list as IAM action patterns, sorted.
func ReadOnlyActions() Strings {
	var out Strings
	for svc, verbs := range readOnlyServices {
		for _, verb := range verbs {
			out = append(out, svc+":"+verb+"*")
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(a, b) })
	return out
}

// Boundary is the customer-owned permissions boundary that caps the provisioned support role. The
// vendor can create its role only with this boundary and can neither edit nor remove it, so even a
// vendor backend under an attacker's control cannot give its role more than this: metadata reads,
// support cases, service-quota requests and the AWSSupport-* runbooks, minus the sensitive reads.
// The customer owns the policy and may tighten it at any time.
//
// The cap is written as explicit denies (Deny NotAction) under an Allow of everything, not as an
// allow-list. Both cap what the role's own policies can grant; only an explicit deny also caps what
// a same-account resource-based policy grants: a boundary's implicit deny does not limit a bucket,
// key or queue policy that grants Principal "*" within the account (aws:PrincipalAccount,
// aws:PrincipalOrgID) to the role's sessions ("Policy evaluation logic" and "Permissions boundaries
// for IAM entities", IAM User Guide). Written this way the cap takes the same room as the
// allow-list did and holds against those grants too.
func (v Vendor) Boundary(t Target) Document {
	support := supportStatement()
	reads := ReadOnlyActions()
	within := append(append(slices.Clone(reads), "support:*"), support.Action...) // sts:GetCallerIdentity needs no grant
	// following a runbook's execution is a read the allow-list admits (ssm:Get*, ssm:Describe*)
	within = append(within, "ssm:StartAutomationExecution", "ssm:StopAutomationExecution")
	// One statement for both runbook actions: IAM authorizes starting on the automation definition
	// and stopping on the execution, so each is held to its own resources.
	start, control := runbookStartStatement(t), runbookControlStatement(t)
	return NewDocument(
		Statement{
			Sid:      "CappedByTheDenies",
			Effect:   Allow,
			Action:   Strings{"*"},
			Resource: Strings{"*"},
		},
		Statement{
			Sid:       "DenyAllButReadsSupportQuotas",
			Effect:    Deny,
			NotAction: within,
			Resource:  Strings{"*"},
		},
		Statement{
			Sid:         "DenyRunbooksButAWSSupport",
			Effect:      Deny,
			Action:      Strings{"ssm:StartAutomationExecution", "ssm:StopAutomationExecution"},
			NotResource: append(slices.Clone(start.Resource), control.Resource...),
		},
		// Only the sensitive reads the cap would admit (the others are denied by NotAction already), and
		// not ArgumentReads, for room.
		denyReads(sensitiveReadsMatching(boundaryReads(), within)),
	)
}
