package hook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/policy"
)

// Reconciling is the provisioning step: it proves the management role (RoleCheck), then converges
// the account through it to what the vendor manages there (internal/gateway): present on Create
// and Update, absent on Delete.
type Reconciling struct {
	Check  *RoleCheck
	Vendor policy.Vendor
	// IAM returns an IAM client that acts as the account's management role, with its ExternalId.
	IAM         func(acct ManagedAccount) gateway.IAMAPI
	Thumbprints []string      // the issuer's certificate thumbprints, if the vendor manages them
	Budget      time.Duration // IAM propagation budget per step; default awsx.PropagationBudget
	Logger      *slog.Logger
}

var _ Provisioner = (*Reconciling)(nil)

func (r *Reconciling) desired(acct ManagedAccount) gateway.Desired {
	return gateway.DesiredState(r.Vendor, acct.Target(), gateway.Options{
		Features: acct.Features, TemplateVersion: acct.TemplateVersion, Thumbprints: r.Thumbprints})
}

func (r *Reconciling) reconciler(acct ManagedAccount) *gateway.Reconciler {
	return &gateway.Reconciler{IAM: r.IAM(acct), Budget: r.Budget, Logger: r.Logger}
}

// Apply proves the role and converges the account; its outputs are the ARNs the stack can output.
func (r *Reconciling) Apply(ctx context.Context, acct ManagedAccount) (map[string]string, error) {
	if err := r.Check.Verify(ctx, acct); err != nil {
		return nil, unchanged{err}
	}
	d := r.desired(acct)
	rep, err := r.reconciler(acct).Reconcile(ctx, d, gateway.Present)
	if err != nil {
		return nil, fmt.Errorf("%s could not set up its support role in this account (%s); nothing outside its own "+
			"role, policy and identity providers was touched: %w", r.Vendor.Name, progress(rep), err)
	}
	r.log().InfoContext(ctx, "account converged", "account", acct.AccountID, "steps", len(rep.Applied), "waves", rep.Waves)
	return map[string]string{
		"SupportRoleArn":             d.Role.ARN,
		"PrimaryIdentityProviderArn": d.Providers[0].ARN,
		"StandbyIdentityProviderArn": d.Providers[1].ARN,
	}, nil
}

// unchanged marks an Apply error that came before any change: there is nothing to undo.
type unchanged struct{ error }

func (u unchanged) Unwrap() error { return u.error }

// Remove deletes everything the vendor owns in the account. If the management role cannot be
// assumed any more, it says what was left behind, as best it knows, and returns ErrRoleGone.
func (r *Reconciling) Remove(ctx context.Context, acct ManagedAccount) error {
	d := r.desired(acct)
	// A refusal that outlasts the budget means the role is gone or no longer trusts the vendor.
	if err := r.Check.Assume(ctx, acct); err != nil {
		if awsx.IsAccessDenied(err) {
			err = errors.Join(ErrRoleGone, err)
		}
		return &LeftoversError{Leftovers: owned(d), Err: err}
	}
	rep, err := r.reconciler(acct).Reconcile(ctx, d, gateway.Absent)
	if err == nil {
		r.log().InfoContext(ctx, "account cleaned", "account", acct.AccountID, "steps", len(rep.Applied))
		return nil
	}
	if awsx.IsAccessDenied(err) {
		err = errors.Join(ErrRoleGone, err)
	}
	return &LeftoversError{Leftovers: owned(d), Err: err}
}

func (r *Reconciling) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// owned lists what the vendor may have left in an account.
func owned(d gateway.Desired) []string {
	out := []string{d.Role.ARN, d.Policy.ARN}
	for _, p := range d.Providers {
		out = append(out, p.ARN)
	}
	return out
}

func progress(rep gateway.Report) string {
	if len(rep.Applied) == 0 {
		return "no change was made"
	}
	return fmt.Sprintf("%d of its changes were attempted", len(rep.Applied))
}
