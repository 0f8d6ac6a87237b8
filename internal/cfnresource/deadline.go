package cfnresource

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// CloudFormation starts its clock when it sends a request, not when the function receives it: SNS
// redelivery, Lambda's asynchronous retries and a backed-up queue all start an invocation late. The
// request carries no send time of its own, but two fields say something about it:
//
//   - the pre-signed ResponseURL: SigV4 (X-Amz-Date, when it was signed, and X-Amz-Expires, for how
//     many seconds) or SigV2 (Expires, a Unix time). AWS documents both query forms in "Authenticating
//     Requests: Using Query Parameters" (Amazon S3 API Reference). A PUT after the URL expires fails.
//   - on the SNS path, the notification's Timestamp ("the time (GMT) when the notification was
//     published", Amazon SNS Developer Guide, "HTTP/HTTPS notification JSON format").
//
// Both are claims anyone who can publish to the topic may write, so they are only ever used to
// answer sooner: the answer's deadline is the earliest of the Lambda deadline, arrival +
// ServiceTimeout, claimed send time + ServiceTimeout and the URL's expiry. A claim in the future
// moves nothing.

// requestTimes is what a request claims about CloudFormation's clock.
type requestTimes struct {
	sent    time.Time // the earliest claimed send time; zero if none
	expires time.Time // when the ResponseURL stops working; zero if unknown
}

// sigV4Date is the layout of X-Amz-Date.
const sigV4Date = "20060102T150405Z"

// claimedTimes reads the times e claims.
func claimedTimes(e Event) requestTimes {
	var rt requestTimes
	earliest := func(t time.Time) {
		if !t.IsZero() && (rt.sent.IsZero() || t.Before(rt.sent)) {
			rt.sent = t
		}
	}
	earliest(e.SNSTimestamp)
	u, err := url.Parse(e.ResponseURL)
	if err != nil {
		return rt
	}
	q := u.Query()
	if signed, err := time.Parse(sigV4Date, q.Get("X-Amz-Date")); err == nil {
		earliest(signed)
		if secs, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64); err == nil && secs >= 0 && secs <= maxPresignSeconds {
			rt.expires = signed.Add(time.Duration(secs) * time.Second)
		}
	} else if unix, err := strconv.ParseInt(q.Get("Expires"), 10, 64); err == nil && unix > 0 && unix < maxUnix {
		rt.expires = time.Unix(unix, 0)
	}
	return rt
}

// Bounds that keep the arithmetic on claimed values sane: S3 signs URLs for at most 7 days.
const (
	maxPresignSeconds = 7 * 24 * 3600
	maxUnix           = 1 << 40
)

// waitingUntil is when CloudFormation stops waiting for e's answer, as far as the request lets us
// know: the earlier of claimed send time + ServiceTimeout and the URL's expiry (zero: unknown).
func waitingUntil(e Event) time.Time {
	rt := claimedTimes(e)
	until := rt.expires
	if !rt.sent.IsZero() {
		if limit := rt.sent.Add(serviceTimeout(e.ResourceProperties)); until.IsZero() || limit.Before(until) {
			until = limit
		}
	}
	return until
}

// answerBy is when the answer must go out: margin before the earliest of ctx's deadline, start +
// the request's ServiceTimeout, and when CloudFormation stops waiting by the request's own claims.
func answerBy(ctx context.Context, e Event, start time.Time, margin time.Duration) time.Time {
	limit := start.Add(serviceTimeout(e.ResourceProperties))
	if deadline, ok := ctx.Deadline(); ok && deadline.Before(limit) {
		limit = deadline
	}
	if until := waitingUntil(e); !until.IsZero() && until.Before(limit) {
		limit = until
	}
	return limit.Add(-margin)
}
