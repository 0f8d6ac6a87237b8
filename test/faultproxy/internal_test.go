package faultproxy

import (
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The live tests check recognition through real SDK clients; these cover the rest of the rules.
func TestIdentify(t *testing.T) {
	const form = "application/x-www-form-urlencoded; charset=utf-8"
	sig := func(service string) string {
		return "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/" + service +
			"/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
	}
	tests := []struct {
		name               string
		method, target     string
		header             map[string]string
		body               string
		service, operation string
		protocol           protocol
	}{
		{
			name: "IAM, signed", method: "POST", target: "/",
			header:  map[string]string{"Authorization": sig("iam"), "Content-Type": form},
			body:    "Action=CreateRole&Version=2010-05-08&RoleName=x",
			service: "iam", operation: "CreateRole", protocol: queryProtocol,
		},
		{
			name: "STS, unsigned: the service comes from the API version", method: "POST", target: "/",
			header:  map[string]string{"Content-Type": form},
			body:    "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&WebIdentityToken=t",
			service: "sts", operation: "AssumeRoleWithWebIdentity", protocol: queryProtocol,
		},
		{
			name: "SigV4a scope has no region", method: "POST", target: "/",
			header:  map[string]string{"Authorization": "AWS4-ECDSA-P256-SHA256 Credential=AKIA/20260101/sns/aws4_request, SignedHeaders=host", "Content-Type": form},
			body:    "Action=Publish&Version=2010-03-31",
			service: "sns", operation: "Publish", protocol: queryProtocol,
		},
		{
			name: "DynamoDB", method: "POST", target: "/",
			header:  map[string]string{"Authorization": sig("dynamodb"), "X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-json-1.0"},
			body:    `{"TableName":"t"}`,
			service: "dynamodb", operation: "PutItem", protocol: jsonProtocol,
		},
		{
			name: "KMS, unsigned", method: "POST", target: "/",
			header:  map[string]string{"X-Amz-Target": "TrentService.Sign", "Content-Type": "application/x-amz-json-1.1"},
			service: "kms", operation: "Sign", protocol: jsonProtocol,
		},
		{
			name: "S3 pre-signed PUT", method: "PUT",
			target:  "/responses/arn%3Aaws%3Acloudformation/req-1?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abc",
			service: "s3", operation: "PutObject", protocol: restXMLProtocol,
		},
		{name: "S3 ListBuckets", method: "GET", target: "/", header: map[string]string{"Authorization": sig("s3")}, service: "s3", operation: "ListBuckets"},
		{name: "S3 CreateBucket", method: "PUT", target: "/b", header: map[string]string{"Authorization": sig("s3")}, service: "s3", operation: "CreateBucket"},
		{name: "S3 ListObjectsV2", method: "GET", target: "/b?list-type=2&prefix=a", header: map[string]string{"Authorization": sig("s3")}, service: "s3", operation: "ListObjectsV2"},
		{name: "S3 PutBucketPolicy", method: "PUT", target: "/b?policy", header: map[string]string{"Authorization": sig("s3")}, service: "s3", operation: "PutBucketPolicy"},
		{name: "S3 GetObjectTagging", method: "GET", target: "/b/k/1?tagging", header: map[string]string{"Authorization": sig("s3")}, service: "s3", operation: "GetObjectTagging"},
		{name: "S3 HeadObject", method: "HEAD", target: "/b/k", header: map[string]string{"Authorization": sig("s3")}, service: "s3", operation: "HeadObject"},
		{name: "S3 DeleteObjects", method: "POST", target: "/b?delete", header: map[string]string{"Authorization": sig("s3")}, service: "s3", operation: "DeleteObjects"},
		{name: "not AWS at all", method: "POST", target: "/moto-api/reset", operation: "PostObject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			got := identify(r, []byte(tt.body))
			assert.Equal(t, tt.service, got.service, "service")
			assert.Equal(t, tt.operation, got.operation, "operation")
			assert.Equal(t, tt.protocol, got.protocol, "protocol")
		})
	}
}

