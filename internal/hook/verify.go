package hook

import (
	"context"
	"fmt"
	"time"

	"github.com/supportaccess/gateway/internal/awsx"
)

// RoleCheck is the provisioning step until the reconciler exists: it proves the management role is
// the vendor's and changes nothing. Apply assumes the role with the ExternalId (retrying while IAM
// propagates a role created seconds ago) and, unless told otherwise, checks that assuming it
// without the ExternalId fails, as AWS advises. Remove has nothing to remove: RoleCheck creates
// nothing.
type RoleCheck struct {
	STS         awsx.STSAPI
	Budget      time.Duration // default awsx.PropagationBudget
	Backoff     awsx.Backoff  // zero: awsx.DefaultBackoff
	SessionName string        // shows in the customer's CloudTrail
	// SkipNegativeProbe skips the "not without the ExternalId" check. Only for endpoints that do not
	// evaluate trust policies (moto); the trust policy's condition is proven by iam-simulate instead.
	SkipNegativeProbe bool
}

var _ Provisioner = (*RoleCheck)(nil)

// Apply proves the role; it has no outputs and creates nothing.
func (c *RoleCheck) Apply(ctx context.Context, acct ManagedAccount, _ func(context.Context, []string) error) (map[string]string, []string, error) {
	return nil, nil, c.Verify(ctx, acct)
}

// Assume assumes the role with its ExternalId, retrying AccessDenied within the budget (IAM
// propagating a role created seconds ago, or a passing refusal).
func (c *RoleCheck) Assume(ctx context.Context, acct ManagedAccount) error {
	budget, backoff := c.Budget, c.Backoff
	if budget == 0 {
		budget = awsx.PropagationBudget
	}
	if backoff == (awsx.Backoff{}) {
		backoff = awsx.DefaultBackoff
	}
	return awsx.Retry(ctx, budget, backoff, awsx.IsAccessDenied, func(ctx context.Context) error {
		return awsx.AssumeOnce(ctx, c.STS, acct.RoleARN, acct.ExternalID, c.session())
	})
}

// Verify proves the role.
func (c *RoleCheck) Verify(ctx context.Context, acct ManagedAccount) error {
	err := c.Assume(ctx, acct)
	if awsx.IsAccessDenied(err) {
		return fmt.Errorf("the management role %s cannot be assumed with this stack's ExternalId: check that the stack's "+
			"AccountNumberParameter and ExternalId are the ones in the link, then update the stack (%w)", acct.RoleARN, err)
	}
	if err != nil {
		return fmt.Errorf("the management role could not be verified, try again: %w", err)
	}
	if c.SkipNegativeProbe {
		return nil
	}
	err = awsx.AssumeOnce(ctx, c.STS, acct.RoleARN, "", c.session())
	switch {
	case err == nil:
		return fmt.Errorf("the management role %s can be assumed without an ExternalId: its trust policy was changed; "+
			"restore it by updating the stack with the published template", acct.RoleARN)
	case !awsx.IsAccessDenied(err):
		return fmt.Errorf("the management role could not be verified, try again: %w", err)
	}
	return nil
}

// Remove has nothing to remove.
func (c *RoleCheck) Remove(context.Context, ManagedAccount) error { return nil }

func (c *RoleCheck) session() string {
	if c.SessionName != "" {
		return c.SessionName
	}
	return "support-gateway-hook"
}
