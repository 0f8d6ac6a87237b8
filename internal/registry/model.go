package registry

import (
	"errors"
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
	// Management records only.
	Pending Status = "PENDING"
	// PendingProof: a gateway stack claimed the account; the backend has not yet proven the role it
	// names (by assuming it with a token of the account's own issuer). Never used for access, and
	// never in the way of another stack's claim.
	PendingProof Status = "PENDING_PROOF"
	// Registered: a stack registered the account and the backend proved its role; with a tenant,
	// the account is usable for access.
	Registered Status = "REGISTERED"
	// Unclaimed: a gateway stack without a tenant token, its role proven. Shown to operators, never
	// used for access.
	Unclaimed Status = "UNCLAIMED"
	// Rejected: the role a gateway claim named could not be proven (it does not exist, or does not
	// trust the vendor's issuer for this account). The claim's signing key is retired.
	Rejected Status = "REJECTED"
	// Deregistered: the owning stack was deleted (or its rollback undid the registration).
	Deregistered Status = "DEREGISTERED"
)

// Live reports whether a record with status s stands for a stack that exists (or may exist): it
// keeps the account's signing keys and binds the account to its tenant.
func (s Status) Live() bool {
	switch s {
	case Pending, PendingProof, Registered, Unclaimed:
		return true
	}
	return false
}

// Owner is the one resource of one stack a registration belongs to: the Custom::Hook resource
// (its logical ID) in a stack (its ARN).
type Owner struct {
	StackID   string `dynamodbav:"OwnerStackId,omitempty"`
	LogicalID string `dynamodbav:"OwnerLogicalId,omitempty"`
}

// Onboarding is one account's registration of one kind.
type Onboarding struct {
	AccountID string `dynamodbav:"AccountId"`
	Kind      Kind   `dynamodbav:"Kind"`
	Tenant    string `dynamodbav:"Tenant,omitempty"`
	// ExternalID is the management stack's secret, issued with the link; it is removed when the
	// registration ends, so a replayed Create can never register again with it.
	ExternalID string `dynamodbav:"ExternalId,omitempty"`
	// TokenHash is the SHA-256 (hex) of the tenant token the account's gateway role carries (its own
	// stack's TenantToken, read by the proof): what binds a gateway registration to Tenant, and the
	// secret its Updates and Deletes present again.
	TokenHash string `dynamodbav:"TokenHash,omitempty"`
	// ClaimTenant is the tenant the latest gateway claim's token named (a claim, not a binding): its
	// proof is paced under that tenant.
	ClaimTenant string `dynamodbav:"ClaimTenant,omitempty"`
	Status      Status `dynamodbav:"Status"`
	RoleARN     string `dynamodbav:"RoleArn,omitempty"`
	// RoleID is the unique ID of the gateway role the last proof read: another one at the same ARN
	// means the role was deleted and made again (a new stack).
	RoleID          string   `dynamodbav:"RoleId,omitempty"`
	BoundaryARN     string   `dynamodbav:"BoundaryArn,omitempty"`
	ProviderARNs    []string `dynamodbav:"ProviderArns,omitempty"`
	Runbooks        bool     `dynamodbav:"Runbooks"`
	DiagnosticTool  bool     `dynamodbav:"DiagnosticTool"`
	TemplateVersion string   `dynamodbav:"TemplateVersion,omitempty"`
	Owner
	// ClaimMarker is the FailedCreateID the Create that made this registration would have answered
	// had it failed: CloudFormation deleting that marker means the Create was rolled back, and the
	// registration is undone.
	ClaimMarker string `dynamodbav:"ClaimMarker,omitempty"`
	// Owned are the ARNs in the customer's account that the vendor's reconciler created (recorded
	// before it creates them): the only ones it may ever delete. Management records only.
	Owned []string `dynamodbav:"Owned,omitempty,stringset"`
	// Leftovers are what a Delete could not remove (the management role was gone): operators' to clean.
	Leftovers []string `dynamodbav:"Leftovers,omitempty"`
	// Proof is the last proof attempt's outcome, for operators (gateway records).
	Proof *ProofState `dynamodbav:"Proof,omitempty"`
	// ProofDue asks for the gateway role to be proven (again): a new claim, a claim that names another
	// token than the role was proven with, a Delete, a periodic check. A proof clears it, unless it
	// was asked again (ProofAsked) after that proof started.
	ProofDue   bool      `dynamodbav:"ProofDue,omitempty"`
	ProofAsked time.Time `dynamodbav:"ProofAsked,omitempty"`
	// ProofPeriodic marks a proof the sweep asked for because the last one is old (reproveAfter): it
	// is paced in its own lane, so the daily re-proof of every registration never waits behind, or
	// delays, claims and re-checks.
	ProofPeriodic bool `dynamodbav:"ProofPeriodic,omitempty"`
	// TenantAsked marks a proof asked by a claim naming ClaimTenant with another token than the role
	// was proven with (the owner adding or changing its token, a new organization's stack): paced in
	// that tenant's lane.
	TenantAsked bool `dynamodbav:"TenantAsked,omitempty"`
	// RecheckAfter asks for the role to be proven again from this time on: a Delete of a gateway
	// registration that proved no secret ends it only once the role is gone.
	RecheckAfter  time.Time `dynamodbav:"RecheckAfter,omitempty"`
	LastRequestID string    `dynamodbav:"LastRequestId,omitempty"`
	CreatedAt     time.Time `dynamodbav:"CreatedAt"`
	UpdatedAt     time.Time `dynamodbav:"UpdatedAt"`
	// Version counts the record's writes; every write is conditional on the version it read.
	Version int64 `dynamodbav:"Version"`
}

