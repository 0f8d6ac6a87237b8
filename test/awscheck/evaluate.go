package awscheck

import (
	"fmt"
	"slices"
	"strings"

	"github.com/supportaccess/gateway/internal/policy"
)

// evalRequest is one call as a resource-based policy (a trust policy or a key policy) sees it.
type evalRequest struct {
	action   string // "sts:AssumeRole", "kms:Sign", ...
	resource string // the key's ARN for a key policy; "" for a trust policy, which has no Resource
	// principal reports whether and how a statement's Principal names the caller.
	principal func(*policy.Principal) principalMatch
	// context holds the condition keys this front end can evaluate for the call, lower-cased. A key
	// present with nil values is one the call could carry but does not (AssumeRole without
	// ExternalId); a key missing from the map is one this front end does not evaluate.
	context map[string][]string
}

// verdict is the outcome of evaluating one policy for one call.
type verdict struct {
	allowed      bool
	explicitDeny bool   // refused by a Deny statement, not for want of an Allow
	reason       string // which statement decided, or why none allowed
}

// evaluate decides a call the way IAM decides a resource-based policy on its own: an applicable
// Deny statement refuses; otherwise an applicable Allow statement admits; otherwise the call is
// refused. A statement this front end cannot evaluate fails closed: a Deny is taken to apply and an
// Allow not to.
func evaluate(doc policy.Document, req evalRequest) verdict {
	for i, s := range doc.Statement {
		if s.Effect != policy.Deny {
			continue
		}
		switch o, _, why := check(s, req); o {
		case applies:
			return verdict{explicitDeny: true, reason: fmt.Sprintf("explicit deny in statement %s", statementName(i, s))}
		case unsupported:
			return verdict{explicitDeny: true, reason: fmt.Sprintf(
				"Deny statement %s taken to apply (fail closed): %s", statementName(i, s), why)}
		}
	}
	var notes []string
	delegated := "" // the first applicable Allow that names only the caller's account
	for i, s := range doc.Statement {
		if s.Effect != policy.Allow {
			continue
		}
		switch o, m, why := check(s, req); {
		case o == applies && m == byName:
			return verdict{allowed: true, reason: fmt.Sprintf("allowed by statement %s", statementName(i, s))}
		case o == applies:
			if delegated == "" {
				delegated = statementName(i, s)
			}
		case o == unsupported:
			notes = append(notes, fmt.Sprintf("%s taken not to apply (fail closed): %s", statementName(i, s), why))
		default:
			if why != "" {
				notes = append(notes, statementName(i, s)+": "+why)
			}
		}
	}
	if delegated != "" {
		return verdict{allowed: true, reason: fmt.Sprintf("allowed by statement %s, which names the caller's account: "+
			"in AWS the account's IAM policies then decide, and this front end takes them to allow", delegated)}
	}
	reason := "no statement allows " + req.action
	if len(notes) > 0 {
		reason += " (" + strings.Join(notes, "; ") + ")"
	}
	return verdict{reason: reason}
}

func statementName(i int, s policy.Statement) string {
	if s.Sid != "" {
		return s.Sid
	}
	return fmt.Sprintf("#%d", i)
}

// outcome is whether a statement applies to a call.
type outcome int

const (
	notApplicable outcome = iota
	applies
	unsupported // it has a condition this front end does not evaluate
)

// principalMatch is how a statement's Principal names the caller.
type principalMatch int

const (
	noMatch   principalMatch = iota
	byName                   // the caller's ARN, its session's, or "*"
	byAccount                // the caller's account ("ACCT" or its root): AWS delegates to the account's IAM policies
)

// check decides whether s applies to req, and how its Principal names the caller. why says what
// failed for a statement whose action matches ("" when the action does not: such a statement is
// not worth a note).
func check(s policy.Statement, req evalRequest) (outcome, principalMatch, string) {
	if !actionMatches(s, req.action) || !resourceMatches(s, req.resource) {
		return notApplicable, noMatch, ""
	}
	m := noMatch
	if s.Principal != nil {
		m = req.principal(s.Principal)
	}
	if m == noMatch {
		return notApplicable, m, "principal does not match"
	}
	o, why := conditionsHold(s.Condition, req.context)
	return o, m, why
}

// actionMatches applies Action or NotAction. Action names are case-insensitive in IAM.
func actionMatches(s policy.Statement, action string) bool {
	match := func(pattern string) bool { return wildcardMatch(strings.ToLower(pattern), strings.ToLower(action)) }
	switch {
	case len(s.Action) > 0:
		return slices.ContainsFunc(s.Action, match)
	case len(s.NotAction) > 0:
		return !slices.ContainsFunc(s.NotAction, match)
	}
	return false
}

// resourceMatches applies Resource or NotResource to a key policy's key ("*" is the key itself).
// Trust policies name no resource.
func resourceMatches(s policy.Statement, resource string) bool {
	match := func(pattern string) bool { return wildcardMatch(pattern, resource) }
	switch {
	case resource == "":
		return true
	case len(s.Resource) > 0:
		return slices.ContainsFunc(s.Resource, match)
	case len(s.NotResource) > 0:
		return !slices.ContainsFunc(s.NotResource, match)
	}
	return true
}

