// Package gateway converges a customer account to what the vendor manages there, through the
// management role: the two OIDC identity providers of the account's issuer, the DoiT-Support role
// under the customer's boundary, its managed-policy attachments and the vendor's one policy.
//
// It is a reconciler: observe the account, compute a plan with a pure function (Plan, table-tested,
// no AWS client), apply the plan in waves of independent calls that run concurrently, and observe
// again until nothing is left to do. The same code creates, updates, repairs drift and deletes; run
// twice, the second run changes nothing. It touches only the exact ARNs it owns.
package gateway
