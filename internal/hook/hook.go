package hook

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// Registry is the part of the registry the hook uses.
type Registry interface {
	Get(ctx context.Context, account string, kind registry.Kind) (registry.Onboarding, bool, error)
	Register(ctx context.Context, reg registry.Registration) (registry.Onboarding, error)
	Deregister(ctx context.Context, account string, kind registry.Kind, stackID, requestID string, leftovers []string) (bool, error)
	ResolveTenantToken(ctx context.Context, token string) (string, bool, error)
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
}

// Target is the account as the IAM documents address it.
func (a ManagedAccount) Target() policy.Target {
	return policy.Target{Partition: a.Partition, AccountID: a.AccountID}
}

// Provisioner is the step that converges an account to what the vendor manages there: Apply on
// Create and Update (its outputs become the response's Data), Remove on Delete. It must be
// idempotent. ErrRoleGone from Remove means the management role can no longer be assumed: the
// Delete then succeeds without blocking the customer, and *LeftoversError says what stayed behind.
type Provisioner interface {
	Apply(ctx context.Context, acct ManagedAccount) (map[string]string, error)
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

// Hook is the Custom::Hook handler of both templates. It tells them apart by the role they name.
type Hook struct {
	Vendor          policy.Vendor
	VendorAccountID string // the ServiceToken must be the vendor's; "" skips that check
	Registry        Registry
	Provisioner     Provisioner
	// Keys gives every registered account its own signing key, and retires the keys with the
	// account's last registration. nil: no issuer is configured.
	Keys   SigningKeys
	Logger *slog.Logger
}

// SigningKeys are the per-account keys of the vendor's issuer (internal/issuer).
type SigningKeys interface {
	CreateAccountKey(ctx context.Context, account string) (issuer.KeyRecord, error)
	Offboard(ctx context.Context, account string) error
}

var _ SigningKeys = (*issuer.Issuer)(nil)

// ensureKey gives the account its signing key (idempotent: an account keeps its key).
func (h *Hook) ensureKey(ctx context.Context, account string) error {
	if h.Keys == nil {
		return nil
	}
	if _, err := h.Keys.CreateAccountKey(ctx, account); err != nil {
		return fmt.Errorf("%s could not create this account's signing key, try again: %w", h.Vendor.Name, err)
	}
	return nil
}

// retireKeysIfLast schedules the account's signing keys for deletion once neither kind of stack is
// registered any more: no token for the account can be minted after that.
func (h *Hook) retireKeysIfLast(ctx context.Context, account string) {
	if h.Keys == nil {
		return
	}
	for _, kind := range []registry.Kind{registry.Management, registry.Gateway} {
		o, found, err := h.Registry.Get(ctx, account, kind)
		if err != nil {
			h.log().ErrorContext(ctx, "delete: could not check the account's other registration; keys kept", "account", account, "error", err)
			return
		}
		if found && (o.Status == registry.Registered || o.Status == registry.Unclaimed) {
			return
		}
	}
	if err := h.Keys.Offboard(ctx, account); err != nil {
		h.log().ErrorContext(ctx, "delete: the account's signing keys were not retired", "account", account, "error", err)
	}
}

var _ cfnresource.Handler = (*Hook)(nil)

func (h *Hook) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// Create registers the account.
func (h *Hook) Create(ctx context.Context, e cfnresource.Event) (cfnresource.Result, error) {
	return h.register(ctx, e)
}

// Update registers the account again with the new properties; a rollback is an Update too.
func (h *Hook) Update(ctx context.Context, e cfnresource.Event) (cfnresource.Result, error) {
	return h.register(ctx, e)
}

// Delete removes what the deleting stack owns, and nothing else. It never blocks the customer's
// stack deletion: every outcome is a success, and what could not be done is logged for operators.
func (h *Hook) Delete(ctx context.Context, e cfnresource.Event) (cfnresource.Result, error) {
	kind, account, ok := h.parsePhysicalID(e.PhysicalResourceID)
	ok = ok && h.eventAccount(e) == account
	if !ok {
		h.log().InfoContext(ctx, "delete of a resource this hook never created: nothing to do",
			"physical_resource_id", e.PhysicalResourceID)
		return cfnresource.Result{PhysicalResourceID: e.PhysicalResourceID}, nil
	}
	var leftovers []string
	if kind == registry.Management {
		if o, found, err := h.Registry.Get(ctx, account, registry.Management); err != nil {
			h.log().ErrorContext(ctx, "delete: reading the registration failed; nothing removed", "account", account, "error", err)
			return cfnresource.Result{PhysicalResourceID: e.PhysicalResourceID}, nil
		} else if found && o.OwnerStackID == e.StackID {
			acct := ManagedAccount{AccountID: account, RoleARN: o.RoleARN, ExternalID: o.ExternalID, BoundaryARN: o.BoundaryARN,
				Features: policy.Features{Runbooks: o.Runbooks, Diagnostic: o.DiagnosticTool}, TemplateVersion: o.TemplateVersion}
			if a, err := parseARN(o.RoleARN); err == nil {
				acct.Partition = a.Partition
			}
			if err := h.Provisioner.Remove(ctx, acct); err != nil {
				var left *LeftoversError
				if errors.As(err, &left) {
					leftovers = left.Leftovers
				}
				h.log().ErrorContext(ctx, "delete: removing the vendor's resources failed; the stack is deleted anyway",
					"account", account, "role_gone", errors.Is(err, ErrRoleGone), "leftovers", leftovers, "error", err)
			}
		}
	}
	changed, err := h.Registry.Deregister(ctx, account, kind, e.StackID, e.RequestID, leftovers)
	if err != nil {
		h.log().ErrorContext(ctx, "delete: deregistration not recorded", "account", account, "kind", kind, "error", err)
	} else {
		h.log().InfoContext(ctx, "deregistered", "account", account, "kind", kind, "changed", changed)
		if changed {
			h.retireKeysIfLast(ctx, account)
		}
	}
	return cfnresource.Result{PhysicalResourceID: e.PhysicalResourceID}, nil
}

func (h *Hook) register(ctx context.Context, e cfnresource.Event) (cfnresource.Result, error) {
	if err := h.checkServiceToken(e); err != nil {
		return cfnresource.Result{}, err
	}
	roleARN, _ := e.ResourceProperties["RoleArn"].(string)
	switch {
	case strings.HasSuffix(roleARN, "/"+h.Vendor.ManagementRoleName()):
		return h.registerManagement(ctx, e)
	case strings.HasSuffix(roleARN, "/"+h.Vendor.GatewayRoleName()):
		return h.registerGateway(ctx, e)
	default:
		return cfnresource.Result{}, fmt.Errorf("RoleArn %q names neither %s nor %s: deploy the template exactly as %s publishes it",
			roleARN, h.Vendor.ManagementRoleName(), h.Vendor.GatewayRoleName(), h.Vendor.Name)
	}
}

func (h *Hook) registerManagement(ctx context.Context, e cfnresource.Event) (cfnresource.Result, error) {
	var p managementProps
	if err := cfnresource.DecodeProperties(e.ResourceProperties, &p); err != nil {
		return cfnresource.Result{}, err
	}
	target, err := h.agree(e, p.AccountID, p.RoleArn)
	if err != nil {
		return cfnresource.Result{}, err
	}
	if want := h.Vendor.ManagementRoleARN(target); p.RoleArn != want {
		return cfnresource.Result{}, fmt.Errorf("RoleArn must be %s", want)
	}
	if p.ExternalID == "" {
		return cfnresource.Result{}, fmt.Errorf("the stack has no ExternalId: update it with the template and link %s's console gives you", h.Vendor.Name)
	}
	if p.BoundaryArn != "" && p.BoundaryArn != h.Vendor.BoundaryARN(target) {
		return cfnresource.Result{}, fmt.Errorf("BoundaryArn must be %s", h.Vendor.BoundaryARN(target))
	}
	// Refuse early, before touching the customer's account, what the registry would refuse anyway.
	o, found, err := h.Registry.Get(ctx, p.AccountID, registry.Management)
	if err != nil {
		return cfnresource.Result{}, fmt.Errorf("the registry could not be read, try again: %w", err)
	}
	switch {
	case !found:
		return cfnresource.Result{}, fmt.Errorf("%w %s: start from the link in %s's console, which creates it", registry.ErrNoPendingOnboarding, p.AccountID, h.Vendor.Name)
	case subtle.ConstantTimeCompare([]byte(o.ExternalID), []byte(p.ExternalID)) != 1:
		return cfnresource.Result{}, fmt.Errorf("%w: use the link from %s's console without changing its ExternalId", registry.ErrExternalIDMismatch, h.Vendor.Name)
	case o.Status == registry.Registered && o.OwnerStackID != e.StackID:
		return cfnresource.Result{}, fmt.Errorf("account %s is already registered by stack %s: delete that stack first", p.AccountID, o.OwnerStackID)
	}
	acct := ManagedAccount{AccountID: p.AccountID, Partition: target.Partition, RoleARN: p.RoleArn,
		ExternalID: p.ExternalID, BoundaryARN: h.Vendor.BoundaryARN(target),
		Features: policy.Features{Runbooks: p.Runbooks, Diagnostic: p.DiagnosticTool}, TemplateVersion: p.TemplateVersion}
	applyCtx, cancel := ctx, context.CancelFunc(func() {})
	if e.RequestType == cfnresource.Create {
		// Keep time to undo a failed Create before the watchdog answers: once the invocation has
		// answered, Lambda may freeze the process, and the rollback's Delete does nothing.
		applyCtx, cancel = withUndoReserve(ctx)
	}
	outputs, err := h.Provisioner.Apply(applyCtx, acct)
	cancel()
	if err == nil {
		err = h.ensureKey(ctx, p.AccountID)
	}
	if err != nil {
		if e.RequestType == cfnresource.Create && !errors.As(err, new(unchanged)) {
			h.undo(ctx, acct)
		}
		return cfnresource.Result{}, err
	}
	_, err = h.Registry.Register(ctx, registry.Registration{
		AccountID: p.AccountID, Kind: registry.Management, ExternalID: p.ExternalID, RoleARN: p.RoleArn,
		BoundaryARN: acct.BoundaryARN, Runbooks: p.Runbooks, DiagnosticTool: p.DiagnosticTool,
		TemplateVersion: p.TemplateVersion, StackID: e.StackID, RequestID: e.RequestID,
	})
	if err != nil {
		if e.RequestType == cfnresource.Create {
			h.undo(ctx, acct) // unregistered, it would be orphaned by the rollback
		}
		return cfnresource.Result{}, registrationError(p.AccountID, err)
	}
	h.log().InfoContext(ctx, "registered", "account", p.AccountID, "kind", registry.Management, "template_version", p.TemplateVersion)
	return cfnresource.Result{PhysicalResourceID: h.physicalID(registry.Management, p.AccountID), Data: outputs}, nil
}

// undoBudget bounds the clean-up after a failed Create; the Lambda's own deadline bounds it too.
const undoBudget = 2 * time.Minute

// undoReserve is the share of the time left that a Create keeps for undoing itself, at most undoBudget.
const undoReserve = 3 // a third

// withUndoReserve ends the context a third of the time left (at most undoBudget) before ctx ends.
func withUndoReserve(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	reserve := min(time.Until(deadline)/undoReserve, undoBudget)
	return context.WithDeadline(ctx, deadline.Add(-reserve))
}

// undo removes what a failed Create made, so the rollback that follows (whose Delete of the
// failed-Create marker does nothing) leaves nothing of the vendor's behind. It takes the time left
// before the watchdog; what it cannot remove is logged for operators.
func (h *Hook) undo(ctx context.Context, acct ManagedAccount) {
	if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) <= 0 {
		// No time left before the watchdog: try anyway, bounded, rather than orphan.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), undoBudget)
		defer cancel()
	}
	if err := h.Provisioner.Remove(ctx, acct); err != nil {
		h.log().ErrorContext(ctx, "a failed Create could not remove what it made", "account", acct.AccountID, "error", err)
	}
}