// ProofState is what the backend knows of its proof of a gateway claim's role.
type ProofState struct {
	Attempts int `dynamodbav:"Attempts"`
	// Failures counts the proofs in a row that could not be made (neither proven nor refused).
	Failures int       `dynamodbav:"Failures,omitempty"`
	LastAt   time.Time `dynamodbav:"LastAt,omitempty"`
	// EvidenceAt is when the proof whose STS answer is on record started: an answer from a proof
	// that started earlier is older evidence and is never recorded over it.
	EvidenceAt time.Time `dynamodbav:"EvidenceAt,omitempty"`
	// NextAt is when a queued or transiently failed proof is due again (zero: not scheduled).
	NextAt time.Time `dynamodbav:"NextAt,omitempty"`
	// Reason is why the account is not proven yet, or why it was rejected.
	Reason string `dynamodbav:"Reason,omitempty"`
	// RefusedSince is when STS first refused the role of a registration proven before: it ends only
	// if STS still refuses it at a later check.
	RefusedSince time.Time `dynamodbav:"RefusedSince,omitempty"`
	// ConflictSeenAt is when a proof first found the role naming another tenant than the account is
	// bound to: a conflict is recorded only if a later check finds it still (a customer's refused
	// stack update rolls the tag back within minutes).
	ConflictSeenAt time.Time `dynamodbav:"ConflictSeenAt,omitempty"`
	// MismatchRetried is set when a proof read another tenant than the claim that asked for it named,
	// and looks once more minutes later (IAM is eventually consistent: a tag set a second before may
	// not be read yet) before the claim counts as a mismatch.
	MismatchRetried bool `dynamodbav:"MismatchRetried,omitempty"`
	// EndedAt is when refusals of the role ended a registration proven before: for RestoreWindow the
	// record keeps its binding and its keys, and a proof that finds the same role again restores it.
	EndedAt time.Time `dynamodbav:"EndedAt,omitempty"`
}

// RestoreWindow is how long a gateway registration ended by its role's refusals can be restored by a
// proof that finds the same role again (a refusal that was the vendor's own fault, or a customer's
// short-lived policy): KMS's shortest key-deletion window.
const RestoreWindow = 7 * 24 * time.Hour

// Provable reports whether o is a record a gateway proof may be recorded on at now: a live one, or a
// restorable one.
func (o *Onboarding) Provable(now time.Time) bool {
	return o != nil && (o.Status.Live() || o.Restorable(now))
}

