package hook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// Registry is the part of the registry the hook uses.
type Registry interface {
	Account(ctx context.Context, account string) (registry.AccountState, error)
	Save(ctx context.Context, st registry.AccountState, w registry.Writes) (registry.AccountState, error)
	Update(ctx context.Context, account string, decide func(registry.AccountState) (registry.Writes, error)) (registry.AccountState, error)
	ResolveTenantToken(ctx context.Context, token string) (string, bool, error)
	ResolveTokenHash(ctx context.Context, hash string) (string, bool, error)
	TokenRevoked(ctx context.Context, token string) (bool, error)
	MarkRolledBack(ctx context.Context, marker string) error
	RolledBack(ctx context.Context, marker string) (bool, error)
	Take(ctx context.Context, budget string, limit int, window time.Duration) (bool, time.Time, error)
	Exhausted(ctx context.Context, budget string, limit int, window time.Duration) (bool, error)
}

var _ Registry = (*registry.Registry)(nil)

// ManagedAccount is a customer account the vendor acts on through its management role.
type ManagedAccount struct {
	AccountID       string
	Partition       string
	RoleARN         string
	ExternalID      string
	BoundaryARN     string
	Features        policy.Features
	TemplateVersion string
	// Owned are the ARNs the vendor created in the account (the registry's record): the only ones
	// it may change or delete.
	Owned []string
}

// Target is the account as the IAM documents address it.
func (a ManagedAccount) Target() policy.Target {
	return policy.Target{Partition: a.Partition, AccountID: a.AccountID}
}

// Provisioner converges an account to what the vendor manages there, through its management role.
// Apply (Create and Update) proves the role, refuses before any change a resource it would manage
// that exists but is not in acct.Owned (*gateway.NotOwnedError), calls own with the ARNs it is about
// to create before creating them, and returns the stack's outputs and what it created. Remove
// (Delete) deletes what acct.Owned lists, and nothing else. Both are idempotent. ErrRoleGone from
// Remove means the management role can no longer be assumed; *LeftoversError says what stayed.
type Provisioner interface {
	Apply(ctx context.Context, acct ManagedAccount, own func(context.Context, []string) error) (outputs map[string]string, created []string, err error)
	Remove(ctx context.Context, acct ManagedAccount) error
}

// LeftoversError is a Remove that could not remove everything.
type LeftoversError struct {
	Leftovers []string
	Err       error
}

func (e *LeftoversError) Error() string {
	return fmt.Sprintf("left behind %s: %v", strings.Join(e.Leftovers, ", "), e.Err)
}

func (e *LeftoversError) Unwrap() error { return e.Err }

// ErrRoleGone means the management role cannot be assumed any more.
var ErrRoleGone = errors.New("the management role can no longer be assumed")

// SigningKeys are the per-account keys of the vendor's issuer (internal/issuer).
type SigningKeys interface {
	CreateAccountKey(ctx context.Context, account string) (issuer.KeyRecord, error)
	Offboard(ctx context.Context, account string) error
}

var _ SigningKeys = (*issuer.Issuer)(nil)

// Hook is the Custom::Hook handler of both templates. It tells them apart by the role they name.
// Its trust model (README, "What each event must prove"): an event is a claim; a management claim
// is proven by the ExternalId the vendor issued for the account and by assuming the management
// role with it; a gateway claim binds the account to a tenant only through that tenant's token and
// counts as registered only once the role it names is proven by assuming it with a token of the
// account's own issuer; Updates and Deletes prove what the Create proved.
type Hook struct {
	Vendor          policy.Vendor
	VendorAccountID string   // the ServiceToken must be the vendor's; "" skips the account check
	Partitions      []string // the partitions the deployment serves; nil: aws
	Regions         []string // the regions stacks may be in; nil: us-east-1
	Registry        Registry
	Provisioner     Provisioner
	// Keys gives every registered account its own signing key, and retires the keys with the
	// account's last registration. nil: no issuer is configured.
	Keys SigningKeys
	// Prover proves gateway roles. nil: gateway claims stay pending (never usable).
	Prover RoleProver
	// ProofBudget bounds how long a proof retries STS's refusals; 0: awsx.PropagationBudget.
	ProofBudget time.Duration
	// RecheckDelay is how long a Delete's follow-up waits before its one check of the role (the
	// stack deletes the role once the hook answered); 0: 5 s.
	RecheckDelay time.Duration
	// UnprovenPerHour bounds the proofs (and so the signing keys) that claims without a tenant token
	// may cost the vendor per hour, across all processes; the others wait in the queue. 0: 100.
	UnprovenPerHour int
	// TenantClaimsPerHour bounds the proofs of claims naming one tenant, per tenant and hour. 0: 5000.
	TenantClaimsPerHour int
	// TenantRejectionsPerDay is how many of a tenant's claims may be rejected a day before its
	// claims are paced with the token-less ones. 0: 100.
	TenantRejectionsPerDay int
	// ReproofsPerHour bounds the sweep's daily re-proofs of registrations, per hour. 0: 1000.
	ReproofsPerHour int
	Clock           func() time.Time // nil: time.Now
	Logger          *slog.Logger
}

var (
	_ cfnresource.Handler             = (*Hook)(nil)
	_ cfnresource.FailedCreateDeleter = (*Hook)(nil)
)

func (h *Hook) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

func (h *Hook) now() time.Time {
	if h.Clock != nil {
		return h.Clock().UTC()
	}
	return time.Now().UTC()
}

