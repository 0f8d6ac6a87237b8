// Package sim plays what AWS does for the vendor and its customers, on this machine, so that the
// product's own code runs as it would in AWS: a demo, a local backend (make up) or a test can
// tell the whole story without an AWS account.
//
//   - Start runs the stand-ins: moto (IAM, STS, KMS, DynamoDB, S3, Organizations) behind the
//     checking front end test/awscheck (trust policies, ExternalIds, web-identity tokens and KMS key
//     policies, which moto ignores), the vendor's registry table, response and issuer buckets and
//     signer role, and the real hook Lambda (lambdas/hook, built here) under the Lambda Runtime API
//     harness test/lambdaruntime.
//   - CreateStack and DeleteStack are CloudFormation for the committed customer templates: the
//     IAM resources are created in the customer's account from the template's own properties, in
//     dependency order, and the Custom::Hook is delivered to the hook as CloudFormation delivers it
//     through the vendor's SNS topic (a notification wrapping the request, with a pre-signed S3
//     ResponseURL whose answer is read back). A failed resource rolls the stack back.
//   - Organization is AWS Organizations (a root, OUs, member accounts) and service-managed
//     StackSets: DeployStackSet reads the committed StackSet template and creates the gateway
//     stack in every member account of its target OUs, with a bounded number at a time and a
//     failure tolerance, as StackSets' operation preferences have them.
//
// Every function takes a context and returns an error; nothing here depends on package testing
// (the stand-in packages it starts do, for their own StartForTest helpers), so programs use it.
//
// test/e2e's helpers (env_test.go) play the same parts with testing.TB; they predate this
// package and can move onto it.
package sim
