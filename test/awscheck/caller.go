package awscheck

import (
	"slices"
	"strings"

	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/test/moto"
)

// caller is who signed a request, as far as this front end knows.
type caller struct {
	key string // access key ID; only its last four characters are ever shown
	// arn is aws:PrincipalArn: the role (with its path) of an assumed-role session, or the ARN
	// Config.Principals gives a static key. "" for an unknown key.
	arn string
	// session is the assumed-role session ARN (arn:aws:sts::ACCT:assumed-role/NAME/SESSION) that
	// AWS names in its error messages; "" for a static key.
	session   string
	account   string
	partition string
}

// staticCaller is the caller a Config.Principals entry stands for.
func staticCaller(key, arn string) caller {
	partition, account := arnAccount(arn)
	return caller{key: key, arn: arn, partition: partition, account: account}
}

// sessionCaller is a session STS handed out for role roleARN (as GetRole spells it, path included).
func sessionCaller(key, roleARN, sessionARN string) caller {
	partition, account := arnAccount(roleARN)
	return caller{key: key, arn: roleARN, session: sessionARN, partition: partition, account: account}
}

// unknownCaller signed with a key this front end cannot place. moto puts such keys in its default
// account; here they match no principal at all.
func unknownCaller(key string) caller {
	return caller{key: key, partition: "aws", account: moto.DefaultAccountID}
}

func (c caller) known() bool { return c.arn != "" }

// String is the caller as AWS names it in error messages: the session ARN of a session.
func (c caller) String() string {
	switch {
	case c.session != "":
		return c.session
	case c.arn != "":
		return c.arn
	}
	return "anonymous"
}

// unknownReason explains why an unknown caller is refused.
func (c caller) unknownReason() string {
	key := "(none: unsigned)"
	if c.key != "" {
		key = "…" + c.key[max(0, len(c.key)-4):]
	}
	return "caller unknown: access key " + key + " is neither in Config.Principals nor handed out by STS " +
		"through this front end, so it is taken as moto's default account's anonymous caller, which no principal matches"
}

// matchesAWS reports whether a Principal's AWS entries name the caller: by name (its role or
// static ARN, its session ARN, or "*"), or by account ("ACCT" or its root ARN, which in AWS
// delegates the decision to the account's IAM policies).
func (c caller) matchesAWS(p *policy.Principal) principalMatch {
	if !c.known() {
		return noMatch
	}
	root := "arn:" + c.partition + ":iam::" + c.account + ":root"
	switch {
	case slices.ContainsFunc(p.AWS, func(v string) bool {
		return v == "*" || v == c.arn || (c.session != "" && v == c.session)
	}):
		return byName
	case slices.Contains(p.AWS, c.account) || slices.Contains(p.AWS, root):
		return byAccount
	}
	return noMatch
}

// arnAccount returns the partition and account fields of an ARN ("" if s is not one).
func arnAccount(s string) (partition, account string) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", ""
	}
	return parts[1], parts[4]
}

// roleARN is a parsed IAM role ARN.
type roleARN struct {
	partition, account string
	path               string // "/" or "/a/b/"
	name               string
}

func parseRoleARN(s string) (roleARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "iam" || parts[3] != "" ||
		!isAccountID(parts[4]) {
		return roleARN{}, false
	}
	rest, ok := strings.CutPrefix(parts[5], "role/")
	if !ok {
		return roleARN{}, false
	}
	i := strings.LastIndex(rest, "/")
	r := roleARN{partition: parts[1], account: parts[4], path: "/" + rest[:i+1], name: rest[i+1:]}
	return r, r.name != ""
}

func (r roleARN) String() string {
	return "arn:" + r.partition + ":iam::" + r.account + ":role" + r.path + r.name
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
