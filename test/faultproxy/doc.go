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
//	fault         query (IAM, STS)         JSON (DynamoDB)              REST XML (S3)            standard retryer
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
// The proxy is safe for concurrent requests; rules apply in order, and the
// first rule that matches a call and still has Times and For left handles it.
package faultproxy
