// Command cdk is the CDK app that defines the customer templates: the management-role template,
// the support-gateway template and the StackSet that rolls the gateway out to an organization.
//
// Every IAM document comes from internal/policy. The templates are standalone (no bootstrap
// parameter, no CDK metadata, no assets), so customers can read, review and deploy them as they
// are. Synthesis is pure: no AWS calls, no clock, no randomness; the same config gives the same bytes.
//
//	go run ./cdk                 synthesize into cdk.out (what the cdk CLI runs, see cdk.json)
//	go run ./cdk -export .       also write templates/ and stacksets/ (make templates)
package main
