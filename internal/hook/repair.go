package hook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// ReconcilingConfig is how the provisioning step is built on the vendor's own AWS config.
type ReconcilingConfig struct {
	Vendor            policy.Vendor
	Budget            time.Duration // IAM propagation budget
	Thumbprints       []string
	SkipNegativeProbe bool // only where STS ignores trust policies (moto)
	Logger            *slog.Logger
}

// NewReconciling builds the provisioning step: the hook Lambda and the repair command use the same.
// Each account is reached by assuming its management role with its ExternalId.
func NewReconciling(cfg aws.Config, c ReconcilingConfig) *Reconciling {
	stsClient := sts.NewFromConfig(cfg)
	session := c.Vendor.ManagedByTag() + "-hook" // shows in the customer's CloudTrail
	return &Reconciling{
		Check:  &RoleCheck{STS: stsClient, Budget: c.Budget, SessionName: session, SkipNegativeProbe: c.SkipNegativeProbe},
		Vendor: c.Vendor,
		IAM: func(acct ManagedAccount) gateway.IAMAPI {
			return iam.NewFromConfig(awsx.AssumeRoleConfig(cfg, stsClient, acct.RoleARN, acct.ExternalID, session))
		},
		Thumbprints: c.Thumbprints,
		Budget:      c.Budget,
		Logger:      c.Logger,
	}
}

// Plan is the dry run: what Apply would change in the account, without changing it.
func (r *Reconciling) Plan(ctx context.Context, acct ManagedAccount) ([]gateway.Step, error) {
	if err := r.Check.Verify(ctx, acct); err != nil {
		return nil, err
	}
	return r.reconciler(acct).Diff(ctx, r.desired(acct), gateway.Present)
}

// Accounts is the part of the registry the repair command reads.
type Accounts interface {
	Get(ctx context.Context, account string, kind registry.Kind) (registry.Onboarding, bool, error)
	ListByStatus(ctx context.Context, status registry.Status) ([]registry.Onboarding, error)
}

// Repair converges registered accounts now: drift repair, or rolling a new policy version to every
// customer. With dryRun it prints each account's plan and changes nothing.
func Repair(ctx context.Context, reg Accounts, p *Reconciling, accounts []string, dryRun bool, out io.Writer) error {
	var targets []registry.Onboarding
	if len(accounts) == 0 {
		all, err := reg.ListByStatus(ctx, registry.Registered)
		if err != nil {
			return err
		}
		for _, o := range all {
			if o.Kind == registry.Management {
				targets = append(targets, o)
			}
		}
	}
	for _, a := range accounts {
		o, found, err := reg.Get(ctx, a, registry.Management)
		if err != nil {
			return err
		}
		if !found || o.Status != registry.Registered {
			return fmt.Errorf("account %s has no registered management stack", a)
		}
		targets = append(targets, o)
	}
	var errs []error
	for _, o := range targets {
		acct, err := managedAccount(o)
		if err == nil {
			err = repairOne(ctx, p, acct, dryRun, out)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("account %s: %w", o.AccountID, err))
			fmt.Fprintf(out, "%s\tFAILED\t%v\n", o.AccountID, err)
		}
	}
	return errors.Join(errs...)
}

func repairOne(ctx context.Context, p *Reconciling, acct ManagedAccount, dryRun bool, out io.Writer) error {
	if dryRun {
		steps, err := p.Plan(ctx, acct)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s\t%d changes\n", acct.AccountID, len(steps))
		for _, s := range steps {
			fmt.Fprintf(out, "\t%s\n", s)
		}
		return nil
	}
	if _, err := p.Apply(ctx, acct); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\tconverged\n", acct.AccountID)
	return nil
}

func managedAccount(o registry.Onboarding) (ManagedAccount, error) {
	a, err := parseARN(o.RoleARN)
	if err != nil {
		return ManagedAccount{}, err
	}
	return ManagedAccount{AccountID: o.AccountID, Partition: a.Partition, RoleARN: o.RoleARN, ExternalID: o.ExternalID,
		BoundaryARN: o.BoundaryARN, Features: policy.Features{Runbooks: o.Runbooks, Diagnostic: o.DiagnosticTool},
		TemplateVersion: o.TemplateVersion}, nil
}
