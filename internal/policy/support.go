package policy

import "strings"

// Support roles: the DoiT-Support role the provisioner creates through the management role, and
// the DoiT-Support-Gateway role the support-gateway template creates. Both are assumed only with a
// web-identity token from this account's own issuer, and hold the same permissions.

// WebIdentityTrust is a support role's trust policy. It admits a token from this account's primary
// or standby identity provider, and only when the token's aud is this account's audience and its
// sub is one of the vendor's engineer identifiers (SubjectPattern), so a token minted for one
// account is refused by every other, and a token that names no engineer is refused everywhere.
// sts:TagSession lets the broker set the vendor's one session tag (DoiTEnvironment) and no other, so
// a token cannot carry tags the customer's own ABAC policies might trust.
//
// aud is pinned with StringEquals. sub cannot be: it differs for every engineer (and for every
// account an engineer works in), so it is pinned to its exact shape with StringLike, the way AWS
// pins the sub of CI tokens. An account has one support role, never both kinds: both templates
// create the same two provider URLs, which IAM allows once per account.
func (v Vendor) WebIdentityTrust(t Target) Document {
	var statements []Statement
	for host, sid := range []string{"PrimaryIssuer", "StandbyIssuer"} {
		path := v.issuerPath(t, host)
		statements = append(statements, Statement{
			Sid:       sid,
			Effect:    Allow,
			Principal: &Principal{Federated: Strings{v.ProviderARN(t, host)}},
			Action:    Strings{"sts:AssumeRoleWithWebIdentity", "sts:TagSession"},
			Condition: Condition{
				"StringEquals":              {path + ":aud": {v.Audience(t)}},
				"StringLike":                {path + ":sub": {v.SubjectPattern()}},
				"ForAllValues:StringEquals": {"aws:TagKeys": {v.SessionTagKey()}},
			},
		})
	}
	return NewDocument(statements...)
}

// SubjectLength is the length of the pairwise part of an engineer's sub: 128 bits in lower-case
// base32 without padding.
const SubjectLength = 26

// SubjectPrefix starts every token's sub: "urn:doit:engineer:".
func (v Vendor) SubjectPrefix() string { return "urn:" + strings.ToLower(v.Name) + ":engineer:" }

// SubjectPattern is the trust policies' StringLike pattern of sub: the prefix and exactly
// SubjectLength characters ("?" matches one character in IAM).
func (v Vendor) SubjectPattern() string {
	return v.SubjectPrefix() + strings.Repeat("?", SubjectLength)
}

