// Package hook holds the business rules of the templates' Custom::Hook: who may register an
// account, how the backend proves what a stack claims, and what the registry records.
//
// Anyone can publish to a topic every customer may publish to, so an event is a claim and proves
// nothing by itself: not its StackId, its account or its properties. State changes only on proof:
//
//   - a management stack presents the ExternalId the vendor issued for the account, and the backend
//     assumes the management role with it (and fails to without it);
//   - a gateway stack's event only asks for a proof: the backend assumes the role it names with a
//     token of the account's own issuer (proof.go), after its answer, and reads the role's tenant
//     token tag, which the account's own stack set; the account is bound to the tenant that token
//     was issued for, whatever token the event named;
//   - Updates and Deletes prove what the Create proved; a Delete that proves nothing succeeds and
//     changes nothing; a claim never moves an account bound to one tenant to another (conflict.go).
//
// The files: claims.go checks an event's shape; management.go and gateway.go hold the rules of the
// two templates (gateway.go's decideGateway is the pure rule of a gateway claim); proof.go proves
// gateway roles and paces the claims that carry no token; rollback.go handles Creates CloudFormation
// gave up; reconciling.go and repair.go drive internal/gateway; wiring.go builds it all for a process.
//
// The protocol (decoding, exactly one answer, the watchdog, the PUT) is internal/cfnresource's;
// this package only implements its Handler.
package hook
