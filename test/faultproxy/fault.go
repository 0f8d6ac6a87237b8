package faultproxy

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/supportaccess/gateway/test/internal/awswire"
)

// Fault is what the proxy does to a matching call instead of (or before) forwarding it.
type Fault int

const (
	// Latency forwards the call after Rule.Latency.
	Latency Fault = iota + 1
	// Throttle answers with the protocol's throttling error (see the package documentation).
	Throttle
	// ServerError answers 500 (InternalFailure on query services).
	ServerError
	// Unavailable answers 503 ServiceUnavailable.
	Unavailable
	// Reset closes the TCP connection with a RST, without a response.
	Reset
	// Timeout holds the call until the client gives up, Rule.Hold passes (if
	// set) or the proxy closes, then closes the connection without a response.
	Timeout
	// AccessDenied answers 403 AccessDenied (400 AccessDeniedException on JSON services).
	AccessDenied
)

var faultNames = [...]string{
	Latency:      "Latency",
	Throttle:     "Throttle",
	ServerError:  "ServerError",
	Unavailable:  "Unavailable",
	Reset:        "Reset",
	Timeout:      "Timeout",
	AccessDenied: "AccessDenied",
}

func (f Fault) String() string {
	if f > 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

func (f Fault) valid() bool { return f > 0 && int(f) < len(faultNames) }

// Rule says which calls get which fault, and for how long.
type Rule struct {
	// Service is the signing name of the AWS service ("iam", "sts",
	// "dynamodb", "s3"); "" matches any. Compared case-insensitively.
	Service string
	// Operation is the API operation ("CreateRole", "AssumeRole", "PutItem",
	// "PutObject"); "" matches any. Compared case-insensitively.
	Operation string
	// Operations, if set, is a set of operations the rule matches, for a quota several
	// operations share (kms Sign and Verify). Set Operation or Operations, not both.
	Operations []string
	// PathPrefix, if set, limits the rule to requests whose URL path starts with it: for S3
	// (path-style), "/bucket/" picks one bucket's objects.
	PathPrefix string
	// Fault is what the rule does to the calls it handles. A rate rule (Rate set) may leave it
	// unset: it then answers with Throttle.
	Fault Fault
	// Rate, if set, makes the rule a rate limiter, as AWS's request-rate quotas are: a token
	// bucket that holds Burst tokens, starts full and gains Rate tokens a second, shared by
	// every call the rule matches. A matching call that finds a token takes it and goes on to
	// the next rules (the call is admitted); one that finds none is handled: it gets the
	// rule's fault, answered at once (the call is throttled). Call.Rate records which.
	Rate float64
	// Burst is the size of a rate rule's bucket: how many calls it admits at once after a
	// quiet spell (0: Rate rounded up, at least 1).
	Burst int
	// Times limits the rule to its first Times calls (0: no count limit).
	Times int
	// For limits the rule to this long after the first call it handled (0: no time limit).
	// With both Times and For set, both limits apply. A rate rule counts the calls it throttled.
	For time.Duration
	// Latency delays the call before the fault (or before forwarding, for the Latency fault).
	Latency time.Duration
	// Hold bounds a Timeout fault: the connection is closed after Hold even
	// if the client is still waiting (0: wait for the client to give up).
	Hold time.Duration
}

func (r Rule) validate() error {
	switch {
	case r.Fault == 0 && r.Rate > 0: // a rate rule throttles by default
	case !r.Fault.valid():
		return fmt.Errorf("faultproxy: rule %+v: unknown fault %v", r, r.Fault)
	}
	switch {
	case r.Times < 0 || r.For < 0 || r.Latency < 0 || r.Hold < 0 || r.Burst < 0:
		return fmt.Errorf("faultproxy: rule %+v: negative limit", r)
	case r.Rate < 0 || math.IsNaN(r.Rate) || math.IsInf(r.Rate, 0):
		return fmt.Errorf("faultproxy: rule %+v: rate must be a positive number of calls a second", r)
	case r.Burst > 0 && r.Rate == 0:
		return fmt.Errorf("faultproxy: rule %+v: Burst without Rate", r)
	case r.Operation != "" && len(r.Operations) > 0:
		return fmt.Errorf("faultproxy: rule %+v: both Operation and Operations", r)
	}
	return nil
}

// fault is the rule's fault, Throttle for a rate rule that names none.
func (r Rule) fault() Fault {
	if r.Fault == 0 {
		return Throttle
	}
	return r.Fault
}

func (r Rule) matches(service, operation, path string) bool {
	return (r.Service == "" || strings.EqualFold(r.Service, service)) &&
		(r.Operation == "" || strings.EqualFold(r.Operation, operation)) &&
		(len(r.Operations) == 0 || slices.ContainsFunc(r.Operations, func(op string) bool { return strings.EqualFold(op, operation) })) &&
		strings.HasPrefix(path, r.PathPrefix)
}

// activeRule is a Rule with its use so far.
type activeRule struct {
	Rule
	fired  int       // calls handled
	first  time.Time // when it handled its first call
	bucket *bucket   // a rate rule's tokens; nil for other rules
}

func newActiveRule(r Rule) *activeRule {
	a := &activeRule{Rule: r}
	if r.Rate > 0 {
		a.bucket = newBucket(r.Rate, r.Burst)
	}
	return a
}

// verdict is what a rule does with a call.
type verdict int

const (
	passed   verdict = iota // the rule does not apply: on to the next rule
	admitted                // a rate rule had a token for it: on to the next rule
	handled                 // the rule handles the call
)

// take decides what the rule does with a call of service/operation arriving at now, and
// counts the call if the rule handles it. The caller holds the proxy's lock.
func (a *activeRule) take(service, operation, path string, now time.Time) verdict {
	if !a.matches(service, operation, path) ||
		(a.Times > 0 && a.fired >= a.Times) ||
		(a.For > 0 && !a.first.IsZero() && now.Sub(a.first) >= a.For) {
		return passed
	}
	if a.bucket != nil && a.bucket.take(now) {
		return admitted
	}
	if a.first.IsZero() {
		a.first = now
	}
	a.fired++
	return handled
}

// wireError is the status and error code of a fault in one protocol.
type wireError struct {
	status int
	code   string
	msg    string
}

// wireErrors are the answers of real AWS services, which the SDK decodes into
// these error codes (see the package documentation for how it treats them).
var wireErrors = map[protocol]map[Fault]wireError{
	queryProtocol: {
		Throttle:     {400, "Throttling", "Rate exceeded"},
		ServerError:  {500, "InternalFailure", "The request processing has failed because of an unknown error."},
		Unavailable:  {503, "ServiceUnavailable", "Service is unable to handle request."},
		AccessDenied: {403, "AccessDenied", "User is not authorized to perform this action."},
	},
	jsonProtocol: {
		Throttle:     {400, "ThrottlingException", "Rate of requests exceeds the allowed throughput."},
		ServerError:  {500, "InternalServerError", "Internal server error."},
		Unavailable:  {503, "ServiceUnavailable", "Service is unable to handle request."},
		AccessDenied: {400, "AccessDeniedException", "User is not authorized to perform this action."},
	},
	restXMLProtocol: {
		Throttle:     {503, "SlowDown", "Please reduce your request rate."},
		ServerError:  {500, "InternalError", "We encountered an internal error. Please try again."},
		Unavailable:  {503, "ServiceUnavailable", "Service is unable to handle request."},
		AccessDenied: {403, "AccessDenied", "Access Denied"},
	},
}

const injectedNote = " (injected by faultproxy)"

// errorAnswer is the error fault f in req's protocol.
func errorAnswer(req request, f Fault, requestID string) answer {
	return wireAnswer(req, wireErrors[req.protocol][f], nil, requestID)
}

// wireAnswer is the error e in req's protocol. extra holds more fields of a JSON error body
// (DynamoDB's ThrottlingReasons); other protocols ignore it.
func wireAnswer(req request, e wireError, extra map[string]any, requestID string) answer {
	msg := e.msg + injectedNote
	h := http.Header{}
	var body []byte
	switch req.protocol {
	case queryProtocol:
		ns := "https://" + req.service + ".amazonaws.com/doc/" + req.version + "/"
		body = awswire.QueryError(ns, e.status, e.code, msg, requestID)
		h.Set("Content-Type", "text/xml")
		h.Set("X-Amzn-Requestid", requestID)
	case jsonProtocol:
		ns := "com.amazonaws." + req.service
		if req.service == "dynamodb" {
			ns = "com.amazonaws.dynamodb.v20120810"
		}
		fields := map[string]any{"__type": ns + "#" + e.code, "message": msg}
		for k, v := range extra {
			fields[k] = v
		}
		body, _ = json.Marshal(fields) // cannot fail: strings, and the slices of maps of strings extra holds
		h.Set("Content-Type", req.contentType)
		h.Set("X-Amzn-Errortype", e.code)
		h.Set("X-Amzn-Requestid", requestID)
	default:
		// S3: <Error><Code>SlowDown</Code><Message>...</Message><RequestId>...</RequestId></Error>
		type s3Error struct {
			XMLName   xml.Name `xml:"Error"`
			Code      string
			Message   string
			RequestID string `xml:"RequestId"`
			HostID    string `xml:"HostId"`
		}
		body = awswire.Document(s3Error{Code: e.code, Message: msg, RequestID: requestID, HostID: "faultproxy"})
		h.Set("Content-Type", "application/xml")
		h.Set("X-Amz-Request-Id", requestID)
		h.Set("X-Amz-Id-2", "faultproxy")
	}
	return answer{status: e.status, header: h, body: body}
}
