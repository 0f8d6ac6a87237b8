// Package policy holds every IAM document of the support-access gateway as typed Go values.
//
// It is the single source of truth for IAM: the CDK app renders these documents into the customer
// templates, and the provisioner sends the very same documents to IAM. A document is built for a
// Target, whose strings are either concrete values ("aws", "123456789012") or CloudFormation
// placeholders ("${AWS::Partition}", "${AWS::AccountId}") that the CDK app wraps in Fn::Sub.
//
// The package has no AWS SDK dependency on purpose: it is pure data and pure functions, so the
// tests can check every document once (sizes, escalation paths) without any AWS endpoint.
package policy
