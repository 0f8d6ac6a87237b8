package gateway

import (
	"fmt"
	"slices"
	"strings"
)

// What the reconciler may delete is what it created, and nothing else: an account can hold the same
// identity providers made by the customer's own support-gateway stack, and deleting those would cut
// that stack's sessions off. So the vendor records, before it creates anything, the ARNs it is
// about to create (Reconciler.Claim), and later touches only those (Reconciler.Owned). Ownership is
// never inferred from a tag, which anyone (and the other template) can write.

// NotOwnedError is a desired resource that exists but that the vendor did not create.
type NotOwnedError struct {
	ARNs []string
}

func (e *NotOwnedError) Error() string {
	return fmt.Sprintf("%s already exist in this account and were not created by the vendor", strings.Join(e.ARNs, ", "))
}

// Unowned lists the desired resources that exist in o but are not in owned, in a fixed order.
func Unowned(d Desired, o Observed, owned []string) []string {
	var out []string
	for _, arn := range existing(d, o) {
		if !slices.Contains(owned, arn) {
			out = append(out, arn)
		}
	}
	return out
}

// OnlyOwned is o with every resource not in owned taken out, as if absent: a plan towards Absent
// made from it deletes only what the vendor created.
func OnlyOwned(d Desired, o Observed, owned []string) Observed {
	out := Observed{Providers: map[string]*ObservedProvider{}}
	for arn, p := range o.Providers {
		if slices.Contains(owned, arn) {
			out.Providers[arn] = p
		}
	}
	if slices.Contains(owned, d.Role.ARN) {
		out.Role = o.Role
	}
	if slices.Contains(owned, d.Policy.ARN) {
		out.Policy = o.Policy
	}
	return out
}

// Creates lists the ARNs a plan creates, in a fixed order (a recreated provider is created too).
func Creates(steps []Step) []string {
	var out []string
	for _, s := range steps {
		switch s.Op {
		case CreateProvider, RecreateProvider, CreatePolicy, CreateRole:
			if !slices.Contains(out, s.Target) {
				out = append(out, s.Target)
			}
		}
	}
	slices.Sort(out)
	return out
}

// existing lists the desired resources o holds.
func existing(d Desired, o Observed) []string {
	var out []string
	for _, p := range d.Providers {
		if o.Providers[p.ARN] != nil {
			out = append(out, p.ARN)
		}
	}
	if o.Role != nil {
		out = append(out, d.Role.ARN)
	}
	if o.Policy != nil {
		out = append(out, d.Policy.ARN)
	}
	slices.Sort(out)
	return out
}

// ARNs lists every resource of d.
func (d Desired) ARNs() []string {
	out := []string{d.Role.ARN, d.Policy.ARN}
	for _, p := range d.Providers {
		out = append(out, p.ARN)
	}
	slices.Sort(out)
	return out
}