func TestRuleLimits(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t.Run("Times", func(t *testing.T) {
		a := &activeRule{Rule: Rule{Operation: "GetRole", Fault: Throttle, Times: 2}}
		assert.Equal(t, passed, a.take("iam", "CreateRole", "/", t0), "another operation")
		assert.Equal(t, handled, a.take("iam", "GetRole", "/", t0))
		assert.Equal(t, handled, a.take("IAM", "getrole", "/", t0), "case-insensitive")
		assert.Equal(t, passed, a.take("iam", "GetRole", "/", t0), "used up")
	})
	t.Run("For counts from the first call the rule handled", func(t *testing.T) {
		a := &activeRule{Rule: Rule{Service: "sts", Fault: AccessDenied, For: time.Second}}
		later := t0.Add(time.Hour)
		assert.Equal(t, handled, a.take("sts", "AssumeRole", "/", later))
		assert.Equal(t, handled, a.take("sts", "AssumeRole", "/", later.Add(999*time.Millisecond)))
		assert.Equal(t, passed, a.take("sts", "AssumeRole", "/", later.Add(time.Second)))
	})
	t.Run("Times and For together", func(t *testing.T) {
		a := &activeRule{Rule: Rule{Fault: ServerError, Times: 5, For: time.Second}}
		assert.Equal(t, handled, a.take("s3", "GetObject", "/", t0))
		assert.Equal(t, passed, a.take("s3", "GetObject", "/", t0.Add(2*time.Second)), "For is over though Times is not")
	})
	t.Run("path prefix", func(t *testing.T) {
		a := &activeRule{Rule: Rule{Service: "s3", Operation: "PutObject", PathPrefix: "/responses/", Fault: Throttle}}
		assert.Equal(t, handled, a.take("s3", "PutObject", "/responses/key", t0))
		assert.Equal(t, passed, a.take("s3", "PutObject", "/issuer/key", t0), "another bucket")
	})
	t.Run("invalid rules", func(t *testing.T) {
		assert.Error(t, Rule{}.validate(), "no fault")
		assert.Error(t, Rule{Fault: AccessDenied + 1}.validate())
		assert.Error(t, Rule{Fault: Throttle, Times: -1}.validate())
		assert.NoError(t, Rule{Fault: Latency}.validate())
		assert.NoError(t, Rule{Rate: 5}.validate(), "a rate rule throttles by default")
		assert.Error(t, Rule{Rate: -1}.validate())
		assert.Error(t, Rule{Rate: math.Inf(1)}.validate())
		assert.Error(t, Rule{Rate: math.NaN()}.validate())
		assert.Error(t, Rule{Rate: 5, Burst: -1}.validate())
		assert.Error(t, Rule{Fault: Throttle, Burst: 5}.validate(), "Burst without Rate")
		assert.Error(t, Rule{Fault: Throttle, Operation: "Sign", Operations: []string{"Verify"}}.validate())
	})
	t.Run("Operations", func(t *testing.T) {
		a := newActiveRule(Rule{Service: "kms", Operations: []string{"Sign", "Verify"}, Fault: Throttle})
		assert.Equal(t, handled, a.take("kms", "sign", "/", t0))
		assert.Equal(t, handled, a.take("kms", "Verify", "/", t0))
		assert.Equal(t, passed, a.take("kms", "CreateKey", "/", t0))
	})
	t.Run("a rate rule admits what its bucket holds and handles the rest", func(t *testing.T) {
		a := newActiveRule(Rule{Service: "kms", Operation: "CreateKey", Rate: 5, Burst: 2})
		assert.Equal(t, passed, a.take("kms", "Sign", "/", t0), "another operation takes no token")
		assert.Equal(t, admitted, a.take("kms", "CreateKey", "/", t0))
		assert.Equal(t, admitted, a.take("kms", "CreateKey", "/", t0))
		assert.Equal(t, handled, a.take("kms", "CreateKey", "/", t0))
		assert.Equal(t, handled, a.take("kms", "CreateKey", "/", t0.Add(199*time.Millisecond)))
		assert.Equal(t, admitted, a.take("kms", "CreateKey", "/", t0.Add(200*time.Millisecond)), "one token a fifth of a second")
		assert.Equal(t, Throttle, a.fault())
	})
	t.Run("Times counts the calls a rate rule throttled", func(t *testing.T) {
		a := newActiveRule(Rule{Rate: 1, Times: 1})
		assert.Equal(t, admitted, a.take("sts", "AssumeRole", "/", t0))
		assert.Equal(t, handled, a.take("sts", "AssumeRole", "/", t0))
		assert.Equal(t, passed, a.take("sts", "AssumeRole", "/", t0), "used up: no more limiting")
	})
}

