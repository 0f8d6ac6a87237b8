package awscheck

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/supportaccess/gateway/internal/policy"
)

// maxSessionPolicy is the longest inline session policy this front end lets through. STS's real
// limit is on the packed (compressed) size of the policy and the session tags together
// (PackedPolicyTooLarge); a plain 2,048-character limit on the policy is a close, stricter stand-in.
const maxSessionPolicy = 2048

// notAuthorizedWebIdentity is STS's message for every refusal of the role's trust policy.
const notAuthorizedWebIdentity = "Not authorized to perform sts:AssumeRoleWithWebIdentity"

// checkWebIdentity decides sts:AssumeRoleWithWebIdentity: the role must exist, the token must be
// one the role's account's identity provider vouches for, and the role's trust policy must admit
// the provider, with the token's aud, sub and session tags.
func (s *Server) checkWebIdentity(ctx context.Context, c call) ruling {
	requested := c.form.Get("RoleArn")
	d := Decision{Principal: "web identity", Target: requested}
	refuse := func(e *apiError, reason string) ruling {
		d.Reason = reason
		return ruling{decision: d, refusal: e}
	}

	arn, ok := parseRoleARN(requested)
	if !ok {
		return refuse(validationError(fmt.Sprintf("%s is invalid", requested)), "RoleArn is not a role ARN")
	}
	r, found, err := s.getRole(ctx, arn)
	switch {
	case err != nil:
		return refuse(internalError(c.service, err.Error()), "cannot read the role: "+err.Error())
	case !found:
		return refuse(accessDenied(notAuthorizedWebIdentity), "no role "+requested+" (GetRole: no such role with this path and name)")
	}
	d.Target = r.arn
	if c.form.Get("ProviderId") != "" {
		return refuse(accessDenied(notAuthorizedWebIdentity),
			"ProviderId (OAuth 2.0 access tokens of Amazon, Facebook, Google) is not evaluated by this front end")
	}
	if n := len(c.form.Get("Policy")); n > maxSessionPolicy {
		return refuse(&apiError{400, "PackedPolicyTooLarge", "Packed size of consumed session policies exceeds the allowed limit."},
			fmt.Sprintf("inline session policy has %d characters, more than %d", n, maxSessionPolicy))
	}

	tok, e, reason := s.verifyToken(ctx, arn, c.form.Get("WebIdentityToken"))
	if tok.provider != "" {
		d.Principal = tok.provider
	}
	if e != nil {
		return refuse(e, reason)
	}

	federated := func(p *policy.Principal) principalMatch {
		if slices.Contains(p.Federated, tok.provider) {
			return byName
		}
		return noMatch
	}
	req := evalRequest{
		action:    "sts:AssumeRoleWithWebIdentity",
		principal: federated,
		context: map[string][]string{
			strings.ToLower(tok.path + ":aud"): {tok.aud},
			strings.ToLower(tok.path + ":sub"): {tok.sub},
			"aws:tagkeys":                      tok.tagKeys,
		},
	}
	v := evaluate(r.trust, req)
	if !v.allowed {
		return refuse(accessDenied(notAuthorizedWebIdentity), fmt.Sprintf("sub %q: trust policy: %s", tok.sub, v.reason))
	}
	d.Reason = fmt.Sprintf("sub %q: trust policy: %s", tok.sub, v.reason)
	if len(tok.tagKeys) > 0 {
		req.action = "sts:TagSession"
		tags := evaluate(r.trust, req)
		if !tags.allowed {
			return refuse(accessDenied(notAuthorizedWebIdentity), fmt.Sprintf(
				"token carries session tags %q, and the trust policy does not allow sts:TagSession: %s", tok.tagKeys, tags.reason))
		}
		d.Reason += "; session tags " + strings.Join(tok.tagKeys, ",") + ": " + tags.reason
	}
	if e, reason := checkDuration(c.form, r, false); e != nil {
		return refuse(e, reason)
	}
	roleARN := r.arn
	return ruling{decision: d, issued: func(key, sessionARN string) caller {
		return sessionCaller(key, roleARN, sessionARN)
	}}
}
