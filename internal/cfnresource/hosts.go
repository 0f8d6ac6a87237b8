package cfnresource

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// ResponseHosts decides which ResponseURL hosts may be answered: CloudFormation's response buckets
// (https only; cloudformation-custom-resource-response-<region> on S3, virtual-hosted or
// path-style, including dual-stack and China endpoints) plus Extra, exact host[:port] entries for
// local tests, which may be http.
//
// The check matters because the URL comes from the event, and anyone allowed to publish to the
// topic or invoke the function can forge an event: answering a foreign host would hand it the
// resource's Data.
type ResponseHosts struct{ Extra []string }

// Region names as they appear in S3 endpoints (us-east-1, us-gov-west-1, cn-north-1) and, without
// dashes, in the response bucket's name (useast1).
const (
	regionDirections = `(?:north|south|east|west|central|northeast|northwest|southeast|southwest)`
	regionPattern    = `[a-z]{2}-(?:gov-|iso[a-z]?-)?` + regionDirections + `-[0-9]{1,2}`
	bucketPattern    = `cloudformation-custom-resource-response-([a-z]{2}(?:gov|iso[a-z]?)?` + regionDirections + `[0-9]{1,2})`
)

var (
	responseBucket = regexp.MustCompile(`^` + bucketPattern + `$`)
	// s3Endpoint matches S3's global, legacy (s3-<region>), regional and dual-stack endpoints.
	s3Endpoint = regexp.MustCompile(`^(?:s3(?:-external-1)?\.amazonaws\.com|s3(?:\.dualstack\.|[.-])(` + regionPattern + `)\.amazonaws\.com(\.cn)?)$`)
)

// Check returns nil when rawURL may be answered. Its errors never contain the URL, its path or its
// query (the signature); they name the host at most.
func (h ResponseHosts) Check(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("the response URL is not an absolute URL")
	}
	if u.User != nil {
		return errors.New("the response URL carries user information")
	}
	host := strings.ToLower(u.Host)
	if h.isExtra(host) {
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Errorf("the response URL scheme %s is not http(s)", quoteClipped(u.Scheme))
		}
		return nil
	}
	if u.Scheme != "https" {
		return fmt.Errorf("the response URL scheme %s is not https", quoteClipped(u.Scheme))
	}
	if u.Port() != "" {
		return fmt.Errorf("the response URL host %s has a port; CloudFormation's do not", quoteClipped(host))
	}
	if isResponseBucketURL(strings.ToLower(u.Hostname()), u.EscapedPath()) {
		return nil
	}
	return fmt.Errorf("the response URL host %s is not a CloudFormation response bucket", quoteClipped(host))
}

// CheckFor is Check, and, for a CloudFormation response bucket, that the bucket is the one of the
// stack's region: CloudFormation answers a stack's custom resources through its own region's
// bucket, and a request that names another (a region that does not exist, whose bucket name anyone
// might own) is forged.
func (h ResponseHosts) CheckFor(rawURL, stackID string) error {
	if err := h.Check(rawURL); err != nil {
		return err
	}
	u, _ := url.Parse(rawURL) // Check parsed it
	if h.isExtra(strings.ToLower(u.Host)) {
		return nil
	}
	bucketRegion := responseBucketRegion(strings.ToLower(u.Hostname()), u.EscapedPath())
	parts := strings.SplitN(stackID, ":", 6)
	if len(parts) != 6 || strings.ReplaceAll(parts[3], "-", "") != bucketRegion {
		return errors.New("the response URL's bucket is not the response bucket of the stack's region")
	}
	return nil
}

// responseBucketRegion is the region (without dashes) in the name of the response bucket the URL
// addresses, virtual-hosted or path-style; "" if none.
func responseBucketRegion(host, escapedPath string) string {
	bucket, _, _ := strings.Cut(host, ".")
	if m := responseBucket.FindStringSubmatch(bucket); m != nil {
		return m[1]
	}
	bucket, _, _ = strings.Cut(strings.TrimPrefix(escapedPath, "/"), "/")
	if m := responseBucket.FindStringSubmatch(bucket); m != nil {
		return m[1]
	}
	return ""
}

func (h ResponseHosts) isExtra(host string) bool {
	for _, extra := range h.Extra {
		if extra != "" && strings.EqualFold(extra, host) {
			return true
		}
	}
	return false
}

// isResponseBucketURL reports whether host (lower case, no port) and path address an object in a
// CloudFormation response bucket, virtual-hosted (bucket.endpoint/key) or path-style
// (endpoint/bucket/key).
func isResponseBucketURL(host, escapedPath string) bool {
	if bucket, endpoint, ok := strings.Cut(host, "."); ok && responseBucket.MatchString(bucket) {
		return bucketOnEndpoint(bucket, endpoint)
	}
	// Path-style: the host is any S3 endpoint, so the bucket in the path is what counts, and a dot
	// segment could move the request to another bucket.
	bucket, key, ok := strings.Cut(strings.TrimPrefix(escapedPath, "/"), "/")
	if !ok || key == "" || !responseBucket.MatchString(bucket) {
		return false
	}
	for segment := range strings.SplitSeq(key, "/") {
		if s, err := url.PathUnescape(segment); err != nil || s == "." || s == ".." {
			return false
		}
	}
	return bucketOnEndpoint(bucket, host)
}

// bucketOnEndpoint reports whether the response bucket may be reached at the S3 endpoint: a
// regional endpoint must be the bucket's own region, and China's endpoints serve China's regions only.
func bucketOnEndpoint(bucket, endpoint string) bool {
	m := s3Endpoint.FindStringSubmatch(endpoint)
	if m == nil {
		return false
	}
	bucketRegion := responseBucket.FindStringSubmatch(bucket)[1]
	endpointRegion, china := m[1], m[2] != ""
	if endpointRegion == "" {
		return !strings.HasPrefix(bucketRegion, "cn")
	}
	return strings.ReplaceAll(endpointRegion, "-", "") == bucketRegion &&
		china == strings.HasPrefix(endpointRegion, "cn-")
}