func (h *Hook) registerGateway(ctx context.Context, e cfnresource.Event) (cfnresource.Result, error) {
	var p gatewayProps
	if err := cfnresource.DecodeProperties(e.ResourceProperties, &p); err != nil {
		return cfnresource.Result{}, err
	}
	target, err := h.agree(e, p.AccountID, p.RoleArn)
	if err != nil {
		return cfnresource.Result{}, err
	}
	if want := h.Vendor.GatewayRoleARN(target); p.RoleArn != want {
		return cfnresource.Result{}, fmt.Errorf("RoleArn must be %s", want)
	}
	if want := h.Vendor.ProviderARNs(target); !slices.Equal(p.ProviderArns, want) {
		return cfnresource.Result{}, fmt.Errorf("ProviderArns must be %s", strings.Join(want, ", "))
	}
	tenant, ok, err := h.Registry.ResolveTenantToken(ctx, p.TenantToken)
	if err != nil {
		return cfnresource.Result{}, fmt.Errorf("the registry could not be read, try again: %w", err)
	}
	if !ok && p.TenantToken != "" {
		h.log().WarnContext(ctx, "unknown tenant token: registering the account unclaimed", "account", p.AccountID)
	}
	if err := h.ensureKey(ctx, p.AccountID); err != nil {
		return cfnresource.Result{}, err
	}
	o, err := h.Registry.Register(ctx, registry.Registration{
		AccountID: p.AccountID, Kind: registry.Gateway, Tenant: tenant, RoleARN: p.RoleArn, ProviderARNs: p.ProviderArns,
		Runbooks: p.Runbooks, DiagnosticTool: p.DiagnosticTool, TemplateVersion: p.TemplateVersion,
		StackID: e.StackID, RequestID: e.RequestID,
	})
	if err != nil {
		return cfnresource.Result{}, registrationError(p.AccountID, err)
	}
	h.log().InfoContext(ctx, "registered", "account", p.AccountID, "kind", registry.Gateway, "status", o.Status)
	return cfnresource.Result{PhysicalResourceID: h.physicalID(registry.Gateway, p.AccountID)}, nil
}

