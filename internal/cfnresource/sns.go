package cfnresource

import (
	"encoding/json"
	"errors"
	"fmt"
)

// snsMessage returns the message of an SNS notification as Lambda receives it:
// {"Records":[{"EventSource":"aws:sns","Sns":{"Message":"…",…}}]}. CloudFormation publishes one
// request per notification, so anything but exactly one record is refused rather than guessed at.
func snsMessage(notification map[string]json.RawMessage) ([]byte, error) {
	raw := notification["Records"]
	var records []json.RawMessage
	if err := json.Unmarshal(raw, &records); err != nil || records == nil {
		return nil, fmt.Errorf("field Records is a JSON %s, want an array", jsonKind(raw))
	}
	if len(records) != 1 {
		return nil, fmt.Errorf("%d records, want exactly 1", len(records))
	}
	record, err := jsonObject(records[0])
	if err != nil {
		return nil, fmt.Errorf("the record is %w", err)
	}
	source, err := stringField(record, "EventSource")
	if err != nil {
		return nil, err
	}
	if source != "aws:sns" {
		return nil, fmt.Errorf("the record's EventSource is %s, want \"aws:sns\"", quoteClipped(source))
	}
	rawSNS, ok := record["Sns"]
	if !ok {
		return nil, errors.New("the record has no Sns field")
	}
	sns, err := jsonObject(rawSNS)
	if err != nil {
		return nil, fmt.Errorf("the record's Sns field is %w", err)
	}
	message, err := stringField(sns, "Message")
	if err != nil {
		return nil, err
	}
	if message == "" {
		return nil, errors.New("the SNS message is empty")
	}
	return []byte(message), nil
}
