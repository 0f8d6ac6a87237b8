// Package registry is the vendor's record of onboarded customer accounts, in DynamoDB.
//
// Every write is conditional, so that at-least-once delivery is harmless: a duplicate event, a
// retried RequestId or two regions racing for one account end in one registration, and a Delete
// removes only what the deleting stack owns. Tenant tokens are stored as hashes only.
package registry
