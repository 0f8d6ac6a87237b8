package faultproxy

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Call is one request the proxy received.
type Call struct {
	Service   string // signing name, e.g. "iam"; "" if not recognised
	Operation string // e.g. "CreateRole"
	Path      string // the request's URL path (for S3, path-style: /bucket/key)
	// Start is when the request's headers arrived. End is when the answer was
	// ready, just before the proxy sent it or dropped the connection, so a client
	// holding its answer finds its call complete; zero while the call is in flight.
	// For a Timeout held until the client gives up, End is when the proxy noticed.
	Start, End time.Time
	// Status is the HTTP status sent to the client: moto's, or the injected
	// error's; 0 if the connection was dropped without a response.
	Status int
	// Fault is the name of the injected fault ("Throttle", "Latency", ...);
	// "" if the call was forwarded untouched.
	Fault string
	// Rate is what the rate rules (Rule.Rate) did to the call: RateAdmitted or
	// RateThrottled; "" if no rate rule matched it.
	Rate RateOutcome
}

// Duration is End - Start, or 0 while the call is in flight.
func (c Call) Duration() time.Duration {
	if c.End.IsZero() {
		return 0
	}
	return c.End.Sub(c.Start)
}

func (c Call) String() string {
	fault := c.Fault
	if fault == "" {
		fault = "forwarded"
	}
	if c.Rate != "" {
		fault += ", rate " + string(c.Rate)
	}
	return fmt.Sprintf("%s %s: %d (%s) in %v", c.Service, c.Operation, c.Status, fault, c.Duration().Round(time.Millisecond))
}

// CriticalPath is the number of sequential round trips in calls: the length
// of the longest chain of calls in which each call starts at or after the end
// of the previous one. Calls made in parallel count once; retries count
// (they are round trips too). Calls still in flight are ignored.
func CriticalPath(calls []Call) int {
	done := make([]Call, 0, len(calls))
	for _, c := range calls {
		if !c.End.IsZero() {
			done = append(done, c)
		}
	}
	// In order of End, every call that can precede a call comes before it.
	slices.SortFunc(done, func(a, b Call) int {
		return cmp.Or(a.End.Compare(b.End), a.Start.Compare(b.Start))
	})
	chain := make([]int, len(done)) // chain[i]: the longest chain ending with done[i]
	longest := 0
	for i, c := range done {
		chain[i] = 1
		for j := range i {
			if !c.Start.Before(done[j].End) {
				chain[i] = max(chain[i], chain[j]+1)
			}
		}
		longest = max(longest, chain[i])
	}
	return longest
}
