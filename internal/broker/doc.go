// Package broker is the access broker: the only way a support engineer gets into a customer account.
//
// An engineer asks for access to one account for a ticket, with a justification and a duration; a
// person of the customer's tenant approves or dismisses it (or set a standing pre-approval for the
// account); the approved requester then gets credentials: a token minted by the issuer for that
// account, exchanged with sts:AssumeRoleWithWebIdentity for the account's support role, under the
// session policy, for at most one hour and never past the approval's window.
//
// The rules (design.md, security model 5): a requester never approves their own request (people are
// compared as normalized identities, NormalizeIdentity, so tenant:acme/ALICE@doit.com is the engineer
// alice@doit.com); the vendor's staff (Config.StaffDomains) never decide for a customer; only the
// tenant that owns the account decides; a dismissed, revoked or expired request gives nothing;
// sessions never outlive the approval. Decisions are conditional DynamoDB writes, so two decisions
// racing on one request cannot both apply, and each is one transaction with its audit event (as are
// a new request and a standing approval): a state change the log does not show is never stored.
//
// Every step, and every refusal with its reason, is an audit event (AuditLog) kept 30 days (the
// table's TTL attribute ExpiresAt). The log never holds a token or a secret: a minted token is
// recorded by its jti and expiry, a session by the last four characters of its access key ID.
//
// Storage is one table (TableInput): requests, standing approvals and audit events. Each audit event
// is written as one item per index it is listed under — the account, the engineer, and the actor
// when it is someone else — in one transaction, so listing by account or by person is a Query on one
// partition, without a secondary index.
package broker
