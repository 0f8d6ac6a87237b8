package registry

import (
	"errors"
	"fmt"
	"time"
)

// Kind is which template registered an account.
type Kind string

const (
	// Management is the management-role stack (seed 000): the vendor manages the support role.
	Management Kind = "MANAGEMENT"
	// Gateway is the support-gateway stack (seed 002): the customer deployed the support role.
	Gateway Kind = "GATEWAY"
)

// Status is where an onboarding stands.
type Status string

const (
	// Pending: the vendor issued a link (and an ExternalId); no stack has registered yet.
	Pending Status = "PENDING"
	// Registered: a stack registered the account and the backend verified its role.
	Registered Status = "REGISTERED"
	// Unclaimed: a gateway stack registered without a valid tenant token. Shown to operators, never
	// used for access.
	Unclaimed Status = "UNCLAIMED"
	// Deregistered: the owning stack was deleted.
	Deregistered Status = "DEREGISTERED"
)

// Onboarding is one account's registration of one kind.
type Onboarding struct {
	AccountID       string   `dynamodbav:"AccountId"`
	Kind            Kind     `dynamodbav:"Kind"`
	Tenant          string   `dynamodbav:"Tenant,omitempty"`
	ExternalID      string   `dynamodbav:"ExternalId,omitempty"`
	Status          Status   `dynamodbav:"Status"`
	RoleARN         string   `dynamodbav:"RoleArn,omitempty"`
	BoundaryARN     string   `dynamodbav:"BoundaryArn,omitempty"`
	ProviderARNs    []string `dynamodbav:"ProviderArns,omitempty"`
	Runbooks        bool     `dynamodbav:"Runbooks"`
	DiagnosticTool  bool     `dynamodbav:"DiagnosticTool"`
	TemplateVersion string   `dynamodbav:"TemplateVersion,omitempty"`
	OwnerStackID    string   `dynamodbav:"OwnerStackId,omitempty"`
	// Leftovers are what a Delete could not remove (the management role was gone): operators' to clean.
	Leftovers     []string  `dynamodbav:"Leftovers,omitempty"`
	LastRequestID string    `dynamodbav:"LastRequestId,omitempty"`
	CreatedAt     time.Time `dynamodbav:"CreatedAt"`
	UpdatedAt     time.Time `dynamodbav:"UpdatedAt"`
}

// Registration is what a stack's hook reports, once verified.
type Registration struct {
	AccountID       string
	Kind            Kind
	ExternalID      string // Management: must equal the pending onboarding's
	Tenant          string // Gateway: resolved from the tenant token; "" means unclaimed
	RoleARN         string
	BoundaryARN     string
	ProviderARNs    []string
	Runbooks        bool
	DiagnosticTool  bool
	TemplateVersion string
	StackID         string
	RequestID       string
}

// Errors a hook turns into reasons a customer can act on.
var (
	ErrNoPendingOnboarding = errors.New("no onboarding was started for this account")
	ErrExternalIDMismatch  = errors.New("the ExternalId does not match the one issued for this account")
	ErrAlreadyRegistered   = errors.New("the account is already registered")
)

// OwnedError says another stack owns the account's registration.
type OwnedError struct {
	Kind    Kind
	StackID string
}

func (e *OwnedError) Error() string {
	return fmt.Sprintf("the account's %s registration belongs to stack %s", e.Kind, e.StackID)
}

// Is lets errors.Is(err, ErrAlreadyRegistered) match an OwnedError.
func (e *OwnedError) Is(target error) bool { return target == ErrAlreadyRegistered }