// ValidSubject reports whether sub is an engineer identifier the trust policies admit, in the
// alphabet the issuer writes (lower-case base32).
func (v Vendor) ValidSubject(sub string) bool {
	id, ok := strings.CutPrefix(sub, v.SubjectPrefix())
	if !ok || len(id) != SubjectLength {
		return false
	}
	for _, c := range id {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// ServiceQuotaActions let engineers see quotas and request increases on the customer's behalf.
var ServiceQuotaActions = Strings{"servicequotas:Get*", "servicequotas:List*", "servicequotas:RequestServiceQuotaIncrease"}

func supportStatement() Statement {
	return Statement{Sid: "ServiceQuotas", Effect: Allow, Action: ServiceQuotaActions, Resource: Strings{"*"}}
}

// DiagnosticActions are what the vendor's diagnostic tool reads beyond SecurityAudit: CloudWatch
// metrics and alarms (performance), Cost Explorer totals, forecasts and reservation/savings-plan
// utilisation (cost), and Compute Optimizer recommendations (right-sizing). All are aggregates or
// metadata; none returns customer data.
var DiagnosticActions = Strings{
	"cloudwatch:GetMetricData",
	"cloudwatch:GetMetricStatistics",
	"cloudwatch:ListMetrics",
	"cloudwatch:DescribeAlarms",
	"ce:GetCostAndUsage",
	"ce:GetCostForecast",
	"ce:GetReservationUtilization",
	"ce:GetSavingsPlansUtilization",
	"ce:GetRightsizingRecommendation",
	"compute-optimizer:GetEnrollmentStatus",
	"compute-optimizer:GetEC2InstanceRecommendations",
	"compute-optimizer:GetAutoScalingGroupRecommendations",
	"compute-optimizer:GetEBSVolumeRecommendations",
	"compute-optimizer:GetLambdaFunctionRecommendations",
}

// DiagnosticStatement grants DiagnosticActions.
func DiagnosticStatement() Statement {
	return Statement{Sid: "DiagnosticTool", Effect: Allow, Action: DiagnosticActions, Resource: Strings{"*"}}
}

// RunbookStatements grant what running the AWSSupport-* troubleshooting runbooks needs: starting
// an automation of an AWS-owned AWSSupport-* document, following and stopping it, and reading the
// document. Nothing else: no iam:PassRole, so a runbook runs with the session's own read-only
// permissions, and a runbook that changes resources needs an AutomationAssumeRole the customer
// passes themselves.
func RunbookStatements(t Target) []Statement {
	read := Statement{
		Sid:      "ReadSupportRunbooks",
		Effect:   Allow,
		Action:   Strings{"ssm:DescribeDocument", "ssm:GetDocument"},
		Resource: Strings{"arn:" + t.Partition + ":ssm:*::document/AWSSupport-*"},
	}
	list := Statement{
		Sid:      "ListAutomationExecutions",
		Effect:   Allow,
		Action:   Strings{"ssm:DescribeAutomationExecutions"},
		Resource: Strings{"*"},
	}
	return []Statement{runbookStartStatement(t), runbookControlStatement(t), read, list}
}

func runbookStartStatement(t Target) Statement {
	return Statement{
		Sid:      "StartSupportRunbooks",
		Effect:   Allow,
		Action:   Strings{"ssm:StartAutomationExecution"},
		Resource: Strings{"arn:" + t.Partition + ":ssm:*:*:automation-definition/AWSSupport-*"},
	}
}

func runbookControlStatement(t Target) Statement {
	return Statement{
		Sid:    "FollowSupportRunbooks",
		Effect: Allow,
		Action: Strings{
			"ssm:GetAutomationExecution",
			"ssm:DescribeAutomationStepExecutions",
			"ssm:StopAutomationExecution",
		},
		Resource: Strings{"arn:" + t.Partition + ":ssm:*:" + t.AccountID + ":automation-execution/*"},
	}
}

// Features are the optional grants a customer switches on (template parameters
// AllowSupportRunbooksExecutions and GrantDiagnosticToolAccess).
type Features struct {
	Runbooks   bool
	Diagnostic bool
}

// SupportManagedPolicies are the AWS managed policies both support roles hold: SecurityAudit
// (read-only configuration, seed 001) and AWSSupportAccess (support cases; this makes the account
// pass the CIS "support role" control, seed 003).
var SupportManagedPolicies = []string{"SecurityAudit", "AWSSupportAccess"}

// SupportPermissions is the provisioned role's own policy (SupportPolicyName): service quotas,
// the optional features, and the sensitive-read deny set.
func SupportPermissions(t Target, f Features) Document {
	statements := []Statement{supportStatement()}
	if f.Runbooks {
		statements = append(statements, RunbookStatements(t)...)
	}
	if f.Diagnostic {
		statements = append(statements, DiagnosticStatement())
	}
	return NewDocument(append(statements, DenySensitiveReads(), DenyAPIKeyValues(t))...)
}

// GatewayPolicies are the gateway role's inline policies, as the template declares them: the
// always-present base, and one document per optional feature.
type GatewayPolicies struct {
	Base, Runbooks, Diagnostic Document
}

// GatewayPermissions returns the gateway role's inline policies. Together they grant exactly what
// SupportPermissions grants for the same features.
func GatewayPermissions(t Target) GatewayPolicies {
	return GatewayPolicies{
		Base:       NewDocument(supportStatement(), DenySensitiveReads(), DenyAPIKeyValues(t)),
		Runbooks:   NewDocument(RunbookStatements(t)...),
		Diagnostic: NewDocument(DiagnosticStatement()),
	}
}
