// Package registry is the vendor's record of onboarded customer accounts, in DynamoDB.
//
// An account's records (its management onboarding, its gateway claim, a tenant conflict) share one
// partition and are read together (Account). Every write is a transaction conditional on the version
// of every record of the account the writer read (Save, Update): a duplicate event, a retried
// RequestId or two stacks racing for one account cannot both decide on the same state. Tenant tokens
// are stored as hashes only. The package stores; the rules of who may write what are internal/hook's.
package registry
