package cfnresource

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// maxPayloadBytes is Lambda's limit for an asynchronous invocation and SNS's for a message.
const maxPayloadBytes = 256 << 10

// Decode parses a Lambda payload: a direct event, or an SNS notification
// ({"Records":[{"EventSource":"aws:sns","Sns":{"Message":"<event JSON>",…}}]}) with exactly one
// record (SplitRecords splits notifications with more). It returns the event and an error describing what is wrong. When the error is not nil
// but the event still has enough to answer (see Answerable), the Runner answers FAILED with the
// error as Reason; otherwise the Runner logs and drops the payload. Every event Decode accepts is
// Answerable. Error texts never contain the ResponseURL.
func Decode(payload []byte) (Event, error) {
	obj, err := jsonObject(payload)
	if err != nil {
		return Event{}, fmt.Errorf("decoding the request: the payload is %w", err)
	}
	var sent time.Time
	if _, ok := obj["Records"]; ok {
		message, ts, err := snsMessage(obj)
		if err != nil {
			return Event{}, fmt.Errorf("decoding the SNS notification: %w", err)
		}
		if obj, err = jsonObject(message); err != nil {
			return Event{}, fmt.Errorf("decoding the SNS message: it is %w", err)
		}
		sent = ts
	}

	var p problems
	if len(payload) > maxPayloadBytes {
		p.add(fmt.Sprintf("the request is %d bytes, over the %d-byte limit", len(payload), maxPayloadBytes))
	}
	e := eventFields(obj, &p)
	e.SNSTimestamp = sent
	checkEvent(e, &p)
	return e, p.err()
}

// eventFields reads the documented fields of a request, noting missing and mistyped ones.
func eventFields(obj map[string]json.RawMessage, p *problems) Event {
	str := func(name string, required bool) string {
		s, err := stringField(obj, name)
		switch {
		case err != nil:
			p.add(err.Error())
		case s == "" && required:
			p.missing(name)
		}
		return s
	}
	object := func(name string, required bool) map[string]any {
		m, err := objectField(obj, name)
		switch {
		case err != nil:
			p.add(err.Error())
		case m == nil && required:
			p.missing(name)
		}
		return m
	}

	rt := RequestType(str("RequestType", true))
	return Event{
		RequestType:           rt,
		ResponseURL:           str("ResponseURL", true),
		StackID:               str("StackId", true),
		RequestID:             str("RequestId", true),
		ResourceType:          str("ResourceType", true),
		LogicalResourceID:     str("LogicalResourceId", true),
		PhysicalResourceID:    str("PhysicalResourceId", rt == Update || rt == Delete),
		ServiceToken:          str("ServiceToken", false),
		ResourceProperties:    object("ResourceProperties", true),
		OldResourceProperties: object("OldResourceProperties", false),
	}
}

// checkEvent notes what makes a complete event unusable.
func checkEvent(e Event, p *problems) {
	switch e.RequestType {
	case Create, Update, Delete, "":
	default:
		p.add(errUnsupported(e.RequestType).Error())
	}
	if e.ResponseURL != "" && !usableURL(e.ResponseURL) {
		p.add("ResponseURL is not an absolute http(s) URL")
	}
	if e.PhysicalResourceID != "" {
		if err := checkPhysicalID(e.PhysicalResourceID); err != nil {
			p.add(fmt.Sprintf("PhysicalResourceId %v", err))
		}
	}
	if !headerFits(e) {
		p.add(fmt.Sprintf("StackId, RequestId and LogicalResourceId are too long to answer within %d bytes", maxBodyBytes))
	}
}

func errUnsupported(rt RequestType) error {
	return fmt.Errorf("unsupported RequestType %s", quoteClipped(string(rt)))
}

// Answerable reports whether e has what a FAILED response needs: a ResponseURL that can be
// checked and used, a StackId, a RequestId and a LogicalResourceId, short enough that the
// response fits CloudFormation's limit whatever the physical ID and reason.
func Answerable(e Event) bool {
	return e.StackID != "" && e.RequestID != "" && e.LogicalResourceID != "" &&
		usableURL(e.ResponseURL) && headerFits(e)
}

// usableURL reports whether raw is an absolute http(s) URL with a host: something
// ResponseHosts.Check can decide on.
func usableURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// problems collects what is wrong with a request, so one Reason lists all of it.
type problems struct {
	missingFields []string
	others        []string
}

func (p *problems) missing(name string) { p.missingFields = append(p.missingFields, name) }
func (p *problems) add(problem string)  { p.others = append(p.others, problem) }

func (p *problems) err() error {
	parts := p.others
	if len(p.missingFields) > 0 {
		parts = append([]string{"missing " + strings.Join(p.missingFields, ", ")}, parts...)
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("invalid custom-resource request: %s", strings.Join(parts, "; "))
}