// operator is a condition operator without its IfExists suffix and set qualifier.
type operator struct {
	match   func(value, pattern string) bool
	negated bool // StringNotEquals, ArnNotLike, ...: holds when no pattern matches
}

func equals(v, p string) bool { return v == p }
func like(v, p string) bool   { return wildcardMatch(p, v) }

// operators are the condition operators this front end evaluates, by lower-cased name. ArnEquals
// and ArnLike are the same operator in IAM: both take wildcards in each ARN component.
var operators = map[string]operator{
	"stringequals":              {match: equals},
	"stringnotequals":           {match: equals, negated: true},
	"stringequalsignorecase":    {match: strings.EqualFold},
	"stringnotequalsignorecase": {match: strings.EqualFold, negated: true},
	"stringlike":                {match: like},
	"stringnotlike":             {match: like, negated: true},
	"arnequals":                 {match: arnMatch},
	"arnlike":                   {match: arnMatch},
	"arnnotequals":              {match: arnMatch, negated: true},
	"arnnotlike":                {match: arnMatch, negated: true},
}

// qualifier is the set operator of a condition on a multi-valued key.
type qualifier int

const (
	single       qualifier = iota
	forAllValues           // ForAllValues: every value in the request matches (vacuously true for none)
	forAnyValue            // ForAnyValue: some value in the request matches
)

// condition is one parsed condition operator.
type condition struct {
	name     string // as written, for reasons
	op       operator
	set      qualifier
	ifExists bool
}

func parseOperator(name string) (condition, bool) {
	c := condition{name: name}
	rest := name
	if q, r, ok := strings.Cut(rest, ":"); ok {
		switch strings.ToLower(q) {
		case "forallvalues":
			c.set = forAllValues
		case "foranyvalue":
			c.set = forAnyValue
		default:
			return condition{}, false
		}
		rest = r
	}
	if base, ok := cutSuffixFold(rest, "IfExists"); ok {
		c.ifExists, rest = true, base
	}
	op, ok := operators[strings.ToLower(rest)]
	c.op = op
	return c, ok
}

func cutSuffixFold(s, suffix string) (string, bool) {
	if len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}

// holds evaluates the condition for one key: values are the request's (nil: the key is absent),
// patterns the policy's.
func (c condition) holds(values []string, patterns []string) bool {
	if values == nil {
		switch {
		case c.ifExists:
			return true
		case c.set == forAllValues:
			return true
		case c.set == forAnyValue:
			return false
		}
		return c.op.negated // a negated operator holds for a key the request does not carry
	}
	ok := func(v string) bool {
		matched := slices.ContainsFunc(patterns, func(p string) bool { return c.op.match(v, p) })
		return matched != c.op.negated
	}
	if c.set == forAllValues {
		return !slices.ContainsFunc(values, func(v string) bool { return !ok(v) })
	}
	return slices.ContainsFunc(values, ok)
}

// conditionsHold evaluates a statement's Condition block: every operator and every key must hold.
// An operator or key this front end does not evaluate makes the outcome unsupported, whatever the
// others say, so that a Deny fails closed regardless of map order.
func conditionsHold(cond policy.Condition, context map[string][]string) (outcome, string) {
	type clause struct {
		c        condition
		key      string
		patterns []string
	}
	var clauses []clause
	for _, name := range sortedKeys(cond) {
		c, ok := parseOperator(name)
		if !ok {
			return unsupported, "unsupported condition operator " + name
		}
		for _, key := range sortedKeys(cond[name]) {
			if _, ok := context[strings.ToLower(key)]; !ok {
				return unsupported, fmt.Sprintf("unsupported condition key %s (in %s)", key, name)
			}
			clauses = append(clauses, clause{c: c, key: key, patterns: cond[name][key]})
		}
	}
	for _, cl := range clauses {
		if !cl.c.holds(context[strings.ToLower(cl.key)], cl.patterns) {
			// Name the operator and key, never the values: they may be an ExternalId.
			return notApplicable, fmt.Sprintf("condition %s %s not met", cl.c.name, cl.key)
		}
	}
	return applies, ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// wildcardMatch matches s against an IAM pattern, where * matches any run of characters
// (including none) and ? exactly one. It is case-sensitive.
func wildcardMatch(pattern, s string) bool {
	p, v := []rune(pattern), []rune(s)
	pi, vi := 0, 0
	star, mark := -1, 0 // the last * seen, and where in v it started matching
	for vi < len(v) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, vi
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == v[vi]):
			pi++
			vi++
		case star >= 0:
			mark++
			pi, vi = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// arnMatch is ArnEquals/ArnLike: each of the six colon-separated parts of the ARN matches its
// part of the pattern, with wildcards; the resource part may itself contain colons.
func arnMatch(value, pattern string) bool {
	v, p := strings.SplitN(value, ":", 6), strings.SplitN(pattern, ":", 6)
	if len(v) != 6 || len(p) != 6 {
		return false
	}
	for i := range v {
		if !wildcardMatch(p[i], v[i]) {
			return false
		}
	}
	return true
}
