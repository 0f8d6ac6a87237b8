package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// Registry is the part of the registry the broker reads: who owns an account and which stacks are
// registered there.
type Registry interface {
	Account(ctx context.Context, account string) (registry.AccountState, error)
}

var _ Registry = (*registry.Registry)(nil)

// Minter mints a web-identity token for an account.
type Minter interface {
	Mint(ctx context.Context, account string, c issuer.Claims) (string, error)
}

var _ Minter = (*issuer.Issuer)(nil)

// STSAPI is the part of STS the broker uses.
type STSAPI interface {
	AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error)
}

var _ STSAPI = (*sts.Client)(nil)

// Defaults of Config.
const (
	DefaultMaxDuration   = time.Hour
	DefaultPendingFor    = 3 * time.Hour
	DefaultTokenLifetime = 2 * time.Minute
	DefaultEnvironment   = "support"
	// MaxSession is the longest session the broker asks STS for: the support roles'
	// MaxSessionDuration (3600 s in both templates), and the ceiling of Config.MaxDuration.
	MaxSession = time.Hour
	// MinSession is STS's shortest session: a window with less left gives nothing.
	MinSession = 15 * time.Minute
	// PackedSizeWarnPercent is how full, in percent, the packed session policies and tags (or the
	// session token) may be before each session issued logs a warning: past it, a few more
	// statements or tags and STS refuses every session (PackedPolicyTooLarge).
	PackedSizeWarnPercent = 80
)

// Config is the broker's policy. Zero values take the defaults.
type Config struct {
	Vendor        policy.Vendor // zero: policy.DefaultVendor()
	Partition     string        // of the customer accounts; "aws"
	Environment   string        // the session tag value, as STS takes it (policy.ValidateSessionTagValue); DefaultEnvironment
	MaxDuration   time.Duration // longest access a request may ask for, at most MaxSession (ValidateMaxDuration); DefaultMaxDuration
	PendingFor    time.Duration // how long a request waits for a decision; DefaultPendingFor
	TokenLifetime time.Duration // of the web-identity token; DefaultTokenLifetime
	IssuerHost    int           // which issuer host tokens name: 0 primary, 1 standby
	Logger        *slog.Logger  // where the broker logs what needs an operator's eye; slog.Default()
	// StaffDomains are the vendor's staff e-mail domains: a customer principal whose user is an
	// address at one of them, or at a subdomain, never decides for the customer (NormalizeIdentity
	// applies to both). Empty: DefaultStaffDomains.
	StaffDomains []string
}

