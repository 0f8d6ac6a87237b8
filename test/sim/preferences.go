package sim

import (
	"errors"
	"fmt"
)

// How StackSets pace an operation over accounts, as the AWS CloudFormation User Guide ("StackSet
// operation options", stacksets-concepts.html#stackset-ops-options) and the API reference
// (StackSetOperationPreferences) document it:
//
//   - Maximum concurrent accounts: MaxConcurrentCount, or MaxConcurrentPercentage of the operation's
//     accounts, "rounds down to the next whole number", except that a result of zero is one; not
//     both; by default 1.
//   - Failure tolerance: FailureToleranceCount, or FailureTolerancePercentage of the accounts,
//     rounded down; not both; by default 0. One failure more stops the operation: accounts not
//     started by then are not attempted.
//   - ConcurrencyMode STRICT_FAILURE_TOLERANCE, the default, "dynamically lowers the concurrency
//     level to ensure the number of failed accounts never exceeds the value of FailureToleranceCount
//     +1. The initial actual concurrency is set to the lower of either the value of the
//     MaxConcurrentCount, or the value of FailureToleranceCount +1", and is lowered by one for each
//     failure. SOFT_FAILURE_TOLERANCE runs at the maximum whatever fails.
//
// So a StackSet that tolerates no failure (FailureTolerancePercentage 0, as the committed template
// has it) deploys to one account at a time under the default mode, whatever its maximum.
// RegionConcurrencyType and RegionOrder do not matter here: the simulation has one region.

// Concurrency modes.
const (
	StrictFailureTolerance = "STRICT_FAILURE_TOLERANCE"
	SoftFailureTolerance   = "SOFT_FAILURE_TOLERANCE"
)

// OperationPreferences are a StackSet operation's options as a template or the API gives them;
// zero is unset (MaxConcurrent* and FailureTolerancePercentage), or 0 (FailureToleranceCount).
type OperationPreferences struct {
	MaxConcurrentCount, MaxConcurrentPercentage       int
	FailureToleranceCount, FailureTolerancePercentage int
	ConcurrencyMode                                   string // "": StrictFailureTolerance
}

// Preferences are OperationPreferences resolved for an operation over a number of accounts.
type Preferences struct {
	MaxConcurrent    int // accounts at a time, at most
	FailureTolerance int // failed accounts tolerated; one more stops the operation
	Mode             string
}

// For resolves the preferences for an operation over n accounts.
func (p OperationPreferences) For(n int) (Preferences, error) {
	var errs []error
	if p.MaxConcurrentCount != 0 && p.MaxConcurrentPercentage != 0 {
		errs = append(errs, errors.New("MaxConcurrentCount and MaxConcurrentPercentage: specify one, not both"))
	}
	if p.FailureToleranceCount != 0 && p.FailureTolerancePercentage != 0 {
		errs = append(errs, errors.New("FailureToleranceCount and FailureTolerancePercentage: specify one, not both"))
	}
	if p.MaxConcurrentCount < 0 || p.FailureToleranceCount < 0 || p.MaxConcurrentPercentage < 0 || p.MaxConcurrentPercentage > 100 ||
		p.FailureTolerancePercentage < 0 || p.FailureTolerancePercentage > 100 {
		errs = append(errs, fmt.Errorf("operation preferences out of range: %+v", p))
	}
	mode := p.ConcurrencyMode
	switch mode {
	case "":
		mode = StrictFailureTolerance
	case StrictFailureTolerance, SoftFailureTolerance:
	default:
		errs = append(errs, fmt.Errorf("ConcurrencyMode %q is not %s or %s", mode, StrictFailureTolerance, SoftFailureTolerance))
	}
	if err := errors.Join(errs...); err != nil {
		return Preferences{}, err
	}
	out := Preferences{MaxConcurrent: 1, FailureTolerance: p.FailureToleranceCount, Mode: mode}
	switch {
	case p.MaxConcurrentCount > 0:
		out.MaxConcurrent = p.MaxConcurrentCount
	case p.MaxConcurrentPercentage > 0:
		out.MaxConcurrent = max(1, p.MaxConcurrentPercentage*n/100)
	}
	if p.FailureTolerancePercentage > 0 {
		out.FailureTolerance = p.FailureTolerancePercentage * n / 100
	}
	return out, nil
}

// Concurrency is how many accounts may be in progress at once after failed accounts have failed:
// the maximum; in the strict mode no more than could fail without the failures exceeding the
// tolerance by more than one.
func (p Preferences) Concurrency(failed int) int {
	if p.Mode == SoftFailureTolerance {
		return p.MaxConcurrent
	}
	return max(1, min(p.MaxConcurrent, p.FailureTolerance+1-failed))
}

// operationPreferences reads the StackSet resource's OperationPreferences.
func operationPreferences(p *props) (OperationPreferences, error) {
	p.used["OperationPreferences"] = true
	m, _ := p.m["OperationPreferences"].(map[string]any)
	out := OperationPreferences{
		MaxConcurrentCount: intOf(m["MaxConcurrentCount"]), MaxConcurrentPercentage: intOf(m["MaxConcurrentPercentage"]),
		FailureToleranceCount: intOf(m["FailureToleranceCount"]), FailureTolerancePercentage: intOf(m["FailureTolerancePercentage"]),
	}
	if mode, ok := m["ConcurrencyMode"].(string); ok {
		out.ConcurrencyMode = mode
	}
	for k := range m {
		switch k {
		case "MaxConcurrentCount", "MaxConcurrentPercentage", "FailureToleranceCount", "FailureTolerancePercentage",
			"ConcurrencyMode", "RegionConcurrencyType", "RegionOrder":
		default:
			return out, fmt.Errorf("OperationPreferences.%s is not simulated", k)
		}
	}
	_, err := out.For(1)
	return out, err
}