func TestBucket(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// admitted takes a token for each time (milliseconds after t0) and lists the ones admitted.
	admitted := func(b *bucket, times ...int) []int {
		var out []int
		for _, ms := range times {
			if b.take(at(ms)) {
				out = append(out, ms)
			}
		}
		return out
	}

	t.Run("starts full, then gains rate tokens a second", func(t *testing.T) {
		b := newBucket(10, 5)
		assert.Equal(t, []int{0, 0, 0, 0, 0}, admitted(b, 0, 0, 0, 0, 0, 0, 0))
		assert.Equal(t, []int{100, 200}, admitted(b, 50, 100, 150, 200))
	})
	t.Run("never holds more than Burst", func(t *testing.T) {
		b := newBucket(10, 3)
		assert.Equal(t, []int{0}, admitted(b, 0))
		assert.Equal(t, []int{60_000, 60_000, 60_000}, admitted(b, 60_000, 60_000, 60_000, 60_000), "a minute later: 3, not 600")
	})
	t.Run("Burst defaults to the rate rounded up, at least 1", func(t *testing.T) {
		assert.Equal(t, 5.0, newBucket(5, 0).size)
		assert.Equal(t, 1.0, newBucket(0.5, 0).size)
		assert.Equal(t, 3.0, newBucket(2.5, 0).size)
	})
	t.Run("fractional rates", func(t *testing.T) {
		b := newBucket(0.5, 1) // one call in each 2 seconds, as KMS documents some quotas
		assert.Equal(t, []int{0, 2000, 4000}, admitted(b, 0, 1000, 1999, 2000, 3000, 4000))
	})
	t.Run("a call stamped before the last one adds no tokens", func(t *testing.T) {
		b := newBucket(10, 1)
		assert.Equal(t, []int{1000}, admitted(b, 1000, 900))
		assert.Equal(t, []int{1100}, admitted(b, 1100))
	})
	t.Run("over any stretch it admits at most Burst + Rate × its length", func(t *testing.T) {
		const rate, burst = 10.0, 5
		b := newBucket(rate, burst)
		var times []int
		for ms := 0; ms < 5000; ms += 7 { // a caller every 7 ms, far over the rate
			times = append(times, ms)
		}
		got := admitted(b, times...)
		for i := range got {
			for j := i; j < len(got); j++ {
				span := float64(got[j]-got[i]) / 1000
				require.LessOrEqual(t, float64(j-i+1), burst+rate*span+1e-9, "admitted %d in [%d ms, %d ms]", j-i+1, got[i], got[j])
			}
		}
		assert.InDelta(t, burst+rate*4.998, len(got), 1, "and it admits that many when callers wait")
	})
}

func TestRateCounts(t *testing.T) {
	calls := []Call{
		{Service: "sts", Operation: "AssumeRole", Rate: RateAdmitted},
		{Service: "kms", Operation: "Sign", Rate: RateThrottled, Fault: "Throttle"},
		{Service: "kms", Operation: "Sign", Rate: RateAdmitted},
		{Service: "kms", Operation: "CreateKey", Rate: RateThrottled, Fault: "Throttle"},
		{Service: "sts", Operation: "AssumeRole", Rate: RateThrottled, Fault: "Throttle"},
		{Service: "iam", Operation: "GetRole"}, // no rate rule matched it
		{Service: "sts", Operation: "AssumeRole", Rate: RateAdmitted},
	}
	assert.Equal(t, []RateCount{
		{Service: "kms", Operation: "CreateKey", Throttled: 1},
		{Service: "kms", Operation: "Sign", Admitted: 1, Throttled: 1},
		{Service: "sts", Operation: "AssumeRole", Admitted: 2, Throttled: 1},
	}, RateCounts(calls))
	assert.Empty(t, RateCounts(nil))
}