func (c Config) withDefaults() Config {
	if c.Vendor.Name == "" {
		c.Vendor = policy.DefaultVendor()
	}
	if c.Partition == "" {
		c.Partition = "aws"
	}
	if c.Environment == "" {
		c.Environment = DefaultEnvironment
	}
	if c.MaxDuration == 0 {
		c.MaxDuration = DefaultMaxDuration
	}
	if c.PendingFor == 0 {
		c.PendingFor = DefaultPendingFor
	}
	if c.TokenLifetime == 0 {
		c.TokenLifetime = DefaultTokenLifetime
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if len(c.StaffDomains) == 0 {
		c.StaffDomains = DefaultStaffDomains
	}
	return c
}

// Broker runs access requests. It is safe for concurrent use.
type Broker struct {
	cfg   Config
	reg   Registry
	mint  Minter
	sts   STSAPI
	store *store
	audit *AuditLog
	now   func() time.Time
}

// New returns a Broker with its requests and audit log in table.
func New(cfg Config, reg Registry, mint Minter, stsClient STSAPI, db DynamoAPI, table string) (*Broker, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Vendor.Validate(); err != nil {
		return nil, fmt.Errorf("broker config: %w", err)
	}
	if err := policy.ValidateSessionTagValue(cfg.Environment); err != nil { // else every session would fail at STS
		return nil, fmt.Errorf("broker config: environment (the %s session tag value): %w", cfg.Vendor.SessionTagKey(), err)
	}
	if err := ValidateMaxDuration(cfg.MaxDuration); err != nil {
		return nil, fmt.Errorf("broker config: %w", err)
	}
	if err := ValidatePendingFor(cfg.PendingFor); err != nil {
		return nil, fmt.Errorf("broker config: %w", err)
	}
	staff, err := normalizeStaffDomains(cfg.StaffDomains)
	if err != nil {
		return nil, fmt.Errorf("broker config: %w", err)
	}
	cfg.StaffDomains = staff
	switch {
	case cfg.TokenLifetime > issuer.MaxTokenLifetime:
		return nil, fmt.Errorf("broker config: token lifetime %s is over %s", cfg.TokenLifetime, issuer.MaxTokenLifetime)
	case cfg.IssuerHost != 0 && cfg.IssuerHost != 1:
		return nil, fmt.Errorf("broker config: issuer host %d, want 0 or 1", cfg.IssuerHost)
	case table == "":
		return nil, errors.New("broker config: no table")
	}
	b := &Broker{cfg: cfg, reg: reg, mint: mint, sts: stsClient, store: &store{db: db, table: table}, now: time.Now}
	b.audit = &AuditLog{DB: db, Table: table, Now: func() time.Time { return b.now() }}
	return b, nil
}

// ValidateMaxDuration says why d cannot be Config.MaxDuration, the longest access a request or a
// standing approval may ask for, or nil: it is MinSession to MaxSession. A window never outlasts
// one session, the most the support roles' MaxSessionDuration (1 hour) lets STS give.
func ValidateMaxDuration(d time.Duration) error {
	switch {
	case d < MinSession:
		return fmt.Errorf("maximum duration %s is shorter than a session (%s)", d, MinSession)
	case d > MaxSession:
		return fmt.Errorf("maximum duration %s is over %s, the longest session (the support roles' MaxSessionDuration)", d, MaxSession)
	}
	return nil
}

// MaxPendingFor is the longest a request may wait for the customer's decision: a week. Past that
// the ticket and justification it was approved on are stale; ask again.
const MaxPendingFor = 7 * 24 * time.Hour

// ValidatePendingFor says why d cannot be Config.PendingFor, how long a request waits for a
// decision, or nil: it is one minute to MaxPendingFor (0 in a Config means DefaultPendingFor).
func ValidatePendingFor(d time.Duration) error {
	switch {
	case d < time.Minute:
		return fmt.Errorf("pending time %s is under a minute: requests would expire before anyone could decide", d)
	case d > MaxPendingFor:
		return fmt.Errorf("pending time %s is over %s: a request that old rests on a stale ticket and justification", d, MaxPendingFor)
	}
	return nil
}

// SetClock replaces the broker's clock (tests).
func (b *Broker) SetClock(now func() time.Time) { b.now = now }

// Audit is the broker's audit log.
func (b *Broker) Audit() *AuditLog { return b.audit }

func (b *Broker) clock() time.Time { return b.now().UTC().Truncate(time.Second) }

// Get returns a request.
func (b *Broker) Get(ctx context.Context, id string) (Request, error) {
	r, found, err := b.getRequest(ctx, id)
	if err != nil {
		return Request{}, err
	}
	if !found {
		return Request{}, noRequest(id)
	}
	return r, nil
}

// getRequest reads request id; an ID not of the broker's shape names none (and is not looked up:
// an oversized one is not even a valid DynamoDB key).
func (b *Broker) getRequest(ctx context.Context, id string) (Request, bool, error) {
	if !requestIDPattern.MatchString(id) {
		return Request{}, false, nil
	}
	return b.store.getRequest(ctx, id)
}

// recordable is a principal as a refusal records it: as given, or clipped if it is too long to be
// one (so its audit items still fit their keys).
func recordable(p string) string {
	if len(p) > MaxPrincipalBytes {
		return echo(p)
	}
	return p
}

// noRequest is the refusal for a request ID that names no request.
func noRequest(id string) error {
	return refuse(ErrNotFound, "there is no access request %q", echo(id))
}

var accountPattern = regexp.MustCompile(`^\d{12}$`)

// active is an account's registered onboarding the broker uses (registry.AccountState.Usable): the
// gateway stack's if registered (the customer deployed the support role), else the management
// stack's. A claim still waiting for its proof, one without a tenant, and an account two tenants
// claimed grant nothing.
func (b *Broker) active(ctx context.Context, account string) (registry.Onboarding, error) {
	if !accountPattern.MatchString(account) {
		return registry.Onboarding{}, refuse(ErrInvalid, "account ID %q is not 12 digits", echo(account))
	}
	st, err := b.reg.Account(ctx, account)
	if err != nil {
		return registry.Onboarding{}, err
	}
	if st.Management == nil && st.Gateway == nil {
		return registry.Onboarding{}, noAccount(account, "account %s is not onboarded", account)
	}
	o, why, ok := st.Usable()
	switch {
	case ok:
		return o, nil
	case st.Conflict != nil:
		return registry.Onboarding{}, noAccount(account, "account %s cannot be used: %s", account, why)
	}
	return registry.Onboarding{}, noAccount(account, "account %s has no registered stack: the customer has to deploy (or finish deploying) the support stack", account)
}

// failedReason is a FAILED event's Reason: what the caller was told; the error is its Detail.
const failedReason = "internal error: nothing was issued or changed"

// tenantsAccount is account's usable onboarding (active) if tenant owns it now, else the one answer
// for an account the caller cannot use (its detail names the owner, for the vendor's audit).
func (b *Broker) tenantsAccount(ctx context.Context, tenant, account string) (registry.Onboarding, error) {
	o, err := b.active(ctx, account)
	if err != nil {
		return registry.Onboarding{}, err
	}
	if o.Tenant != tenant {
		return registry.Onboarding{}, noAccount(account, "account %s belongs to tenant %q, not %q", account, o.Tenant, tenant)
	}
	return o, nil
}

// refused records that action by actor was refused (a rule) or failed (AWS, the issuer) and returns
// err. A failure to record it is joined.
func (b *Broker) refused(ctx context.Context, err error, e Event) error {
	e.Type, e.Reason = EventRefused, err.Error()
	var r *Refusal
	if errors.As(err, &r) {
		e.Detail = r.Detail
	}
	// what the caller sent is recorded as far as it can be: an oversized principal under its clipped
	// form (a key has at most 2,048 bytes), an oversized ID or ticket clipped
	e.Actor, e.Engineer = recordable(e.Actor), recordable(e.Engineer)
	e.RequestID, e.Ticket = echo(e.RequestID), echo(e.Ticket)
	if !accountPattern.MatchString(e.Account) {
		e.Account = "" // never index by a made-up account
	}
	// whose record it is: a customer's refusal is its own tenant's, never the account owner's (a
	// probe of another tenant's account shows the owner nothing of the prober); an engineer's is
	// the owner's of the request, or of the account now
	if tenant, _, ok := tenantPrincipal(e.Actor); ok {
		if e.Tenant != "" && e.Tenant != tenant { // another tenant's request: only what the caller sent
			e.Engineer, e.Ticket = "", ""
		}
		e.Tenant = tenant
		// a probe of an account the tenant does not own is filed under the prober alone: another
		// tenant's refusals must not grow the owner's audit partition, which every read of it scans
		// (the account stays in the detail, for the vendor)
		if e.Account != "" {
			if _, owned, err := b.ownership(ctx, tenant)(e.Account); err != nil || !owned {
				if e.Detail == "" {
					e.Detail = "account " + e.Account
				}
				e.Account = ""
			}
		}
	} else if e.Tenant == "" && accountPattern.MatchString(e.Account) {
		if o, err := b.active(ctx, e.Account); err == nil {
			e.Tenant = o.Tenant
		}
	}
	if !isRefusal(err) {
		// a failure's error is the vendor's (AWS's text names its accounts, roles and keys): the
		// caller got "internal error", and a customer's view of the audit shows no more than that
		e.Type, e.Reason, e.Detail = EventFailed, failedReason, err.Error()
	}
	if aerr := b.audit.Record(ctx, e); aerr != nil {
		return errors.Join(err, aerr)
	}
	return err
}
