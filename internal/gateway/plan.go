package gateway

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/supportaccess/gateway/internal/policy"
)

// Goal is where a reconcile converges to.
type Goal int

const (
	// Present: everything desired exists as desired.
	Present Goal = iota
	// Absent: nothing the vendor owns is left.
	Absent
)

// Op is one kind of change.
type Op string

// The changes a plan can hold, named after the IAM call (or pair of calls) that makes them.
const (
	CreateProvider      Op = "CreateOpenIDConnectProvider"
	RecreateProvider    Op = "RecreateOpenIDConnectProvider" // wrong client IDs: delete, then create
	UpdateThumbprints   Op = "UpdateOpenIDConnectProviderThumbprint"
	TagProvider         Op = "TagOpenIDConnectProvider"
	DeleteProvider      Op = "DeleteOpenIDConnectProvider"
	CreatePolicy        Op = "CreatePolicy"
	CreatePolicyVersion Op = "CreatePolicyVersion" // Arg: the oldest version to delete first, at the 5-version limit
	SetDefaultVersion   Op = "SetDefaultPolicyVersion"
	TagPolicy           Op = "TagPolicy"
	DeletePolicyVersion Op = "DeletePolicyVersion"
	DeletePolicy        Op = "DeletePolicy"
	CreateRole          Op = "CreateRole"
	UpdateTrust         Op = "UpdateAssumeRolePolicy"
	UpdateRole          Op = "UpdateRole"
	PutBoundary         Op = "PutRolePermissionsBoundary"
	TagRole             Op = "TagRole"
	AttachPolicy        Op = "AttachRolePolicy"
	DetachPolicy        Op = "DetachRolePolicy"
	DeleteInlinePolicy  Op = "DeleteRolePolicy"
	DeleteRole          Op = "DeleteRole"
)

// MaxPolicyVersions is IAM's limit on versions of one managed policy.
const MaxPolicyVersions = 5

// Step is one change. Steps of one wave are independent and run concurrently; a wave starts when
// the one before has finished.
type Step struct {
	Wave   int
	Op     Op
	Target string // the ARN (or name) changed
	Arg    string // the policy to attach or detach, the version, the inline policy
}

func (s Step) String() string {
	out := fmt.Sprintf("wave %d: %s %s", s.Wave, s.Op, s.Target)
	if s.Arg != "" {
		out += " (" + s.Arg + ")"
	}
	return out
}

// Plan is the pure diff: the steps that take observed to the goal. An empty plan means converged.
func Plan(d Desired, o Observed, goal Goal) []Step {
	var steps []Step
	if goal == Absent {
		steps = planAbsent(d, o)
	} else {
		steps = planPresent(d, o)
	}
	sortSteps(steps)
	return steps
}

// sortSteps orders steps by wave, then by a fixed order within the wave, so plans are comparable
// and print the same way every time.
func sortSteps(steps []Step) {
	slices.SortStableFunc(steps, func(a, b Step) int {
		return cmp.Or(cmp.Compare(a.Wave, b.Wave), cmp.Compare(a.Op, b.Op), cmp.Compare(a.Target, b.Target), cmp.Compare(a.Arg, b.Arg))
	})
}

