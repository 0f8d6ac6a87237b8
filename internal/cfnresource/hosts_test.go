package cfnresource

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResponseHostsCheck(t *testing.T) {
	const key = "/arn%3Aaws%3Acloudformation%3Aus-east-1%3A111122223333%3Astack/s/5b918d10%7CHook%7Cr-1"
	const query = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=" + signature
	hosts := ResponseHosts{Extra: []string{"127.0.0.1:8080", "Bucket.Local:9000"}}
	tests := map[string]struct {
		url  string
		want string // empty: allowed
	}{
		"virtual-hosted, global endpoint":     {"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com" + key + query, ""},
		"virtual-hosted, legacy dash form":    {"https://cloudformation-custom-resource-response-uswest2.s3-us-west-2.amazonaws.com" + key + query, ""},
		"virtual-hosted, regional":            {"https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com" + key + query, ""},
		"virtual-hosted, dual-stack":          {"https://cloudformation-custom-resource-response-apsoutheast2.s3.dualstack.ap-southeast-2.amazonaws.com" + key + query, ""},
		"virtual-hosted, China":               {"https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn" + key + query, ""},
		"virtual-hosted, China dual-stack":    {"https://cloudformation-custom-resource-response-cnnorthwest1.s3.dualstack.cn-northwest-1.amazonaws.com.cn" + key + query, ""},
		"virtual-hosted, GovCloud":            {"https://cloudformation-custom-resource-response-usgovwest1.s3.us-gov-west-1.amazonaws.com" + key + query, ""},
		"virtual-hosted, s3-external-1":       {"https://cloudformation-custom-resource-response-useast1.s3-external-1.amazonaws.com" + key + query, ""},
		"host case does not matter":           {"HTTPS://CloudFormation-Custom-Resource-Response-UsEast1.S3.AmazonAWS.com" + key + query, ""},
		"path-style, global":                  {"https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1" + key + query, ""},
		"path-style, regional":                {"https://s3.us-west-2.amazonaws.com/cloudformation-custom-resource-response-uswest2" + key + query, ""},
		"path-style, dual-stack China":        {"https://s3.dualstack.cn-north-1.amazonaws.com.cn/cloudformation-custom-resource-response-cnnorth1" + key + query, ""},
		"extra host, http":                    {"http://127.0.0.1:8080" + key + query, ""},
		"extra host, https":                   {"https://127.0.0.1:8080" + key + query, ""},
		"extra host, case-insensitive":        {"http://bucket.local:9000" + key + query, ""},
		"http to a response bucket":           {"http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com" + key + query, `scheme "http" is not https`},
		"foreign host":                        {"https://evil.example.com" + key + query, `host "evil.example.com" is not a CloudFormation response bucket`},
		"bucket name under a foreign host":    {"https://cloudformation-custom-resource-response-useast1.evil.example.com" + key + query, "is not a CloudFormation response bucket"},
		"S3 host as a foreign subdomain":      {"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.evil.example.com" + key + query, "is not a CloudFormation response bucket"},
		"trailing dot":                        {"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com." + key + query, "is not a CloudFormation response bucket"},
		"another bucket, virtual-hosted":      {"https://attacker-bucket.s3.amazonaws.com" + key + query, "is not a CloudFormation response bucket"},
		"another bucket, path-style":          {"https://s3.amazonaws.com/attacker-bucket" + key + query, "is not a CloudFormation response bucket"},
		"bucket lookalike":                    {"https://cloudformation-custom-resource-response-useast1-evil.s3.amazonaws.com" + key + query, "is not a CloudFormation response bucket"},
		"made-up region":                      {"https://cloudformation-custom-resource-response-moon1.s3.amazonaws.com" + key + query, "is not a CloudFormation response bucket"},
		"region mismatch":                     {"https://cloudformation-custom-resource-response-useast1.s3.eu-west-1.amazonaws.com" + key + query, "is not a CloudFormation response bucket"},
		"China bucket on the global endpoint": {"https://cloudformation-custom-resource-response-cnnorth1.s3.amazonaws.com" + key + query, "is not a CloudFormation response bucket"},
		"China suffix on a commercial region": {"https://cloudformation-custom-resource-response-useast1.s3.us-east-1.amazonaws.com.cn" + key + query, "is not a CloudFormation response bucket"},
		"path-style dot segments":             {"https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1/../attacker-bucket/k" + query, "is not a CloudFormation response bucket"},
		"path-style encoded dot segments":     {"https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1/%2e%2E/attacker-bucket/k" + query, "is not a CloudFormation response bucket"},
		"path-style bucket without key":       {"https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1" + query, "is not a CloudFormation response bucket"},
		"port on a response bucket":           {"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com:8443" + key + query, "has a port"},
		"user information":                    {"https://user:secret@cloudformation-custom-resource-response-useast1.s3.amazonaws.com" + key + query, "carries user information"},
		"extra host, other port":              {"http://127.0.0.1:8081" + key + query, `scheme "http" is not https`},
		"extra host, other scheme":            {"ftp://127.0.0.1:8080" + key + query, `scheme "ftp" is not http(s)`},
		"IP address":                          {"https://52.216.0.1" + key + query, "is not a CloudFormation response bucket"},
		"relative":                            {key + query, "not an absolute URL"},
		"empty":                               {"", "not an absolute URL"},
		"opaque":                              {"https:cloudformation-custom-resource-response-useast1.s3.amazonaws.com" + key, "not an absolute URL"},
		"does not parse":                      {"https://cloudformation custom" + key + "%zz" + query, "not an absolute URL"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := hosts.Check(tc.url)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			if tc.url != "" {
				assert.NotContains(t, err.Error(), tc.url)
			}
			assert.NotContains(t, err.Error(), "/", "no path")
			assert.NotContains(t, err.Error(), "?", "no query")
			assert.NotContains(t, err.Error(), signature)
			if u, perr := url.Parse(tc.url); perr == nil && u.User != nil {
				assert.NotContains(t, err.Error(), "secret")
			}
		})
	}
}

