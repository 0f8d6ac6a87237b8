// Package quotas holds AWS's request-rate quotas that the hook and the broker meet when a
// StackSet onboards many accounts at once, each with AWS's documented rate and the page that
// documents it, and turns them into rate rules for test/faultproxy.
//
// Why it exists: a StackSet deploys the gateway stack to hundreds of accounts within minutes,
// and every stack's Custom::Hook lands on the vendor's one account: one KMS signing key created
// per account (CreateKey: 5 a second), the management role assumed per account, the registry
// written per account. moto answers all of it at once; AWS throttles it. The promise under test
// is that the hook then slows down (the SDK backs off and retries) instead of failing, so a
// test needs AWS's real rates, and needs them at a scale a 2-core machine can run:
//
//	proxy.Inject(quotas.Rules(quotas.Vendor(), 0.1)...) // every vendor-account quota ÷ 10
//
// Rules scales rates and bursts alike, so the shape (which quota binds first, how long a burst
// of n accounts must take: n ÷ the binding rate) stays the real one at a tenth of the calls.
//
// Every figure says how sure it is (Evidence): Documented when it was read on AWS's page,
// Quoted when AWS's page could not be read here but independent pages quote it from there,
// Assumed when AWS documents no figure (IAM publishes none; AWS documents no burst size for
// any of these). Each quota also says whose bucket it is (Scope): the vendor account's, which
// every customer account in a burst shares and which a proxy in front of the vendor models
// faithfully, or each customer account's own, which one shared rule over-throttles unless a
// test has a single customer account. Reference quotas are kept for the reader and are not
// turned into rules, because the proxy cannot see what they count (DynamoDB partitions).
//
// The figures are us-east-1's, the only Region the product deploys to (docs/deploy.md); where
// other Regions differ, the quota's Note says so.
package quotas
