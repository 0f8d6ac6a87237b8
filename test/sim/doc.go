// Package sim plays what AWS does for the vendor and its customers, on this machine, so that the
// product's own code runs as it would in AWS: a demo, a local backend (make up) or a test can
// tell the whole story without an AWS account.
//
//   - Start runs the stand-ins: moto (IAM, STS, KMS, DynamoDB, S3, Organizations) behind a front end
//     of its own (motofront.go: it names each call's account, and with Config.Serving sends DynamoDB
//     to a serial moto whose conditional writes are atomic), the checking front end test/awscheck
//     (trust policies, ExternalIds, web-identity tokens and KMS key policies, which moto ignores),
//     the vendor's registry table, response and issuer buckets and signer role, and the real hook
//     Lambda (lambdas/hook, built here) under the Lambda Runtime API harness test/lambdaruntime,
//     in Config.HookConcurrency execution environments.
//   - CreateStack and DeleteStack are CloudFormation for the committed customer templates: the
//     IAM resources are created in the customer's account from the template's own properties, in
//     dependency order, and the Custom::Hook is delivered to the hook as CloudFormation delivers it
//     through the vendor's SNS topic (a notification wrapping the request, with a pre-signed S3
//     ResponseURL). CloudFormation acts on the first answer PUT there, and waits for it at most the
//     resource's ServiceTimeout; SNS delivers at least once (Config.Duplicates delivers a share of
//     the notifications twice); the Lambda goes on after answering (Settle waits for it).
//     Deliveries lists every request with its notifications and answers. A failed resource rolls
//     the stack back.
//   - Organization is AWS Organizations (a root, nested OUs, member accounts that join, move and
//     leave) and service-managed StackSets: DeployStackSet reads the committed StackSet template
//     and creates the gateway stack in every member account of its target OUs, as many at a time
//     and with the failure tolerance its operation preferences give ("StackSet operation options",
//     preferences.go); AutoDeploy is the StackSet's automatic deployment acting on the accounts
//     that joined or left its targets since.
//   - Sweep is the vendor's periodic sweep run at a chosen time, for what the hook leaves for
//     minutes or days later.
//
// Every function takes a context and returns an error; nothing here depends on package testing
// (the stand-in packages it starts do, for their own StartForTest helpers), so programs use it.
//
// test/e2e's helpers (env_test.go) play the same parts with testing.TB; they predate this
// package and can move onto it.
package sim