func planPresent(d Desired, o Observed) []Step {
	var steps []Step
	add := func(wave int, op Op, target, arg string) { steps = append(steps, Step{wave, op, target, arg}) }

	// Wave 0: providers and the policy depend on nothing.
	providersNew := false
	for _, want := range d.Providers {
		got := o.Providers[want.ARN]
		switch {
		case got == nil:
			add(0, CreateProvider, want.ARN, "")
			providersNew = true
		case !sameSet(got.ClientIDs, want.ClientIDs):
			add(0, RecreateProvider, want.ARN, "")
			providersNew = true
		default:
			if want.Thumbprints != nil && !sameSet(got.Thumbprints, want.Thumbprints) {
				add(0, UpdateThumbprints, want.ARN, "")
			}
			if !hasTags(got.Tags, d.Tags) {
				add(0, TagProvider, want.ARN, "")
			}
		}
	}
	policyNew := false
	switch p := o.Policy; {
	case p == nil:
		add(0, CreatePolicy, d.Policy.ARN, "")
		policyNew = true
	default:
		if !policy.Equivalent(p.Document, d.Policy.Document) {
			if v, ok := versionMatching(p.Versions, d.Policy.Document); ok {
				add(0, SetDefaultVersion, d.Policy.ARN, v)
			} else {
				add(0, CreatePolicyVersion, d.Policy.ARN, oldestToPrune(p.Versions))
			}
		}
		if !hasTags(p.Tags, d.Tags) {
			add(0, TagPolicy, d.Policy.ARN, "")
		}
	}

	// The role's trust names the providers: it waits for them only if they are being created.
	trustWave := 0
	if providersNew {
		trustWave = 1
	}
	roleNew := false
	var attached []string
	switch r := o.Role; {
	case r == nil:
		add(trustWave, CreateRole, d.Role.ARN, "")
		roleNew = true
	default:
		attached = r.Attached
		if !policy.Equivalent(r.Trust, d.Role.Trust) {
			add(trustWave, UpdateTrust, d.Role.ARN, "")
		}
		if r.Boundary != d.Role.Boundary {
			add(0, PutBoundary, d.Role.ARN, d.Role.Boundary)
		}
		if r.Description != d.Role.Description || r.MaxSessionDuration != d.Role.MaxSessionDuration {
			add(0, UpdateRole, d.Role.ARN, "")
		}
		if !hasTags(r.Tags, d.Tags) {
			add(0, TagRole, d.Role.ARN, "")
		}
	}

	// Attachments wait for what they attach: the role if it is new, the vendor's policy if new.
	for _, arn := range d.Attachments {
		if slices.Contains(attached, arn) {
			continue
		}
		wave := 0
		if roleNew {
			wave = trustWave + 1
		}
		if arn == d.Policy.ARN && policyNew {
			wave = max(wave, 1)
		}
		add(wave, AttachPolicy, d.Role.ARN, arn)
	}
	return steps
}

func planAbsent(d Desired, o Observed) []Step {
	var steps []Step
	add := func(wave int, op Op, target, arg string) { steps = append(steps, Step{wave, op, target, arg}) }
	for _, p := range d.Providers {
		if o.Providers[p.ARN] != nil {
			add(0, DeleteProvider, p.ARN, "")
		}
	}
	ourAttachment := 0
	if r := o.Role; r != nil {
		// IAM deletes a role only once nothing is attached or inline, whoever put it there.
		for _, arn := range r.Attached {
			add(0, DetachPolicy, d.Role.ARN, arn)
			if arn == d.Policy.ARN {
				ourAttachment = 1
			}
		}
		for _, name := range r.Inline {
			add(0, DeleteInlinePolicy, d.Role.ARN, name)
		}
		add(1, DeleteRole, d.Role.ARN, "")
	}
	// IAM deletes a policy only once it is detached everywhere and has only its default version. One
	// attached elsewhere (a customer's own role) is left alone: the management role may not detach it.
	if p := o.Policy; p != nil && p.Attachments <= ourAttachment {
		for _, v := range p.Versions {
			if !v.Default {
				add(0, DeletePolicyVersion, d.Policy.ARN, v.ID)
			}
		}
		add(1, DeletePolicy, d.Policy.ARN, "")
	}
	return steps
}

// versionMatching finds a stored version whose document is the desired one.
func versionMatching(versions []PolicyVersion, want policy.Document) (string, bool) {
	for _, v := range versions {
		if v.Document != nil && policy.Equivalent(*v.Document, want) {
			return v.ID, true
		}
	}
	return "", false
}

// oldestToPrune is the version to delete before creating one more, if the policy is at IAM's limit.
func oldestToPrune(versions []PolicyVersion) string {
	if len(versions) < MaxPolicyVersions {
		return ""
	}
	for _, v := range versions {
		if !v.Default {
			return v.ID
		}
	}
	return ""
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

// hasTags reports whether got holds every tag of want with the same value (other tags are the
// customer's business).
func hasTags(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// Waves is the number of sequential waves of a plan: its critical path in AWS round trips.
func Waves(steps []Step) int {
	n := 0
	for _, s := range steps {
		n = max(n, s.Wave+1)
	}
	return n
}
