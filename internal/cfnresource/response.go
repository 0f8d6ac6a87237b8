package cfnresource

import (
	"context"
	"strings"
)

// The statuses of a response.
const (
	statusSuccess = "SUCCESS"
	statusFailed  = "FAILED"
)

// Response is the document PUT to the ResponseURL, with the field names CloudFormation documents.
type Response struct {
	Status             string            `json:"Status"`
	Reason             string            `json:"Reason,omitempty"`
	PhysicalResourceID string            `json:"PhysicalResourceId"`
	StackID            string            `json:"StackId"`
	RequestID          string            `json:"RequestId"`
	LogicalResourceID  string            `json:"LogicalResourceId"`
	NoEcho             bool              `json:"NoEcho,omitempty"`
	Data               map[string]string `json:"Data,omitempty"`

	then func(context.Context) // the handler's follow-up work (Result.Then); never sent
}

// succeeded answers e with SUCCESS, the physical ID id and the result's Data.
func succeeded(e Event, id string, res Result) Response {
	return Response{
		Status:             statusSuccess,
		PhysicalResourceID: id,
		StackID:            e.StackID,
		RequestID:          e.RequestID,
		LogicalResourceID:  e.LogicalResourceID,
		NoEcho:             res.NoEcho,
		Data:               res.Data,
	}
}

// failed answers e with FAILED and reason, keeping the physical ID failureID chooses.
func failed(e Event, reason string) Response {
	if strings.TrimSpace(reason) == "" {
		reason = "failed without a reason"
	}
	return Response{
		Status:             statusFailed,
		Reason:             scrub(reason, e.ResponseURL),
		PhysicalResourceID: failureID(e),
		StackID:            e.StackID,
		RequestID:          e.RequestID,
		LogicalResourceID:  e.LogicalResourceID,
	}
}
