// Package moto starts a real moto server (Python, pinned in requirements.txt)
// for end-to-end tests and hands out aws-sdk-go-v2 configurations that talk to it.
//
// No AWS account is reachable from our machines. moto stands in for IAM, STS,
// KMS, DynamoDB, S3, SNS, Organizations and CloudFormation, so the code under
// test makes its real SDK calls over HTTP, with signing, retries and error
// decoding, instead of calling hand-written fakes that agree with whatever we
// believe AWS does.
//
// Things worth knowing:
//
//   - The server is started with MOTO_IAM_LOAD_MANAGED_POLICIES=true, so AWS
//     managed policies (arn:aws:iam::aws:policy/...) exist, as in a real account.
//   - Accounts: moto serves many accounts at once. Requests signed with unknown
//     keys land in DefaultAccountID; Config for any other account assumes
//     arn:aws:iam::<account>:role/<AssumedRoleName> through STS (the role need not
//     exist) and signs with the returned keys, which moto maps to that account.
//     This is the same switch the provisioner makes in production.
//     moto also honours MOTO_ACCOUNT_ID (removed from the server's environment,
//     it would pin every request to one account) and an x-moto-account-id header
//     (not used, so that tests exercise the assume-role path).
//   - Reset (POST /moto-api/reset) forgets everything, including assumed-role
//     keys; configurations from Config re-assume their role afterwards.
//   - S3 clients need path-style addressing (PathStyle): 127.0.0.1 has no
//     bucket subdomains. Pre-signed URLs work, which is how tests play
//     CloudFormation's pre-signed ResponseURL.
//   - moto does not check trust policies, conditions or web-identity tokens;
//     those are proven elsewhere (iam-simulate, go-jose).
//
// Race tests: every test that races writes against each other (two decisions on one request,
// two claims on one account, any check that "exactly one wins" or "nothing is lost") must use
// StartSerial (StartSerialForTest), never Start. moto_server serves requests on many threads
// and does not serialize DynamoDB's conditional writes: two writes can both pass their
// condition, and a transaction refused by its condition is rolled back by restoring a copy of
// the whole table taken when it began, which undoes whatever other requests wrote meanwhile.
// DynamoDB does neither, so on moto_server a race test fails on code that is right, and cannot
// be trusted when it passes. (Taking that copy while another request writes to the table can
// also fail outright, a 500 from Python's "dictionary changed size during iteration", so many
// clients at once, as in BenchmarkServerSession, belong on StartSerial's server too.)
//
// StartSerial serves the same moto application on werkzeug's single-threaded server
// (serial_server.py): one request at a time, each write atomic. That is stronger than DynamoDB
// (which serializes per item, not per table), never weaker; the interleavings a race test is
// after, between one request and the next, still happen. TestSerialServerSerializesConditionalWrites
// proves the guarantee (on moto_server it fails in most runs) and is what the race tests rely
// on. Besides the serving, one thing differs: a TransactWriteItems backs up only the items it
// names, not every table it names, and restores them if it is refused (moto's whole-table copy
// made each transaction take time proportional to the table: 144 ms at 3,000 items, 1.8 ms now);
// TestSerialServerRollsBackRefusedTransactions proves the rollback. A server that called itself
// over HTTP while answering (none of the services above does) would wait for ever.
//
// If moto is missing, Start fails and says how to install it; it never skips.
package moto
