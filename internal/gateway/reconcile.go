package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/supportaccess/gateway/internal/awsx"
)

// Reconciler converges one account through an IAM client that acts as the management role.
type Reconciler struct {
	IAM       IAMAPI
	Budget    time.Duration // IAM propagation budget per step; default awsx.PropagationBudget
	Backoff   awsx.Backoff  // zero: awsx.DefaultBackoff
	MaxPasses int           // observe → plan → apply passes before giving up; default 3
	Logger    *slog.Logger
	// Sequential makes every call wait for the one before: only to measure, in the same run, what
	// running independent calls concurrently buys (make bench).
	Sequential bool
	// Owned, if not nil, is what the vendor created in the account (owned.go): towards Present, a
	// desired resource that exists but is not owned stops the reconcile with *NotOwnedError before
	// any change; towards Absent, only owned resources are deleted. nil: every desired resource is
	// the vendor's (tests and tools that own the whole account).
	Owned []string
	// Claim, if set, records ARNs as the vendor's right before a plan creates them; an error stops
	// the reconcile before the creation. Reconcile adds them to Owned.
	Claim func(ctx context.Context, arns []string) error
}

// Report says what a reconcile did.
type Report struct {
	Applied []Step // every step applied, in order
	Passes  int
	Waves   int // sequential waves applied: the apply part of the critical path
}

// Changed reports whether anything was changed.
func (r Report) Changed() bool { return len(r.Applied) > 0 }

// Diff observes the account and returns the plan without applying it: the dry run. AccessDenied is
// retried within the budget: right after the management stack is created, IAM may not honour the
// management role's policy yet.
func (r *Reconciler) Diff(ctx context.Context, d Desired, goal Goal) ([]Step, error) {
	var o Observed
	err := awsx.Retry(ctx, r.budget(), r.backoff(), awsx.IsAccessDenied, func(ctx context.Context) error {
		var err error
		o, err = observe(ctx, r.IAM, d, &group{sequential: r.Sequential})
		return err
	})
	if err != nil {
		return nil, err
	}
	if r.Owned != nil {
		if goal == Absent {
			o = OnlyOwned(d, o, r.Owned)
		} else if unowned := Unowned(d, o, r.Owned); len(unowned) > 0 {
			return nil, &NotOwnedError{ARNs: unowned}
		}
	}
	return Plan(d, o, goal), nil
}

func (r *Reconciler) budget() time.Duration {
	if r.Budget > 0 {
		return r.Budget
	}
	return awsx.PropagationBudget
}

func (r *Reconciler) backoff() awsx.Backoff {
	if r.Backoff != (awsx.Backoff{}) {
		return r.Backoff
	}
	return awsx.DefaultBackoff
}

// Reconcile converges the account to goal. It observes, plans and applies; it observes again only
// when IAM showed a state the plan did not expect (an entity created or deleted meanwhile). On an
// account already at goal it makes no call that changes anything.
func (r *Reconciler) Reconcile(ctx context.Context, d Desired, goal Goal) (Report, error) {
	passes := r.MaxPasses
	if passes <= 0 {
		passes = 3
	}
	a := &applier{iam: r.IAM, d: d, budget: r.budget(), backoff: r.backoff(), sequential: r.Sequential}
	var rep Report
	for rep.Passes < passes {
		rep.Passes++
		steps, err := r.Diff(ctx, d, goal)
		if err != nil {
			return rep, err
		}
		if len(steps) == 0 {
			return rep, nil
		}
		if creates := Creates(steps); len(creates) > 0 && r.Claim != nil {
			if err := r.Claim(ctx, creates); err != nil {
				return rep, fmt.Errorf("recording what is about to be created: %w", err)
			}
			for _, arn := range creates {
				if r.Owned != nil && !slices.Contains(r.Owned, arn) {
					r.Owned = append(r.Owned, arn)
				}
			}
		}
		r.log().InfoContext(ctx, "applying plan", "role", d.Role.ARN, "pass", rep.Passes, "steps", len(steps), "waves", Waves(steps))
		recheck, err := a.apply(ctx, steps)
		rep.Applied = append(rep.Applied, steps...)
		rep.Waves += Waves(steps)
		if err != nil {
			return rep, err
		}
		if !recheck {
			return rep, nil
		}
	}
	steps, err := r.Diff(ctx, d, goal)
	if err == nil && len(steps) > 0 {
		err = fmt.Errorf("still not converged after %d passes; left to do: %s", passes, describe(steps))
	}
	return rep, err
}

func (r *Reconciler) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func describe(steps []Step) string {
	var parts []string
	for _, s := range steps {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, "; ")
}
