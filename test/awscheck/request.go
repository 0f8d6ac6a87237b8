package awscheck

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
)

const (
	// maxCheckedBody bounds the body of a call this front end reads (STS and KMS calls: a
	// web-identity token is at most 20,000 characters, a KMS message 4,096 bytes).
	maxCheckedBody = 1 << 20
	// maxForwardedBody bounds every other body, which is streamed to moto unread.
	maxForwardedBody = 64 << 20
)

// stsVersion is the query API version of STS; unsigned calls (AssumeRoleWithWebIdentity) are
// recognised by it.
const stsVersion = "2011-06-15"

// call is what the front end knows about a request before deciding it.
type call struct {
	service string // signing name of the SigV4 credential scope, or "sts"/"kms" for recognised unsigned calls
	action  string // "AssumeRole", "Sign", ...; "" for calls this front end does not read
	key     string // access key ID of the SigV4 credential; "" when unsigned
	region  string // region of the credential scope
	form    url.Values
	body    []byte // the KMS call's JSON
}

// checked reports whether the call is one this front end decides.
func (c call) checked() bool {
	switch c.service + ":" + c.action {
	case "sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "kms:Sign", "kms:GenerateMac", "kms:VerifyMac":
		return true
	}
	return false
}

var errBodyTooLarge = errors.New("request body too large")

// identify finds the service, action and caller of r. It reads the body only of calls it may have
// to decide, and puts the same bytes back for forwarding.
func identify(r *http.Request) (call, error) {
	c := credentialScope(r)
	switch {
	case (c.service == "kms" || c.service == "") && strings.HasPrefix(r.Header.Get("X-Amz-Target"), "TrentService."):
		body, err := readBody(r)
		if err != nil {
			return call{}, err
		}
		c.service, c.action, c.body = "kms", strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService."), body
	case (c.service == "sts" || c.service == "") && r.Method == http.MethodPost &&
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		body, err := readBody(r)
		if err != nil {
			return call{}, err
		}
		form, err := url.ParseQuery(string(body))
		if err != nil || (c.service == "" && form.Get("Version") != stsVersion) {
			return c, nil // not an STS call; moto makes of it what it can
		}
		c.service, c.action, c.form = "sts", form.Get("Action"), form
	}
	return c, nil
}

// credentialScope reads Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, ...
func credentialScope(r *http.Request) call {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return call{}
	}
	scope, _, _ := strings.Cut(cred, ",")
	parts := strings.Split(strings.TrimSpace(scope), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return call{}
	}
	return call{key: parts[0], region: parts[2], service: parts[3]}
}

// readBody reads r's body, at most maxCheckedBody bytes, and replaces it with the same bytes.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCheckedBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxCheckedBody {
		return nil, errBodyTooLarge
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength, r.TransferEncoding = int64(len(body)), nil
	return body, nil
}
