// Package awsx holds the small pieces every AWS caller here needs: an aws.Config that assumes a role
// in a customer account with its ExternalId, error classification by type (never by substring), and
// a retry bounded by a named budget and the context's deadline, for IAM's eventual consistency.
package awsx
