package cfnresource

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// snsRecords returns the records of an SNS notification as Lambda receives it:
// {"Records":[{"EventSource":"aws:sns","Sns":{"Message":"…",…}}, …]}.
func snsRecords(notification map[string]json.RawMessage) ([]json.RawMessage, error) {
	raw := notification["Records"]
	var records []json.RawMessage
	if err := json.Unmarshal(raw, &records); err != nil || records == nil {
		return nil, fmt.Errorf("field Records is a JSON %s, want an array", jsonKind(raw))
	}
	return records, nil
}

// SplitRecords returns the payloads in a Lambda payload, one per request: an SNS notification with
// several records (SNS delivers one message per invocation today, but the format allows more) gives
// one single-record notification per record, each decoded and answered on its own; anything else is
// returned as it is, for Decode to judge.
func SplitRecords(payload []byte) [][]byte {
	obj, err := jsonObject(payload)
	if err != nil {
		return [][]byte{payload}
	}
	if _, ok := obj["Records"]; !ok {
		return [][]byte{payload}
	}
	records, err := snsRecords(obj)
	if err != nil || len(records) < 2 {
		return [][]byte{payload}
	}
	out := make([][]byte, 0, len(records))
	for _, r := range records {
		one, err := json.Marshal(map[string][]json.RawMessage{"Records": {r}})
		if err != nil { // a RawMessage from Unmarshal always marshals
			one = payload
		}
		out = append(out, one)
	}
	return out
}

// snsMessage returns the message of a single-record SNS notification and the notification's
// Timestamp (zero if absent or malformed: it only ever shortens a deadline). CloudFormation
// publishes one request per notification, so anything but exactly one record is refused here;
// SplitRecords splits the others first.
func snsMessage(notification map[string]json.RawMessage) ([]byte, time.Time, error) {
	records, err := snsRecords(notification)
	if err != nil {
		return nil, time.Time{}, err
	}
	if len(records) != 1 {
		return nil, time.Time{}, fmt.Errorf("%d records, want exactly 1", len(records))
	}
	record, err := jsonObject(records[0])
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("the record is %w", err)
	}
	source, err := stringField(record, "EventSource")
	if err != nil {
		return nil, time.Time{}, err
	}
	if source != "aws:sns" {
		return nil, time.Time{}, fmt.Errorf("the record's EventSource is %s, want \"aws:sns\"", quoteClipped(source))
	}
	rawSNS, ok := record["Sns"]
	if !ok {
		return nil, time.Time{}, errors.New("the record has no Sns field")
	}
	sns, err := jsonObject(rawSNS)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("the record's Sns field is %w", err)
	}
	message, err := stringField(sns, "Message")
	if err != nil {
		return nil, time.Time{}, err
	}
	if message == "" {
		return nil, time.Time{}, errors.New("the SNS message is empty")
	}
	var sent time.Time
	if ts, err := stringField(sns, "Timestamp"); err == nil {
		sent, _ = time.Parse(time.RFC3339Nano, ts)
	}
	return []byte(message), sent, nil
}