// Alerts: an ERROR log line with a stable alert key, which a log metric filter counts until the
// backend has alarms of its own.
const (
	alertUnprovenDelete = "unproven_delete"
	alertUnprovenUpdate = "unproven_update"
	alertTenantConflict = "tenant_conflict"
	alertDeleteFailed   = "delete_incomplete"
	alertProofRejected  = "proof_rejected"
	alertClaimMismatch  = "claim_mismatch"
)

func (h *Hook) alert(ctx context.Context, alert, msg string, attrs ...any) {
	h.log().ErrorContext(ctx, msg, append([]any{"alert", alert}, attrs...)...)
}

// Create registers the account, unless CloudFormation already rolled this very request back (a late
// or repeated delivery of a Create that failed): then it does nothing.
func (h *Hook) Create(ctx context.Context, e cfnresource.Event) (cfnresource.Result, error) {
	c, err := h.parseClaim(e)
	if err != nil {
		return cfnresource.Result{}, err
	}
	gone, err := h.Registry.RolledBack(ctx, cfnresource.FailedCreateID(e))
	if err != nil {
		return cfnresource.Result{}, fmt.Errorf("the registry could not be read, try again: %w", err)
	}
	if gone {
		h.log().WarnContext(ctx, "a Create CloudFormation already rolled back was delivered again: nothing done", "account", c.account)
		return cfnresource.Result{}, rolledBackOr(registry.ErrRolledBack, "")
	}
	if c.kind == registry.Management {
		return h.putManagement(ctx, c)
	}
	return h.putGateway(ctx, c)
}

// Update registers the account again with the new properties, if they prove what the Create proved;
// a rollback is an Update too.
func (h *Hook) Update(ctx context.Context, e cfnresource.Event) (cfnresource.Result, error) {
	c, err := h.parseClaim(e)
	if err != nil {
		return cfnresource.Result{}, err
	}
	if c.kind == registry.Management {
		return h.putManagement(ctx, c)
	}
	return h.putGateway(ctx, c)
}

// Delete ends the registration the deleting resource owns, if the event proves what its Create
// proved, and nothing else. It never blocks the customer's stack deletion: every outcome is a
// success, and what could not be done is logged for operators (the Runner answers SUCCESS even if
// a dependency hangs).
func (h *Hook) Delete(ctx context.Context, e cfnresource.Event) (cfnresource.Result, error) {
	done := cfnresource.Result{PhysicalResourceID: e.PhysicalResourceID}
	kind, account, ok := h.parsePhysicalID(e.PhysicalResourceID)
	if ok {
		stack, err := h.stack(e.StackID)
		ok = err == nil && stack.Account == account
	}
	if !ok {
		h.log().InfoContext(ctx, "delete of a resource this hook never created: nothing to do",
			"physical_resource_id", e.PhysicalResourceID)
		return done, nil
	}
	if kind == registry.Management {
		return done, h.deleteManagement(ctx, account, registry.Owner{StackID: e.StackID, LogicalID: e.LogicalResourceID}, e)
	}
	done.Then = h.deleteGateway(ctx, account, e)
	return done, nil
}

// physicalID is derived from what the hook owns: the vendor, the kind of registration and the
// account. Stable across updates, never empty.
func (h *Hook) physicalID(kind registry.Kind, account string) string {
	return h.Vendor.ManagedByTag() + ":" + strings.ToLower(string(kind)) + ":" + account
}

func (h *Hook) parsePhysicalID(id string) (registry.Kind, string, bool) {
	prefix, rest, ok := strings.Cut(id, ":")
	if !ok || prefix != h.Vendor.ManagedByTag() {
		return "", "", false
	}
	kind, account, ok := strings.Cut(rest, ":")
	switch registry.Kind(strings.ToUpper(kind)) {
	case registry.Management, registry.Gateway:
		return registry.Kind(strings.ToUpper(kind)), account, ok && accountID.MatchString(account)
	}
	return "", "", false
}

// ensureKey gives the account its signing key, published (idempotent: an account keeps its key).
func (h *Hook) ensureKey(ctx context.Context, account string) error {
	if h.Keys == nil {
		return nil
	}
	if _, err := h.Keys.CreateAccountKey(ctx, account); err != nil {
		return fmt.Errorf("%s could not create this account's signing key, try again: %w", h.Vendor.Name, err)
	}
	return nil
}

// retireKeysIfLast schedules the account's signing keys for deletion once no record of st stands
// for a proven stack any more (a claim waiting for its proof keeps nothing alive: its proof makes a
// key again): no token for the account can be minted after that.
func (h *Hook) retireKeysIfLast(ctx context.Context, st registry.AccountState) {
	if h.Keys == nil {
		return
	}
	for _, o := range []*registry.Onboarding{st.Management, st.Gateway} {
		if o != nil && (o.Status == registry.Registered || o.Status == registry.Unclaimed || o.Restorable(h.now())) {
			return
		}
	}
	err := h.Keys.Offboard(ctx, st.AccountID)
	if err != nil && !errors.Is(err, issuer.ErrUnknownAccount) {
		h.log().ErrorContext(ctx, "the account's signing keys were not retired", "account", st.AccountID, "error", err)
	}
}

// rolledBackOr is the reason of a registry write that failed: the Create was rolled back meanwhile
// (registry.ErrRolledBack, decided in the write's own transaction), or what.
func rolledBackOr(err error, what string) error {
	if errors.Is(err, registry.ErrRolledBack) {
		return errors.New("CloudFormation already rolled this request back: nothing was done")
	}
	return fmt.Errorf("%s: %w", what, err)
}

// dependencyTimeout bounds each registry call on the Delete path, so one that hangs leaves time
// for the rest; the Runner answers SUCCESS whatever happens.
const dependencyTimeout = 20 * time.Second

func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, dependencyTimeout)
}