// Restorable reports whether o is a gateway registration ended by its role's refusals within
// RestoreWindow of now.
func (o *Onboarding) Restorable(now time.Time) bool {
	return o != nil && o.Kind == Gateway && o.Status == Deregistered && o.Proof != nil && !o.Proof.EndedAt.IsZero() &&
		now.Sub(o.Proof.EndedAt) <= RestoreWindow
}

// Conflict records that two tenants were named for one account. A proven one (the account's own role
// names another tenant than the one it is bound to) makes the account unusable for access until an
// operator resolves it (supportctl resolve-conflict); an unproven one (a claim that named another
// tenant, refused) only tells operators.
type Conflict struct {
	Proven    bool   `dynamodbav:"Proven"`
	AccountID string `dynamodbav:"AccountId"`
	// Tenant is the tenant the account was bound to; Claimant the one the refused claim named.
	Tenant   string `dynamodbav:"Tenant"`
	Claimant string `dynamodbav:"Claimant"`
	// Kind and StackID are the refused claim's, for operators (never shown to either tenant).
	Kind      Kind      `dynamodbav:"Kind"`
	StackID   string    `dynamodbav:"StackId"`
	RequestID string    `dynamodbav:"RequestId"`
	At        time.Time `dynamodbav:"At"`
	Version   int64     `dynamodbav:"Version"`
}

// AccountState is every record of one account, read together.
type AccountState struct {
	AccountID  string
	Management *Onboarding // nil: none
	Gateway    *Onboarding
	Conflict   *Conflict
}

// Record returns the account's record of kind k, or nil.
func (a AccountState) Record(k Kind) *Onboarding {
	if k == Management {
		return a.Management
	}
	return a.Gateway
}

// BoundTenant is the tenant the account is bound to: the tenant of its pending onboarding (the
// vendor issued the link to that tenant) or of its registrations. A gateway claim still waiting for
// its proof binds nothing: it proves nothing yet. ok is false if two records name different tenants.
func (a AccountState) BoundTenant() (tenant string, ok bool) {
	for _, o := range []*Onboarding{a.Management, a.Gateway} {
		if o == nil || !(o.Status == Pending || o.Status == Registered) || o.Tenant == "" {
			continue
		}
		if tenant != "" && tenant != o.Tenant {
			return tenant, false
		}
		tenant = o.Tenant
	}
	return tenant, true
}

// Usable is the record access may use: a registered record with a tenant, of an account with no
// conflict and no live records that disagree on the tenant (a gateway registration first: then the
// customer deployed the support role itself). ok is false with a reason otherwise.
func (a AccountState) Usable() (Onboarding, string, bool) {
	if a.Conflict != nil && a.Conflict.Proven {
		return Onboarding{}, "two organizations claimed the account; an operator must resolve it", false
	}
	if _, ok := a.BoundTenant(); !ok {
		return Onboarding{}, "the account's registrations name different organizations; an operator must resolve it", false
	}
	for _, o := range []*Onboarding{a.Gateway, a.Management} {
		if o != nil && o.Status == Registered && o.Tenant != "" {
			return *o, "", true
		}
	}
	return Onboarding{}, "no registered stack", false
}

// Errors a hook turns into reasons a customer can act on.
var (
	ErrNoPendingOnboarding = errors.New("no onboarding was started for this account")
	ErrExternalIDMismatch  = errors.New("the ExternalId does not match the one issued for this account")
	ErrAlreadyRegistered   = errors.New("the account is already registered")
	// ErrOtherTenant refuses an onboarding for an account bound to another tenant.
	ErrOtherTenant = errors.New("the account is bound to another tenant")
	// ErrStale means a record of the account changed since it was read: read again and decide again.
	ErrStale = errors.New("the account's records changed meanwhile")
	// ErrRolledBack refuses a write for a Create CloudFormation has rolled back (Writes.NotRolledBack).
	ErrRolledBack = errors.New("CloudFormation already rolled this request back")
)
