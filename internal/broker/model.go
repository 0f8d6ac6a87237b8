package broker

import (
	"time"

	"github.com/supportaccess/gateway/internal/registry"
)

// State is where a request stands. Expiry is not stored: it follows from the clock (Request.Status).
type State string

const (
	// Pending: waiting for the customer's decision, until PendingUntil.
	Pending State = "PENDING"
	// Approved: the requester may get credentials until AccessUntil.
	Approved State = "APPROVED"
	// Dismissed: the customer said no.
	Dismissed State = "DISMISSED"
	// Revoked: the customer withdrew a pending or approved request.
	Revoked State = "REVOKED"
	// Expired is never stored: a pending request past PendingUntil, or an approved one past AccessUntil.
	Expired State = "EXPIRED"
)

// Request is one engineer's request for access to one account.
type Request struct {
	ID              string    `dynamodbav:"RequestId" json:"id"`
	Engineer        string    `dynamodbav:"Engineer" json:"engineer"`
	Account         string    `dynamodbav:"AccountId" json:"account"`
	Tenant          string    `dynamodbav:"Tenant" json:"tenant"`
	Ticket          string    `dynamodbav:"Ticket" json:"ticket"`
	Justification   string    `dynamodbav:"Justification" json:"justification"`
	DurationSeconds int64     `dynamodbav:"DurationSeconds" json:"durationSeconds"`
	State           State     `dynamodbav:"State" json:"state"`
	CreatedAt       time.Time `dynamodbav:"CreatedAt,unixtime" json:"createdAt"`
	PendingUntil    time.Time `dynamodbav:"PendingUntil,unixtime" json:"pendingUntil"`
	DecidedBy       string    `dynamodbav:"DecidedBy,omitempty" json:"decidedBy,omitempty"`
	DecidedAt       time.Time `dynamodbav:"DecidedAt,unixtime" json:"decidedAt,omitzero"`
	// DecisionReason is why the customer dismissed (required) or revoked (optional) the request.
	DecisionReason string `dynamodbav:"DecisionReason,omitempty" json:"decisionReason,omitempty"`
	// AccessUntil is the end of the approved window: the decision time plus the duration.
	AccessUntil time.Time `dynamodbav:"AccessUntil,unixtime" json:"accessUntil,omitzero"`
	PreApproved bool      `dynamodbav:"PreApproved" json:"preApproved,omitempty"`
	ExpiresAt   int64     `dynamodbav:"ExpiresAt" json:"-"` // TTL
}

// Duration is the requested (or, pre-approved, the capped) length of access.
func (r Request) Duration() time.Duration { return time.Duration(r.DurationSeconds) * time.Second }

// Status is the request's state at now, with expiry applied.
func (r Request) Status(now time.Time) State {
	switch {
	case r.State == Pending && !now.Before(r.PendingUntil):
		return Expired
	case r.State == Approved && !now.Before(r.AccessUntil):
		return Expired
	}
	return r.State
}

// PreApproval is a tenant's standing approval for one account: requests start approved.
type PreApproval struct {
	Account            string    `dynamodbav:"AccountId" json:"account"`
	Tenant             string    `dynamodbav:"Tenant" json:"tenant"`
	ApprovedBy         string    `dynamodbav:"ApprovedBy" json:"approvedBy"`
	MaxDurationSeconds int64     `dynamodbav:"MaxDurationSeconds" json:"maxDurationSeconds"`
	CreatedAt          time.Time `dynamodbav:"CreatedAt,unixtime" json:"createdAt"`
	// StackID is the stack of the registration the approval was set under (the account's usable
	// onboarding's owner): it approves nothing under another one, such as the same tenant's stack
	// deployed again after the account was another tenant's.
	StackID string `dynamodbav:"StackId,omitempty" json:"-"`
}

// Credentials are a support session's temporary credentials.
type Credentials struct {
	AccessKeyID     string    `json:"AccessKeyId"`
	SecretAccessKey string    `json:"SecretAccessKey"`
	SessionToken    string    `json:"SessionToken"`
	Expiration      time.Time `json:"Expiration"`
	RoleARN         string    `json:"RoleArn"`
	AssumedRoleARN  string    `json:"AssumedRoleArn,omitempty"`
	SessionName     string    `json:"SessionName"`
}

// inUTC returns r with its times in UTC (epoch seconds decode in the local zone).
func (r Request) inUTC() Request {
	r.CreatedAt, r.PendingUntil, r.DecidedAt, r.AccessUntil = r.CreatedAt.UTC(), r.PendingUntil.UTC(), r.DecidedAt.UTC(), r.AccessUntil.UTC()
	return r
}

// inUTC returns p with its time in UTC.
func (p PreApproval) inUTC() PreApproval {
	p.CreatedAt = p.CreatedAt.UTC()
	return p
}

// holdsFor reports whether p is the standing approval of o, the account's usable onboarding now: set
// by its tenant, under its stack.
func (p PreApproval) holdsFor(o registry.Onboarding) bool {
	return p.Tenant == o.Tenant && p.StackID == o.StackID
}
