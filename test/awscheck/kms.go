package awscheck

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/supportaccess/gateway/test/moto"
)

// kmsInput is the part of a Sign, GenerateMac or VerifyMac request a key policy's conditions read.
type kmsInput struct {
	KeyID            string `json:"KeyId"`
	MessageType      string `json:"MessageType"`
	SigningAlgorithm string `json:"SigningAlgorithm"`
	MacAlgorithm     string `json:"MacAlgorithm"`
}

// checkKMS decides kms:Sign, kms:GenerateMac and kms:VerifyMac by the key's key policy alone.
func (s *Server) checkKMS(ctx context.Context, c call, who caller) ruling {
	action := "kms:" + c.action
	d := Decision{Principal: who.String()}
	refuse := func(e *apiError, reason string) ruling {
		d.Reason = reason
		return ruling{decision: d, refusal: e}
	}
	var in kmsInput
	if err := json.Unmarshal(c.body, &in); err != nil || in.KeyID == "" {
		return refuse(&apiError{400, "ValidationException", "awscheck: cannot read the request's KeyId"},
			"request body is not JSON with a KeyId")
	}
	d.Target = in.KeyID
	account, region := who.account, c.region
	if parts := strings.SplitN(in.KeyID, ":", 6); len(parts) == 6 && parts[0] == "arn" {
		region, account = parts[3], parts[4] // a key or alias ARN names its key's place
	}
	if region == "" {
		region = moto.Region
	}
	k, found, err := s.getKey(ctx, account, region, in.KeyID)
	switch {
	case err != nil:
		return refuse(internalError(c.service, err.Error()), "cannot read the key: "+err.Error())
	case !found:
		// KMS itself answers NotFoundException for a key that does not exist; so does moto.
		d.Reason = fmt.Sprintf("no key %s in account %s, %s: forwarded for moto to answer NotFoundException", in.KeyID, account, region)
		return ruling{decision: d}
	}
	d.Target = k.arn
	if !who.known() {
		return refuse(kmsAccessDenied(fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because no resource-based policy allows the %s action",
			who, action, k.arn, action)), who.unknownReason())
	}

	keys := map[string][]string{
		"aws:principalarn":     {who.arn},
		"kms:signingalgorithm": nil,
		"kms:messagetype":      nil,
		"kms:macalgorithm":     nil,
	}
	switch c.action {
	case "Sign":
		keys["kms:signingalgorithm"] = []string{in.SigningAlgorithm}
		keys["kms:messagetype"] = []string{"RAW"} // KMS's default
		if in.MessageType != "" {
			keys["kms:messagetype"] = []string{in.MessageType}
		}
	default:
		keys["kms:macalgorithm"] = []string{in.MacAlgorithm}
	}
	v := evaluate(k.policy, evalRequest{action: action, resource: k.arn, principal: who.matchesAWS, context: keys})
	switch {
	case v.explicitDeny:
		return refuse(kmsAccessDenied(fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s with an explicit deny in a key policy",
			who, action, k.arn)), "key policy: "+v.reason)
	case !v.allowed:
		return refuse(kmsAccessDenied(fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because no resource-based policy allows the %s action",
			who, action, k.arn, action)), "key policy: "+v.reason)
	}
	d.Reason = "key policy: " + v.reason
	return ruling{decision: d}
}
