package cfnresource

import "context"

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
