package faultproxy

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
)

// bucket is a token bucket: it holds up to size tokens, starts full and gains rate tokens a
// second. The caller holds the proxy's lock.
type bucket struct {
	rate, size, tokens float64
	last               time.Time // when tokens was brought up to date; zero until the first call
}

func newBucket(rate float64, burst int) *bucket {
	size := float64(burst)
	if burst == 0 {
		size = max(1, math.Ceil(rate))
	}
	return &bucket{rate: rate, size: size, tokens: size}
}

// take takes a token for a call arriving at now, if there is one. Calls may arrive slightly
// out of order (their time is taken before the lock); an earlier one adds no tokens.
func (b *bucket) take(now time.Time) bool {
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens = min(b.size, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// RateOutcome is what the rate rules (Rule.Rate) did to a call.
type RateOutcome string

const (
	// RateAdmitted: every rate rule that matched the call had a token for it.
	RateAdmitted RateOutcome = "admitted"
	// RateThrottled: a rate rule had no token for the call and answered it (Call.Fault says how).
	RateThrottled RateOutcome = "throttled"
)

// RateCount is what the rate rules did to one operation's calls.
type RateCount struct {
	Service, Operation  string
	Admitted, Throttled int
}

// RateCounts counts, for each operation of calls that met a rate rule, the calls admitted
// and the calls throttled, in order of service then operation.
func RateCounts(calls []Call) []RateCount {
	var out []RateCount
	for _, c := range calls {
		if c.Rate == "" {
			continue
		}
		i := slices.IndexFunc(out, func(r RateCount) bool { return r.Service == c.Service && r.Operation == c.Operation })
		if i < 0 {
			out = append(out, RateCount{Service: c.Service, Operation: c.Operation})
			i = len(out) - 1
		}
		if c.Rate == RateThrottled {
			out[i].Throttled++
		} else {
			out[i].Admitted++
		}
	}
	slices.SortFunc(out, func(a, b RateCount) int {
		return cmp.Or(strings.Compare(a.Service, b.Service), strings.Compare(a.Operation, b.Operation))
	})
	return out
}

// kmsThrottled is KMS's answer to a call over its request quota, as the AWS KMS Developer
// Guide ("Request quotas") quotes it.
var kmsThrottled = wireError{400, "ThrottlingException", "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."}

// dynamoDBItemReads and dynamoDBItemWrites are the data-plane operations, which DynamoDB
// throttles per partition with ProvisionedThroughputExceededException; its control plane
// (CreateTable, DescribeTable, ...) answers ThrottlingException.
var (
	dynamoDBItemReads  = []string{"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
	dynamoDBItemWrites = []string{"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
)

// rateAnswer is what AWS answers a call of req over a request-rate quota: the Throttle fault
// of its protocol, in the words of the service where they differ.
func rateAnswer(req request, requestID string) answer {
	switch {
	case req.service == "kms":
		return wireAnswer(req, kmsThrottled, nil, requestID)
	case req.service == "dynamodb" && slices.Contains(dynamoDBItemWrites, req.operation):
		return dynamoDBKeyRangeThrottled(req, "TableWriteKeyRangeThroughputExceeded", requestID)
	case req.service == "dynamodb" && slices.Contains(dynamoDBItemReads, req.operation):
		return dynamoDBKeyRangeThrottled(req, "TableReadKeyRangeThroughputExceeded", requestID)
	}
	return errorAnswer(req, Throttle, requestID)
}

// dynamoDBKeyRangeThrottled is DynamoDB's answer to an item operation over a partition's
// throughput, which on-demand tables meet too: ProvisionedThroughputExceededException with
// its throttling reason (without the resource ARN, which would need the account).
func dynamoDBKeyRangeThrottled(req request, reason, requestID string) answer {
	e := wireError{400, "ProvisionedThroughputExceededException",
		"Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly."}
	return wireAnswer(req, e, map[string]any{"ThrottlingReasons": []map[string]string{{"reason": reason}}}, requestID)
}
