// Package lambdaruntime runs a compiled Lambda function (a provided.al2023
// "bootstrap" binary) on this machine, behind a local implementation of the
// Lambda Runtime API (version 2018-06-01).
//
// No AWS account is reachable from our machines, yet the Lambdas must be tested
// as they run in AWS: the very binary we ship, in its own process, talking HTTP
// to a runtime endpoint, with a deadline, a fixed environment and no access to
// the test's memory. Calling the handler function from a Go test proves much
// less: it skips aws-lambda-go's invoke loop, its panic handling, JSON
// (un)marshalling, process start-up and the process dying after a panic.
//
// The harness does what the provided.al2023 runtime does for one execution
// environment:
//
//   - Start serves the Runtime API on 127.0.0.1 (a free port), starts the binary
//     with AWS_LAMBDA_RUNTIME_API and the other variables Lambda sets (and a
//     minimal PATH, not the test's environment), and returns once the function
//     has finished its init phase, i.e. asks for its first invocation
//     (GET /runtime/invocation/next). Init failures (exit, POST /runtime/init/error,
//     no request within Config.InitTimeout) are returned by Start.
//   - Invoke hands one payload to the function with a deadline (header
//     Lambda-Runtime-Deadline-Ms) and waits for POST .../response or .../error.
//     Concurrent calls queue; the function gets them one at a time.
//   - Like Lambda, a function that runs past its deadline is stopped (SIGKILL),
//     and a process that exits is not restarted: later calls fail with ErrExited.
//     Start a new Runtime for a fresh execution environment (a new cold start).
//
// It also measures what a Lambda's owner pays for: cold start (process start to
// the first GET /next), duration per invocation and peak resident memory.
package lambdaruntime
