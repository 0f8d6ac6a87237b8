package policy

// SessionPolicy is what the broker passes with every AssumeRoleWithWebIdentity: the session can do at
// most what both the role and the session policy allow. Customers may grant the support roles more
// than the vendor asks for (seed 002); the session policy keeps every session to reading
// configuration, support cases and service-quota requests whatever the role holds.
//
// It is the AWS managed policies SecurityAudit and AWSSupportAccess, passed by ARN (IAM has no
// read-only wildcard across services, and an inline session policy is limited to 2,048 characters),
// and an inline policy with the service-quota grants, the enabled optional grants and the
// sensitive-read deny set.
type SessionPolicy struct {
	ManagedARNs []string
	Inline      Document
}

// SessionPolicyLimit is STS's limit on a session policy's plain text, inline document and managed
// policy ARNs together.
const SessionPolicyLimit = 2048

// NewSessionPolicy returns the session policy for account t with the enabled features. Its deny set
// is trimmed, as the boundary's is, to the sensitive reads its allow side could admit: SecurityAudit's
// reads (the boundary's read allow-list names each service's verbs as SecurityAudit grants them),
// support, quotas and the enabled grants. CapSensitiveReads are left out: neither managed policy
// grants them, so no session can make them. The escalation suite checks a session is denied every
// one of both lists.
func NewSessionPolicy(t Target, f Features) SessionPolicy {
	var arns []string
	for _, name := range SupportManagedPolicies {
		arns = append(arns, t.AWSManagedPolicyARN(name))
	}
	// The session only has to admit what the role is meant to have (the session gets the intersection);
	// SecurityAudit already admits the reads among the optional grants (ssm and cloudwatch).
	allow := []Statement{supportStatement()}
	if f.Runbooks {
		start, control := runbookStartStatement(t), runbookControlStatement(t)
		control.Action = Strings{"ssm:StopAutomationExecution"}
		allow = append(allow, start, control)
	}
	if f.Diagnostic {
		allow = append(allow, Statement{Sid: "DiagnosticTool", Effect: Allow, Resource: Strings{"*"},
			Action: Strings{"ce:Get*", "compute-optimizer:Get*"}})
	}
	admitted := append(ReadOnlyActions(), "support:*")
	for _, s := range allow {
		admitted = append(admitted, s.Action...)
	}
	return SessionPolicy{ManagedARNs: arns, Inline: NewDocument(append(allow, denyReads(sensitiveReadsMatching(SensitiveReads, admitted)))...)}
}

// Size is what STS counts against SessionPolicyLimit.
func (s SessionPolicy) Size() int {
	n := s.Inline.Size()
	for _, a := range s.ManagedARNs {
		n += len(a)
	}
	return n
}

// ProofSessionPolicy is the session policy of the backend's proof that a gateway role is genuine:
// the session shows that the role's trust admits the account's own token, and may do one thing,
// read that role: its tags (which organization the account's own stack names) and the names of its
// inline policies (which options it enabled). A session's permissions are the intersection of the
// role's and the session policy's ("Session policies", IAM User Guide); the gateway role's
// SecurityAudit grants both reads.
func (v Vendor) ProofSessionPolicy(t Target) Document {
	return NewDocument(Statement{Sid: "ReadTheRoleOnly", Effect: Allow, Action: Strings{"iam:GetRole", "iam:ListRolePolicies"},
		Resource: Strings{v.GatewayRoleARN(t)}})
}
