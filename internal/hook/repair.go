package hook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
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

// Repair converges registered management accounts now: drift repair, or rolling a new policy
// version to every customer (accounts empty: all of them). With dryRun it prints each account's
// plan and changes nothing. An account whose management role can no longer be assumed (its stack
// was deleted while the hook could not finish the Delete, or its trust was changed) is offboarded:
// deregistered, its keys retired, and what the vendor made there recorded as left behind.
func (h *Hook) Repair(ctx context.Context, p *Reconciling, accounts []string, dryRun bool, out io.Writer) error {
	if len(accounts) == 0 {
		all, err := h.listRegistered(ctx)
		if err != nil {
			return err
		}
		accounts = all
	}
	var errs []error
	for _, a := range accounts {
		if err := h.repairOne(ctx, p, a, dryRun, out); err != nil {
			errs = append(errs, fmt.Errorf("account %s: %w", a, err))
			fmt.Fprintf(out, "%s\tFAILED\t%v\n", a, err)
		}
	}
	return errors.Join(errs...)
}

// Lister lists registrations by status (registry.Registry).
type Lister interface {
	ListByStatus(ctx context.Context, status registry.Status) ([]registry.Onboarding, error)
}

func (h *Hook) listRegistered(ctx context.Context) ([]string, error) {
	l, ok := h.Registry.(Lister)
	if !ok {
		return nil, errors.New("the registry cannot list registrations")
	}
	all, err := l.ListByStatus(ctx, registry.Registered)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range all {
		if o.Kind == registry.Management {
			out = append(out, o.AccountID)
		}
	}
	return out, nil
}

func (h *Hook) repairOne(ctx context.Context, p *Reconciling, account string, dryRun bool, out io.Writer) error {
	st, err := h.Registry.Account(ctx, account)
	if err != nil {
		return err
	}
	m := st.Management
	if m == nil || m.Status != registry.Registered {
		return fmt.Errorf("account %s has no registered management stack", account)
	}
	acct, err := managedAccount(*m)
	if err != nil {
		return err
	}
	if dryRun {
		steps, err := p.Plan(ctx, acct)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s\t%d changes\n", account, len(steps))
		for _, s := range steps {
			fmt.Fprintf(out, "\t%s\n", s)
		}
		return nil
	}
	c := claim{account: account, mgmt: managementProps{ExternalID: m.ExternalID}}
	_, _, err = p.Apply(ctx, acct, func(ctx context.Context, arns []string) error { return h.own(ctx, c, m.ExternalID, arns) })
	if awsx.IsAccessDenied(err) {
		h.endManagement(ctx, st, acct, "repair")
		fmt.Fprintf(out, "%s\tROLE_GONE\tthe management role can no longer be assumed: offboarded; left behind: %s\n",
			account, strings.Join(acct.Owned, ", "))
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\tconverged\n", account)
	return nil
}

func managedAccount(o registry.Onboarding) (ManagedAccount, error) {
	a, err := parseARN(o.RoleARN)
	if err != nil {
		return ManagedAccount{}, err
	}
	return ManagedAccount{AccountID: o.AccountID, Partition: a.Partition, RoleARN: o.RoleARN, ExternalID: o.ExternalID,
		BoundaryARN: o.BoundaryARN, Features: policy.Features{Runbooks: o.Runbooks, Diagnostic: o.DiagnosticTool},
		TemplateVersion: o.TemplateVersion, Owned: append([]string{}, o.Owned...)}, nil
}

// Sweep does what the hook left for later: it proves the gateway roles whose proof is due (claims
// queued by the pace or whose proof could not be made, registrations a Delete asked to re-check),
// and proves again every registration whose last proof is older than a day, so a Delete lost to an
// outage still ends its registration once the role is gone. It prints one line per account it
// proved.
func (h *Hook) Sweep(ctx context.Context, out io.Writer) error {
	l, ok := h.Registry.(Lister)
	if !ok {
		return errors.New("the registry cannot list registrations")
	}
	var errs []error
	for _, status := range []registry.Status{registry.PendingProof, registry.Unclaimed, registry.Registered, registry.Deregistered} {
		all, err := l.ListByStatus(ctx, status)
		if err != nil {
			return err
		}
		for _, o := range all {
			if o.Kind != registry.Gateway {
				continue
			}
			if status == registry.Deregistered {
				if o.Proof == nil || o.Proof.EndedAt.IsZero() {
					continue // ended for good
				}
				if !o.Restorable(h.now()) {
					errs = append(errs, h.endForGood(ctx, o.AccountID))
					continue
				}
			}
			stale := !o.ProofDue && status != registry.PendingProof && (o.Proof == nil || h.now().Sub(o.Proof.LastAt) > reproveAfter)
			due := o.ProofDue && (o.Proof == nil || !o.Proof.NextAt.After(h.now()))
			if !stale && !due {
				continue
			}
			if stale {
				if err := h.askPeriodicProof(ctx, o.AccountID); err != nil {
					errs = append(errs, err)
					continue
				}
			}
			h.Prove(ctx, o.AccountID)
			st, err := h.Registry.Account(ctx, o.AccountID)
			if err != nil || st.Gateway == nil {
				errs = append(errs, fmt.Errorf("account %s: reading the outcome: %w", o.AccountID, err))
				continue
			}
			reason := ""
			if st.Gateway.Proof != nil {
				reason = st.Gateway.Proof.Reason
			}
			fmt.Fprintf(out, "%s\t%s\t%s\n", o.AccountID, st.Gateway.Status, reason)
		}
	}
	return errors.Join(errs...)
}

// askPeriodicProof marks the account's gateway registration as due for its periodic proof.
func (h *Hook) askPeriodicProof(ctx context.Context, account string) error {
	_, err := h.Registry.Update(ctx, account, func(st registry.AccountState) (registry.Writes, error) {
		g := st.Gateway
		if !g.Provable(h.now()) || g.ProofDue {
			return registry.Writes{}, nil
		}
		upd := *g
		upd.ProofDue, upd.ProofAsked, upd.ProofPeriodic = true, h.now(), true
		return registry.Writes{Gateway: &upd}, nil
	})
	if err != nil {
		return fmt.Errorf("account %s: asking for a proof: %w", account, err)
	}
	return nil
}

// endForGood ends a registration whose role's refusals ended it longer than registry.RestoreWindow
// ago: its binding is dropped and the account's keys retired (unless another record stands).
func (h *Hook) endForGood(ctx context.Context, account string) error {
	st, err := h.Registry.Update(ctx, account, func(st registry.AccountState) (registry.Writes, error) {
		g := st.Gateway
		if g == nil || g.Status != registry.Deregistered || g.Proof == nil || g.Proof.EndedAt.IsZero() || g.Restorable(h.now()) {
			return registry.Writes{}, nil
		}
		upd := *g
		p := *g.Proof
		p.EndedAt = time.Time{}
		upd.Proof, upd.Tenant, upd.TokenHash, upd.ProofDue = &p, "", "", false
		return registry.Writes{Gateway: &upd}, nil
	})
	if err != nil {
		return fmt.Errorf("account %s: ending the registration for good: %w", account, err)
	}
	h.retireKeysIfLast(ctx, st)
	return nil
}
