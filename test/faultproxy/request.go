package faultproxy

import (
	"net/http"
	"net/url"
	"strings"
)

// protocol is the AWS wire protocol of a request; it decides the shape of injected errors.
type protocol int

const (
	restXMLProtocol protocol = iota // S3, and anything not recognised as below
	queryProtocol                   // IAM, STS, SNS, CloudFormation: form body with Action=...
	jsonProtocol                    // DynamoDB, KMS, Organizations: X-Amz-Target header
)

// request is what the proxy knows about a call.
type request struct {
	service, operation string
	path               string // the URL path: for S3, the bucket and the key
	protocol           protocol
	version            string // query protocol: the API version, e.g. 2010-05-08
	contentType        string // JSON protocol: application/x-amz-json-1.0 or -1.1
}

// Services of unsigned calls (sts:AssumeRoleWithWebIdentity, ...), by query API
// version or X-Amz-Target prefix.
var (
	serviceByVersion = map[string]string{
		"2010-05-08": "iam",
		"2011-06-15": "sts",
		"2010-03-31": "sns",
		"2010-05-15": "cloudformation",
	}
	serviceByTargetPrefix = map[string]string{
		"DynamoDB_20120810":         "dynamodb",
		"TrentService":              "kms",
		"AWSOrganizationsV20161128": "organizations",
	}
)

// identify finds the service, operation and protocol of r, whose body has been read into body.
func identify(r *http.Request, body []byte) request {
	req := request{service: signingName(r), path: r.URL.Path}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		prefix, op, _ := strings.Cut(target, ".")
		req.protocol, req.operation = jsonProtocol, op
		if req.service == "" {
			req.service = serviceByTargetPrefix[prefix]
		}
		req.contentType = r.Header.Get("Content-Type")
		if !strings.HasPrefix(req.contentType, "application/x-amz-json") {
			req.contentType = "application/x-amz-json-1.0"
		}
		return req
	}
	if form := queryForm(r, body); form.Get("Action") != "" {
		req.protocol, req.operation, req.version = queryProtocol, form.Get("Action"), form.Get("Version")
		if req.service == "" {
			req.service = serviceByVersion[req.version]
		}
		return req
	}
	req.protocol, req.operation = restXMLProtocol, s3Operation(r)
	return req
}

// signingName is the service of the SigV4 credential scope, from the
// Authorization header or a pre-signed URL's X-Amz-Credential: AKID/date/region/service/aws4_request.
func signingName(r *http.Request) string {
	scope := r.URL.Query().Get("X-Amz-Credential")
	if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		scope, _, _ = strings.Cut(cred, ",")
	}
	parts := strings.Split(strings.TrimSpace(scope), "/")
	if len(parts) < 4 || parts[len(parts)-1] != "aws4_request" {
		return ""
	}
	return parts[len(parts)-2]
}

// queryForm is the query-protocol request: a urlencoded POST body, or (rarely) the URL's query.
func queryForm(r *http.Request, body []byte) url.Values {
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil {
			return form
		}
	}
	if q := r.URL.Query(); q.Get("Version") != "" {
		return q
	}
	return nil
}

// s3Subresources name bucket and object configurations addressed as ?policy, ?tagging, ...
var s3Subresources = []string{
	"acl", "cors", "encryption", "lifecycle", "notification", "ownershipControls",
	"policy", "publicAccessBlock", "tagging", "versioning", "website",
}

// s3Operation approximates the S3 operation of a path-style request:
// GET / is ListBuckets; PUT /bucket CreateBucket; GET /bucket ListObjects(V2);
// GET /bucket?policy GetBucketPolicy; PUT /bucket/key PutObject; and so on.
func s3Operation(r *http.Request) string {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	verb := map[string]string{
		http.MethodGet: "Get", http.MethodPut: "Put", http.MethodDelete: "Delete",
		http.MethodHead: "Head", http.MethodPost: "Post",
	}[r.Method]
	if verb == "" {
		verb = r.Method
	}
	kind := "Object"
	if key == "" {
		kind = "Bucket"
	}
	for _, sub := range s3Subresources {
		if q.Has(sub) {
			return verb + kind + strings.ToUpper(sub[:1]) + sub[1:]
		}
	}
	switch {
	case bucket == "" && r.Method == http.MethodGet:
		return "ListBuckets"
	case kind == "Bucket" && r.Method == http.MethodPut:
		return "CreateBucket"
	case kind == "Bucket" && r.Method == http.MethodGet && q.Get("list-type") == "2":
		return "ListObjectsV2"
	case kind == "Bucket" && r.Method == http.MethodGet:
		return "ListObjects"
	case kind == "Bucket" && r.Method == http.MethodPost && q.Has("delete"):
		return "DeleteObjects"
	}
	return verb + kind
}
