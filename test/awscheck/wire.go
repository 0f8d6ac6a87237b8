package awscheck

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/supportaccess/gateway/test/internal/awswire"
)

// apiError is a refusal as the AWS API answers it.
type apiError struct {
	status  int
	code    string
	message string
}

// Refusals, with the codes and HTTP statuses AWS answers them with.
func accessDenied(msg string) *apiError { return &apiError{http.StatusForbidden, "AccessDenied", msg} }
func invalidIdentityToken(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidIdentityToken", msg}
}
func validationError(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationError", msg}
}
func kmsAccessDenied(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "AccessDeniedException", msg}
}

// idpCommunicationError is STS's answer when it cannot fetch the IdP's discovery document or keys.
var idpCommunicationError = &apiError{http.StatusBadRequest, "IDPCommunicationError",
	"Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements"}

// internalError is the answer when the front end cannot decide (moto's IAM or KMS failed it). The
// SDK retries it, as it would AWS's.
func internalError(service, msg string) *apiError {
	code := "InternalFailure"
	if service == "kms" {
		code = "KMSInternalException"
	}
	return &apiError{http.StatusInternalServerError, code, "awscheck: " + msg}
}

// write sends e in the wire format of service: the query protocol's XML for STS, JSON 1.1 for KMS.
func (e *apiError) write(w http.ResponseWriter, service, requestID string) {
	var body []byte
	h := w.Header()
	h.Set("X-Amzn-Requestid", requestID)
	if service == "kms" {
		body, _ = json.Marshal(map[string]string{"__type": e.code, "message": e.message}) // strings: cannot fail
		h.Set("Content-Type", "application/x-amz-json-1.1")
	} else {
		body = awswire.QueryError("https://sts.amazonaws.com/doc/"+stsVersion+"/", e.status, e.code, e.message, requestID)
		h.Set("Content-Type", "text/xml")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	_, _ = w.Write(body) // the client may be gone
}
