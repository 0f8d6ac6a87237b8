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

// reconciler reaches the account through its management role and touches only what acct.Owned
// lists as the vendor's.
func (r *Reconciling) reconciler(acct ManagedAccount) *gateway.Reconciler {
	return &gateway.Reconciler{IAM: r.IAM(acct), Budget: r.Budget, Logger: r.Logger, Owned: append([]string{}, acct.Owned...)}
}

// Apply proves the role and converges the account; its outputs are the ARNs the stack can output.
// A resource it would manage that exists but that the vendor did not create stops it before any
// change (*gateway.NotOwnedError); what it is about to create goes to own first.
func (r *Reconciling) Apply(ctx context.Context, acct ManagedAccount, own func(context.Context, []string) error) (map[string]string, []string, error) {
	if err := r.Check.Verify(ctx, acct); err != nil {
		return nil, nil, err
	}
	d := r.desired(acct)
	rec := r.reconciler(acct)
	var created []string
	rec.Claim = func(ctx context.Context, arns []string) error {
		if err := own(ctx, arns); err != nil {
			return err
		}
		created = mergeARNs(created, arns)
		return nil
	}
	rep, err := rec.Reconcile(ctx, d, gateway.Present)
	var notOwned *gateway.NotOwnedError
	if errors.As(err, &notOwned) {
		return nil, created, err
	}
	if err != nil {
		return nil, created, fmt.Errorf("%s could not set up its support role in this account (%s); nothing outside its own "+
			"role, policy and identity providers was touched: %w", r.Vendor.Name, progress(rep), err)
	}
	r.log().InfoContext(ctx, "account converged", "account", acct.AccountID, "steps", len(rep.Applied), "waves", rep.Waves)
	return outputs(r.Vendor, acct.Target()), created, nil
}

// outputs are what the management stack's hook answers as its Data: the ARNs the vendor manages.
func outputs(v policy.Vendor, t policy.Target) map[string]string {
	return map[string]string{
		"SupportRoleArn":             v.SupportRoleARN(t),
		"PrimaryIdentityProviderArn": v.ProviderARN(t, 0),
		"StandbyIdentityProviderArn": v.ProviderARN(t, 1),
	}
}

// Remove deletes what the vendor created in the account (acct.Owned), and nothing else. If the
// management role cannot be assumed any more, it says what was left behind and returns ErrRoleGone.
func (r *Reconciling) Remove(ctx context.Context, acct ManagedAccount) error {
	if len(acct.Owned) == 0 {
		return nil
	}
	d := r.desired(acct)
	// A refusal that outlasts the budget means the role is gone or no longer trusts the vendor.
	if err := r.Check.Assume(ctx, acct); err != nil {
		if awsx.IsAccessDenied(err) {
			err = errors.Join(ErrRoleGone, err)
		}
		return &LeftoversError{Leftovers: acct.Owned, Err: err}
	}
	rep, err := r.reconciler(acct).Reconcile(ctx, d, gateway.Absent)
	if err == nil {
		r.log().InfoContext(ctx, "account cleaned", "account", acct.AccountID, "steps", len(rep.Applied))
		return nil
	}
	if awsx.IsAccessDenied(err) {
		err = errors.Join(ErrRoleGone, err)
	}
	return &LeftoversError{Leftovers: acct.Owned, Err: err}
}

func (r *Reconciling) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func progress(rep gateway.Report) string {
	if len(rep.Applied) == 0 {
		return "no change was made"
	}
	return fmt.Sprintf("%d of its changes were attempted", len(rep.Applied))
}
