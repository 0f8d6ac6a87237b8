// Package cfnresource speaks the CloudFormation custom-resource protocol, and nothing of the business.
//
// A custom resource is a Lambda that CloudFormation (directly, or through an SNS topic) asks to
// Create, Update or Delete something, and that must answer by PUTting a small JSON document to a
// pre-signed S3 URL. The protocol is simple; getting it wrong is expensive for the customer:
//
//   - A request that is never answered leaves the stack "IN_PROGRESS" for up to an hour
//     (ServiceTimeout), then rolls back. So every event gets exactly one answer on every path:
//     success, handler error, handler panic, bad input, unknown request type, and a handler that
//     is too slow, which a watchdog answers FAILED shortly before the deadline.
//   - A Delete that cannot succeed blocks the customer's stack deletion. So every Delete is answered
//     SUCCESS, whatever the handler does (error, panic, too slow), and what went wrong is logged at
//     ERROR with alert=delete_incomplete. A Create that failed answers with a marker physical ID
//     (FailedCreateID), and the Delete CloudFormation sends next for that marker succeeds at once,
//     without calling the handler (a FailedCreateDeleter hears of it afterwards).
//   - CloudFormation's clock starts when it sends the request; deliveries can be late (SNS and
//     Lambda retries). The watchdog also counts from the send time the request claims (its
//     pre-signed URL's signing time, the SNS Timestamp), only ever to answer sooner; a request
//     CloudFormation has stopped waiting for does no work and never becomes a function error that
//     Lambda would retry.
//   - An SNS invocation with several records answers each of them.
//   - A rollback can delete something that is live: if a failed Create answered with a real ID
//     (say, an account already registered by another stack), the rollback's Delete would remove the
//     other stack's registration. Failed Creates therefore answer with the marker, and failed
//     Updates keep the old physical ID, so CloudFormation never mistakes a failure for a replacement.
//   - The response URL is a bearer credential: it is checked against CloudFormation's response
//     buckets before any work is done (so a forged event cannot make us call someone else's server),
//     and it is never logged, not even inside an error.
//   - CloudFormation rejects responses over 4096 bytes; long reasons are cut, never the answer.
//
// The business implements Handler; a Lambda's main wires it into a Runner and calls
// lambda.Start(runner.HandleRaw). Handler errors become FAILED responses whose Reason is the error
// text, shown in the customer's CloudFormation console, so handlers write errors a customer can act on.
// DecodeProperties turns ResourceProperties, where CloudFormation sends every scalar as a string,
// into a typed struct, strictly.
package cfnresource
