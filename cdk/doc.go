// Command cdk is the CDK app that defines the customer templates: the management-role template,
// the support-gateway template and the StackSet that rolls the gateway out to an organization; and
// the vendor's own backend stack (backend.go: tables, hook, issuer, template bucket, HTTP API).
//
// Every IAM document of the customer templates comes from internal/policy. The templates are
// standalone (no bootstrap parameter, no CDK metadata, no assets), so customers can read, review and
// deploy them as they are; they are committed. The backend stack has Lambda assets, needs `cdk
// bootstrap`, and is synthesized in tests and for linting, never committed. Synthesis is pure: no AWS
// calls, no clock, no randomness; the same config gives the same bytes.
//
//	go run ./cdk                 synthesize the customer templates (the cdk CLI, which sets CDK_OUTDIR,
//	                             also gets the backend stack: cdk.json runs this)
//	go run ./cdk -export .       also write templates/ and stacksets/ (make templates)
//	go run ./cdk -backend-template .cache/backend.template.json [-stand-in-missing-assets]
//	                             also synthesize the backend and write its template (make lint-templates)
package main