func TestResponseHostsEmptyExtraMatchesNothing(t *testing.T) {
	assert.Error(t, ResponseHosts{Extra: []string{""}}.Check("http:///key"))
}

// A response bucket must be the stack's own region's (review finding: a bucket named for a region
// that does not exist could belong to anyone, who would then read the answers to its forged events).
func TestResponseHostsCheckForTheStacksRegion(t *testing.T) {
	const stack = "arn:aws:cloudformation:us-east-1:111122223333:stack/s/1"
	for name, tc := range map[string]struct {
		url, stack string
		ok         bool
	}{
		"the stack's region, virtual-hosted": {"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/k?X-Amz-Signature=a", stack, true},
		"the stack's region, path-style":     {"https://s3.us-east-1.amazonaws.com/cloudformation-custom-resource-response-useast1/k", stack, true},
		"another real region":                {"https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/k", stack, false},
		"a region that does not exist":       {"https://cloudformation-custom-resource-response-zznorth9.s3.amazonaws.com/k", stack, false},
		"path-style, made-up region":         {"https://s3.amazonaws.com/cloudformation-custom-resource-response-qqsouthwest42/x", stack, false},
		"both made up alike still pass here": {"https://cloudformation-custom-resource-response-zznorth9.s3.amazonaws.com/k",
			"arn:aws:cloudformation:zz-north-9:111122223333:stack/s/1", true}, // the hook refuses regions it does not serve
		"a StackId that is not an ARN": {"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/k", "nope", false},
	} {
		t.Run(name, func(t *testing.T) {
			err := ResponseHosts{}.CheckFor(tc.url, tc.stack)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
	assert.NoError(t, ResponseHosts{Extra: []string{"127.0.0.1:9"}}.CheckFor("http://127.0.0.1:9/k", "nope"), "local runs")
}