// agree checks that the stack's account, the AccountId property and the role's account are one,
// and returns that account as a Target.
func (h *Hook) agree(e cfnresource.Event, accountID, roleARN string) (policy.Target, error) {
	stack, err := stackAccount(e)
	if err != nil {
		return policy.Target{}, err
	}
	role, err := parseARN(roleARN)
	if err != nil {
		return policy.Target{}, fmt.Errorf("RoleArn: %w", err)
	}
	if stack.Account != accountID || role.Account != accountID {
		return policy.Target{}, fmt.Errorf("accounts disagree: the stack is in %s, AccountId is %s, RoleArn is in %s",
			stack.Account, accountID, role.Account)
	}
	if role.Partition != stack.Partition {
		return policy.Target{}, fmt.Errorf("partitions disagree: the stack is in %s, RoleArn in %s", stack.Partition, role.Partition)
	}
	return policy.Target{Partition: role.Partition, AccountID: accountID}, nil
}

func (h *Hook) checkServiceToken(e cfnresource.Event) error {
	if h.VendorAccountID == "" || e.ServiceToken == "" {
		return nil
	}
	if a, err := parseARN(e.ServiceToken); err != nil || a.Account != h.VendorAccountID {
		return fmt.Errorf("ServiceToken is not %s's: deploy the template exactly as %s publishes it", h.Vendor.Name, h.Vendor.Name)
	}
	return nil
}

func (h *Hook) eventAccount(e cfnresource.Event) string {
	a, err := stackAccount(e)
	if err != nil {
		return ""
	}
	return a.Account
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
		return registry.Kind(strings.ToUpper(kind)), account, ok && account != ""
	}
	return "", "", false
}

func registrationError(account string, err error) error {
	var owned *registry.OwnedError
	switch {
	case errors.As(err, &owned):
		return fmt.Errorf("account %s is already registered by stack %s: delete that stack first", account, owned.StackID)
	case errors.Is(err, registry.ErrNoPendingOnboarding), errors.Is(err, registry.ErrExternalIDMismatch):
		return fmt.Errorf("%w (account %s)", err, account)
	default:
		return fmt.Errorf("the registration could not be recorded, try again: %w", err)
	}
}
