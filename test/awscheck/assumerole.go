package awscheck

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// chainedSessionLimit is the longest session STS grants a role session assuming another role.
const chainedSessionLimit = 3600

// checkAssumeRole decides sts:AssumeRole: the role must exist and its trust policy admit the caller.
func (s *Server) checkAssumeRole(ctx context.Context, c call, who caller) ruling {
	requested := c.form.Get("RoleArn")
	d := Decision{Principal: who.String(), Target: requested}
	refuse := func(e *apiError, reason string) ruling {
		d.Reason = reason
		return ruling{decision: d, refusal: e}
	}
	denied := accessDenied(fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", who, requested))

	arn, ok := parseRoleARN(requested)
	if !ok {
		return refuse(validationError(fmt.Sprintf("%s is invalid", requested)), "RoleArn is not a role ARN")
	}
	if !who.known() {
		return refuse(denied, who.unknownReason())
	}
	r, found, err := s.getRole(ctx, arn)
	switch {
	case err != nil:
		return refuse(internalError(c.service, err.Error()), "cannot read the role: "+err.Error())
	case !found:
		return refuse(denied, "no role "+requested+" (GetRole: no such role with this path and name)")
	}
	d.Target = r.arn

	keys := map[string][]string{
		"sts:externalid":   nil,
		"aws:principalarn": {who.arn},
	}
	if c.form.Has("ExternalId") {
		keys["sts:externalid"] = []string{c.form.Get("ExternalId")}
	}
	v := evaluate(r.trust, evalRequest{action: "sts:AssumeRole", principal: who.matchesAWS, context: keys})
	if !v.allowed {
		return refuse(denied, "trust policy: "+v.reason)
	}
	if e, reason := checkDuration(c.form, r, strings.Contains(who.arn, ":role/")); e != nil {
		return refuse(e, reason)
	}
	d.Reason = "trust policy: " + v.reason
	roleARN := r.arn
	return ruling{decision: d, issued: func(key, sessionARN string) caller {
		return sessionCaller(key, roleARN, sessionARN)
	}}
}

// checkDuration refuses a DurationSeconds longer than the role allows, or (for a role session
// assuming a role: role chaining) longer than an hour.
func checkDuration(form url.Values, r role, chained bool) (*apiError, string) {
	if !form.Has("DurationSeconds") {
		return nil, ""
	}
	secs, err := strconv.Atoi(form.Get("DurationSeconds"))
	switch {
	case err != nil:
		return validationError("DurationSeconds must be a number"), "DurationSeconds is not a number"
	case r.maxSessionDuration > 0 && secs > int(r.maxSessionDuration):
		return validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role."),
			fmt.Sprintf("DurationSeconds %d exceeds the role's MaxSessionDuration %d", secs, r.maxSessionDuration)
	case chained && secs > chainedSessionLimit:
		return validationError("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."),
			fmt.Sprintf("DurationSeconds %d exceeds the 1 hour limit of role chaining", secs)
	}
	return nil, ""
}
