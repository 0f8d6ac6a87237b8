package cfnresource

import (
	"context"
	"time"
)

// RequestType is what CloudFormation asks the custom resource to do.
type RequestType string

// The request types CloudFormation sends.
const (
	Create RequestType = "Create"
	Update RequestType = "Update"
	Delete RequestType = "Delete"
)

// Event is a custom-resource request, with the fields CloudFormation documents.
type Event struct {
	RequestType           RequestType    `json:"RequestType"`
	ResponseURL           string         `json:"ResponseURL"`
	StackID               string         `json:"StackId"`
	RequestID             string         `json:"RequestId"`
	ResourceType          string         `json:"ResourceType"`
	LogicalResourceID     string         `json:"LogicalResourceId"`
	PhysicalResourceID    string         `json:"PhysicalResourceId,omitempty"`
	ServiceToken          string         `json:"ServiceToken,omitempty"`
	ResourceProperties    map[string]any `json:"ResourceProperties"`
	OldResourceProperties map[string]any `json:"OldResourceProperties,omitempty"`

	// SNSTimestamp is when SNS says it received the notification that carried the request (zero for
	// a direct invocation). Like every field of a request it is a claim: the Runner uses it only to
	// answer sooner (see answerBy), never later.
	SNSTimestamp time.Time `json:"-"`
}

// Result is what a Handler reports on success.
type Result struct {
	// PhysicalResourceID names the resource. Create must set it; Update may leave it empty to keep
	// the current one (a different one tells CloudFormation the resource was replaced); Delete's is
	// ignored.
	PhysicalResourceID string
	// Data is what the template reads with Fn::GetAtt.
	Data map[string]string
	// NoEcho masks Data in the CloudFormation console.
	NoEcho bool
	// Then, if set, runs once the answer has been sent, with what is left of the invocation (its
	// deadline less the Runner's margin): work the answer need not wait for, such as proving a claim.
	// It cannot change the answer, and it does not run when the watchdog answered first. It runs even
	// if the answer could not be delivered (anyone can make a forged answer's PUT fail; the work must
	// not depend on it), so it must be idempotent. Lambda keeps the process running until it returns.
	Then func(ctx context.Context)
}

// Handler does the resource's work. Errors become FAILED with the error text as Reason (so
// handlers write errors a customer can act on). A Delete that must not block the customer's stack
// deletion returns a nil error.
//
// The Runner passes the event without its ResponseURL: answering is the Runner's job, and the URL
// is a credential that the business has no use for.
type Handler interface {
	Create(ctx context.Context, e Event) (Result, error)
	Update(ctx context.Context, e Event) (Result, error)
	Delete(ctx context.Context, e Event) (Result, error)
}

// FailedCreateDeleter is a Handler that wants to know when CloudFormation deletes the marker of a
// Create that failed (FailedCreateID): from then on, CloudFormation has given that Create up, so a
// late or repeated delivery of it must change nothing, and whatever such a delivery did already
// must be undone. The Runner answers the marker's Delete SUCCESS at once, whatever this does, and
// then calls DeleteFailedCreate with what is left of the invocation; e.PhysicalResourceID is the
// marker, e.RequestID the Delete's own.
type FailedCreateDeleter interface {
	DeleteFailedCreate(ctx context.Context, e Event)
}
