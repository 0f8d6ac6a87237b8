// Package burst deploys the support gateway to a whole organization at once, on this machine: a
// root, nested OUs and hundreds of member accounts on moto, the committed StackSet template's
// stacks created many at a time (test/sim), each stack's Custom::Hook delivered through the SNS
// path to the real hook Lambda running in several execution environments, some notifications
// delivered twice, then accounts joining, moving and leaving the organization.
//
// TestStackSetBurst (in go test, so in make test) runs 200 accounts and checks what a customer and
// the vendor are owed: no stack failed; every account registered once, to the tenant whose token
// the StackSet carries, with one signing key; every Create answered within its ServiceTimeout, and
// a request's answers (two for a duplicate) agreeing; after the leaves, no registration, vendor
// resource or gateway role left for the accounts that left, and their keys retired by the sweep a
// week later. The vendor account's AWS request-rate quotas are in force at AWS's rates throughout,
// and the StackSet has the committed template's operation preferences. It takes about 2.5 minutes
// on the 2-core machine with -race, and is bounded at 5.
// TestEveryNotificationTwiceAtOnce delivers every notification twice, racing. BenchmarkStackSetBurst
// runs the roll-out with -burst N accounts (make bench: 1000) and reports the rate, the answers' p50
// and p99 from Create sent, the failures and the duplicates.
//
// The registry's DynamoDB runs on a serial moto (sim.SerialDynamoDB): racing deliveries of one
// account's Create are a race on conditional writes, which moto_server's threads do not serialize.
package burst
