package faultproxy

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
		assert.False(t, a.take("iam", "CreateRole", "/", t0), "another operation")
		assert.True(t, a.take("iam", "GetRole", "/", t0))
		assert.True(t, a.take("IAM", "getrole", "/", t0), "case-insensitive")
		assert.False(t, a.take("iam", "GetRole", "/", t0), "used up")
	})
	t.Run("For counts from the first call the rule handled", func(t *testing.T) {
		a := &activeRule{Rule: Rule{Service: "sts", Fault: AccessDenied, For: time.Second}}
		later := t0.Add(time.Hour)
		assert.True(t, a.take("sts", "AssumeRole", "/", later))
		assert.True(t, a.take("sts", "AssumeRole", "/", later.Add(999*time.Millisecond)))
		assert.False(t, a.take("sts", "AssumeRole", "/", later.Add(time.Second)))
	})
	t.Run("Times and For together", func(t *testing.T) {
		a := &activeRule{Rule: Rule{Fault: ServerError, Times: 5, For: time.Second}}
		assert.True(t, a.take("s3", "GetObject", "/", t0))
		assert.False(t, a.take("s3", "GetObject", "/", t0.Add(2*time.Second)), "For is over though Times is not")
	})
	t.Run("path prefix", func(t *testing.T) {
		a := &activeRule{Rule: Rule{Service: "s3", Operation: "PutObject", PathPrefix: "/responses/", Fault: Throttle}}
		assert.True(t, a.take("s3", "PutObject", "/responses/key", t0))
		assert.False(t, a.take("s3", "PutObject", "/issuer/key", t0), "another bucket")
	})
	t.Run("invalid rules", func(t *testing.T) {
		assert.Error(t, Rule{}.validate(), "no fault")
		assert.Error(t, Rule{Fault: AccessDenied + 1}.validate())
		assert.Error(t, Rule{Fault: Throttle, Times: -1}.validate())
		assert.NoError(t, Rule{Fault: Latency}.validate())
	})
}
