// Package faultproxy is an HTTP proxy for end-to-end tests that sits between
// an AWS SDK client (or the real hook Lambda binary) and the moto server, and
// makes AWS misbehave on purpose.
//
// Why it exists: moto always answers, at once and correctly. Real AWS throttles
// IAM at a few requests per second, returns 500s and 503s, drops connections,
// hangs, and answers AccessDenied while a freshly changed policy propagates.
// The product promises one custom-resource response per event on every path,
// before the deadline, and that a retried delivery is harmless; those promises
// are only tested if the faults happen. The proxy injects them for chosen
// operations and records every call, so a test can also count retries and
// measure the critical path: the number of sequential AWS round trips, which
// is what makes a Lambda slow.
//
// Clients point at the proxy instead of moto, with AWS_ENDPOINT_URL (the
// Lambda binary) or aws.Config.BaseEndpoint (SDK clients in the test). moto
// does not check signatures, so requests are forwarded unchanged, Host header
// included; the proxy reads each body to find the operation and forwards the
// same bytes.
//
// # Recognising calls
//
// The service is the signing name in the SigV4 credential scope
// (Authorization: ... Credential=AKID/date/region/<service>/aws4_request, or the
// X-Amz-Credential query parameter of a pre-signed URL). Unsigned calls, such as
// sts:AssumeRoleWithWebIdentity, are recognised by their API version or
// X-Amz-Target prefix. The operation comes from the protocol:
//
//   - query (IAM, STS, SNS, CloudFormation): the Action field of the form body;
//   - JSON (DynamoDB, KMS, Organizations): X-Amz-Target: DynamoDB_20120810.PutItem;
//   - REST XML (S3): the method and the path, approximately: PutObject,
//     GetObject, CreateBucket, ListObjectsV2, GetBucketPolicy, ...
//
// # What each fault looks like to the AWS SDK for Go v2
//
// Checked against the SDK's error deserializers and aws/retry; the tests
// assert every row through real clients.
//
//	fault         query (IAM, STS)         JSON (DynamoDB, KMS)         REST XML (S3)            standard retryer
//	Throttle      400 Throttling           400 ThrottlingException      503 SlowDown             retried, throttle (1 s base backoff, cheap retry token)
//	ServerError   500 InternalFailure      500 InternalServerError      500 InternalError        retried (status 500)
//	Unavailable   503 ServiceUnavailable   503 ServiceUnavailable       503 ServiceUnavailable   retried (status 503)
//	AccessDenied  403 AccessDenied         400 AccessDeniedException    403 AccessDenied         not retried
//	Reset         no response: TCP RST, "connection reset by peer"                               retried (connection error)
//	Timeout       no response until the client gives up (its timeout error) or Hold passes (EOF)  retried (connection error)
//	Latency       the real answer, later                                                          -
//
// Caveat for Reset and Timeout on GET and HEAD requests (S3 GetObject,
// HeadObject, ...): when such a request went out on a reused keep-alive
// connection, Go's net/http Transport itself silently resends it on a new
// connection, so the SDK may never see the fault and the proxy records two
// calls. POST and PUT requests, which all IAM, STS and DynamoDB calls are, are
// never resent by net/http.
//
// # Rate limits
//
// Count and time rules (Times, For) say which calls fail. A rate rule (Rule.Rate, Burst) says
// how fast calls may come instead, as AWS's request-rate quotas do: it is a token bucket that
// holds Burst tokens, starts full and gains Rate tokens a second, shared by every call the
// rule matches (one operation, a set of operations that share a quota, or a whole service)
// from every caller at once. A call that finds a token takes it and goes on to the next rules;
// one that finds none is throttled at once, with what AWS answers a call over a quota:
//
//	service                    answer                                                        standard retryer
//	IAM, STS (query)           400 Throttling "Rate exceeded"                                throttle
//	KMS (JSON)                 400 ThrottlingException "You have exceeded the rate at which  throttle
//	                           you may call KMS. Reduce the frequency of your calls."
//	DynamoDB items (JSON)      400 ProvisionedThroughputExceededException, ThrottlingReasons throttle
//	                           [{reason: TableWriteKeyRangeThroughputExceeded}] (or Read...)
//	DynamoDB control plane     400 ThrottlingException                                       throttle
//	S3 (REST XML)              503 SlowDown "Please reduce your request rate."               throttle
//
// so the SDK backs off and retries, and a caller with retries left slows down instead of
// failing. Each Call records what the rate rules did to it (Call.Rate: admitted or
// throttled), and RateCounts counts both per operation, so a test can show that a limiter bit.
// Several rate rules may apply to one call, as several of AWS's buckets may (a per-operation
// quota inside a service's shared one): a call is admitted only if each has a token, and a
// rule after them (Latency, say) still applies to it. The package quotas (test/quotas) holds
// AWS's documented rates for the calls this project makes, as rules.
//
// What a rate rule does not model:
//
//   - scope: a rule is one bucket for every call it matches, whoever makes it. AWS keeps
//     most buckets per account and Region, DynamoDB's per partition and S3's per partitioned
//     prefix, so a rule stands for one account's (or one partition's) bucket: use it for the
//     vendor account's quotas, which every customer account's burst shares, or narrow it
//     (Service, Operation, PathPrefix) to one bucket's calls;
//   - cost: a call takes one token, though DynamoDB charges by item size and twice for
//     transactions, and SNS's PublishBatch counts each message;
//   - adaptation: AWS's buckets are not fixed. S3 adds partitions under sustained load and
//     answers SlowDown meanwhile; an on-demand DynamoDB table doubles its previous peak; AWS
//     documents few burst sizes (a rule's Burst is an assumption unless the quota says);
//   - order: a call's time is taken when its headers arrive, before the proxy's lock, so
//     calls racing for the last token may take it out of arrival order (by microseconds).
//
// Inject starts every rate rule with a full bucket. Times and For of a rate rule count the
// calls it throttled; once they are used up, the rule no longer applies.
//
// The proxy is safe for concurrent requests; rules apply in order, and the
// first rule that matches a call and still has Times and For left handles it.
package faultproxy
