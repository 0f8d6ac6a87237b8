// Package hook holds the business rules of the templates' Custom::Hook: who may register an
// account, how the backend proves the role it was sent is genuine, and what the registry records.
//
// Anyone can publish to a topic every customer may publish to, so nothing in an event is trusted:
// the accounts it names must agree, a management stack must present the ExternalId the vendor
// issued for that account, and the backend must be able to assume the role with it, and not without
// it, before anything is stored. A gateway stack binds to a tenant only through a valid tenant token.
//
// The protocol (decoding, exactly one answer, the watchdog, the PUT) is internal/cfnresource's;
// this package only implements its Handler.
package hook
