package broker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Request records engineer's request for access to account for ticket. It starts approved when the
// account has a standing approval (capped at its maximum), else pending for Config.PendingFor.
func (b *Broker) Request(ctx context.Context, engineer, account, ticket, justification string, duration time.Duration) (Request, error) {
	ev := Event{Action: "request", Actor: engineer, Engineer: engineer, Account: account, Ticket: ticket,
		DurationSeconds: int64(duration / time.Second)}
	r, err := b.request(ctx, engineer, account, ticket, justification, duration)
	if err != nil {
		return Request{}, b.refused(ctx, err, ev)
	}
	return r, nil
}

func (b *Broker) request(ctx context.Context, engineer, account, ticket, justification string, duration time.Duration) (Request, error) {
	ticket, justification = strings.TrimSpace(ticket), strings.TrimSpace(justification)
	if err := validatePrincipal(engineer); err != nil {
		return Request{}, err
	}
	switch {
	case strings.TrimSpace(engineer) == "":
		return Request{}, refuse(ErrInvalid, "only a support engineer can request access (got %q)", engineer)
	case strings.HasPrefix(engineer, "tenant:"): // a customer may not, as an engineer may not decide
		return Request{}, refuse(ErrForbidden, "only a support engineer can request access (got %q)", engineer)
	}
	if err := ValidateTicket(ticket); err != nil { // the ticket has to fit in the session name, whole
		return Request{}, err
	}
	if err := ValidateJustification(justification); err != nil {
		return Request{}, err
	}
	switch {
	case duration < MinSession:
		return Request{}, refuse(ErrInvalid, "duration %s is shorter than the minimum session, %s", duration, MinSession)
	case duration > b.cfg.MaxDuration:
		return Request{}, refuse(ErrInvalid, "duration %s is over the maximum, %s", duration, b.cfg.MaxDuration)
	}
	o, err := b.active(ctx, account)
	if err != nil {
		return Request{}, err
	}
	id, err := newID("req-")
	if err != nil {
		return Request{}, err
	}
	now := b.clock()
	r := Request{ID: id, Engineer: engineer, Account: account, Tenant: o.Tenant, Ticket: ticket, Justification: justification,
		DurationSeconds: int64(duration / time.Second), State: Pending, CreatedAt: now, PendingUntil: now.Add(b.cfg.PendingFor)}
	pre, found, err := b.store.getPreApproval(ctx, account)
	if err != nil {
		return Request{}, err
	}
	if found && pre.holdsFor(o) && b.mayPreApproveFor(pre, engineer) {
		if max := time.Duration(pre.MaxDurationSeconds) * time.Second; duration > max {
			r.DurationSeconds = pre.MaxDurationSeconds
		}
		r.State, r.PreApproved, r.DecidedBy, r.DecidedAt = Approved, true, pre.ApprovedBy, now
		r.AccessUntil = now.Add(r.Duration())
	}
	r.ExpiresAt = now.Add(b.cfg.PendingFor + b.cfg.MaxDuration + Retention).Unix()
	put, err := b.store.requestPut(r)
	if err != nil {
		return Request{}, err
	}
	writes := []types.TransactWriteItem{put}
	events := []Event{{Type: EventRequested, Actor: engineer, Tenant: r.Tenant, Engineer: engineer, Account: account, RequestID: id,
		Ticket: ticket, Reason: justification, DurationSeconds: int64(duration / time.Second)}}
	if r.PreApproved {
		unchanged, err := b.store.preApprovalUnchanged(pre)
		if err != nil {
			return Request{}, err
		}
		writes = append(writes, unchanged)
		events = append(events, Event{Type: EventApproved, Actor: r.DecidedBy, Tenant: r.Tenant, Engineer: engineer, Account: account,
			RequestID: id, Ticket: ticket, Reason: "standing pre-approval", DurationSeconds: r.DurationSeconds})
	}
	// the request and its events, and for a pre-approved one the standing approval it rests on, or nothing
	err = b.audit.record(ctx, writes, events...)
	if r.PreApproved && isStale(err) {
		return Request{}, refuse(ErrConflict, "the standing approval of account %s changed while the request was recorded: request again", account)
	}
	if err != nil {
		return Request{}, err
	}
	return r, nil
}

// mayPreApproveFor reports whether the standing approval p may approve engineer's request: not if
// its approver is the engineer, or one of the vendor's staff (a standing approval stored before
// these rules, or before Config.StaffDomains named its domain). Such a request waits for a decision.
func (b *Broker) mayPreApproveFor(p PreApproval, engineer string) bool {
	return !samePerson(p.ApprovedBy, engineer) && b.mayActForCustomer(p.ApprovedBy) == nil
}

// Approve approves a pending request: its window (the requested duration) starts now.
func (b *Broker) Approve(ctx context.Context, approver, id string) (Request, error) {
	return b.decide(ctx, "approve", approver, id, "", []State{Pending}, Approved, EventApproved)
}

// Dismiss refuses a pending request, for reason (required, ValidateReason): the engineer reads it
// on the request, and the audit keeps it.
func (b *Broker) Dismiss(ctx context.Context, approver, id, reason string) (Request, error) {
	return b.decide(ctx, "dismiss", approver, id, reason, []State{Pending}, Dismissed, EventDismissed)
}

// Revoke withdraws a pending or approved request, for reason ("" or ValidateReason): no
// credentials are issued for it from now on. (Sessions already issued run out at their expiry, at
// most an hour; STS cannot end them early.)
func (b *Broker) Revoke(ctx context.Context, approver, id, reason string) (Request, error) {
	return b.decide(ctx, "revoke", approver, id, reason, []State{Pending, Approved}, Revoked, EventRevoked)
}

func (b *Broker) decide(ctx context.Context, action, approver, id, reason string, from []State, to State, typ EventType) (Request, error) {
	ev := Event{Action: action, Actor: approver, RequestID: id}
	reason = strings.TrimSpace(reason)
	invalid := validatePrincipal(approver) // answered whether or not the request exists
	if invalid == nil && (to == Dismissed || reason != "") {
		invalid = ValidateReason(reason)
	}
	r, found, err := b.getRequest(ctx, id)
	if err != nil {
		return Request{}, err
	}
	if found {
		ev.Account, ev.Engineer, ev.Ticket, ev.Tenant = r.Account, r.Engineer, r.Ticket, r.Tenant
	}
	if invalid != nil {
		return Request{}, b.refused(ctx, invalid, ev)
	}
	if !found {
		return Request{}, b.refused(ctx, noRequest(id), ev)
	}
	if err := b.mayDecide(ctx, approver, r); err != nil {
		return Request{}, b.refused(ctx, err, ev)
	}
	now := b.clock()
	if err := checkState(r, now, action, from); err != nil {
		return Request{}, b.refused(ctx, err, ev)
	}
	write, updated, err := b.store.decision(r, from, to, approver, reason, now)
	if err != nil {
		return Request{}, err
	}
	e := Event{Type: typ, Actor: approver, Tenant: r.Tenant, Engineer: r.Engineer, Account: r.Account, RequestID: id, Ticket: r.Ticket,
		Reason: reason}
	if to == Approved {
		e.DurationSeconds = r.DurationSeconds
	}
	// the decision and its event, or neither: no state change the log does not show
	err = b.audit.record(ctx, []types.TransactWriteItem{write}, e)
	if isStale(err) { // another decision, or the clock, got there first
		cur, _, rerr := b.store.getRequest(ctx, id)
		if rerr != nil {
			return Request{}, rerr
		}
		err := checkState(cur, now, action, from)
		if err == nil {
			err = refuse(ErrConflict, "request %s changed while deciding; try again", id)
		}
		return Request{}, b.refused(ctx, err, ev)
	}
	if err != nil {
		return Request{}, err
	}
	return updated, nil
}

// mayDecide: the approver is a person of the tenant that owns the account now, not the requester
// (as a normalized identity: tenant:acme/ALICE@doit.com is alice@doit.com), and not the vendor's staff.
func (b *Broker) mayDecide(ctx context.Context, approver string, r Request) error {
	tenant, _, customer := tenantPrincipal(approver)
	if customer && tenant != r.Tenant { // another tenant's request is as good as none, whoever asks
		return &Refusal{Kind: ErrNotFound, Reason: noRequest(r.ID).Error(),
			Detail: fmt.Sprintf("request %s is tenant %q's, not %q's", r.ID, r.Tenant, tenant)}
	}
	if samePerson(approver, r.Engineer) {
		return refuse(ErrForbidden, "you cannot decide on your own request %s", r.ID)
	}
	if !customer {
		return refuse(ErrForbidden, "only the customer can decide on access requests; %q is not a customer principal (tenant:<tenant>/<user>)", approver)
	}
	if err := b.mayActForCustomer(approver); err != nil {
		return err
	}
	o, err := b.active(ctx, r.Account)
	if err != nil {
		return err
	}
	if tenant != o.Tenant {
		return noAccount(r.Account, "account %s belongs to tenant %q now, not %q", r.Account, o.Tenant, tenant)
	}
	return nil
}

// checkState says why r cannot go through action at now, or nil.
func checkState(r Request, now time.Time, action string, from []State) error {
	st := r.Status(now)
	for _, f := range from {
		if st == f {
			return nil
		}
	}
	switch st {
	case Expired:
		return refuse(ErrConflict, "cannot %s request %s: it has expired", action, r.ID)
	case Dismissed, Revoked, Approved:
		return refuse(ErrConflict, "cannot %s request %s: it was %s by %s", action, r.ID, strings.ToLower(string(st)), r.DecidedBy)
	}
	return refuse(ErrConflict, "cannot %s request %s: it is %s", action, r.ID, st)
}

// PreApprove sets a standing approval for account: requests then start approved, for at most
// maxDuration. A maxDuration of zero removes it.
func (b *Broker) PreApprove(ctx context.Context, approver, account string, maxDuration time.Duration) (PreApproval, error) {
	ev := Event{Action: "pre-approve", Actor: approver, Account: account, DurationSeconds: int64(maxDuration / time.Second)}
	p, err := b.preApprove(ctx, approver, account, maxDuration)
	if err != nil {
		return PreApproval{}, b.refused(ctx, err, ev)
	}
	return p, nil
}

func (b *Broker) preApprove(ctx context.Context, approver, account string, maxDuration time.Duration) (PreApproval, error) {
	if err := validatePrincipal(approver); err != nil {
		return PreApproval{}, err
	}
	tenant, _, ok := tenantPrincipal(approver)
	if !ok {
		return PreApproval{}, refuse(ErrForbidden, "only the customer can pre-approve access; %q is not a customer principal (tenant:<tenant>/<user>)", approver)
	}
	if err := b.mayActForCustomer(approver); err != nil {
		return PreApproval{}, err
	}
	switch {
	case maxDuration < 0 || (maxDuration > 0 && maxDuration < MinSession):
		return PreApproval{}, refuse(ErrInvalid, "maximum duration %s is shorter than the minimum session, %s", maxDuration, MinSession)
	case maxDuration > b.cfg.MaxDuration:
		return PreApproval{}, refuse(ErrInvalid, "maximum duration %s is over the maximum, %s", maxDuration, b.cfg.MaxDuration)
	}
	o, err := b.tenantsAccount(ctx, tenant, account)
	if err != nil {
		return PreApproval{}, err
	}
	now := b.clock()
	p := PreApproval{Account: account, Tenant: tenant, ApprovedBy: approver, MaxDurationSeconds: int64(maxDuration / time.Second),
		CreatedAt: now, StackID: o.StackID}
	write := b.store.preApprovalDelete(account)
	reason := "standing approval removed"
	if maxDuration > 0 {
		if write, err = b.store.preApprovalPut(p); err != nil {
			return PreApproval{}, err
		}
		reason = fmt.Sprintf("standing approval up to %s", maxDuration)
	}
	// the standing approval and its event, or neither
	err = b.audit.record(ctx, []types.TransactWriteItem{write}, Event{Type: EventPreApproval, Actor: approver,
		Tenant: tenant, Account: account, Reason: reason, DurationSeconds: p.MaxDurationSeconds})
	if isStale(err) {
		return PreApproval{}, refuse(ErrConflict, "the standing approval of account %s changed at the same time: try again", account)
	}
	if err != nil {
		return PreApproval{}, err
	}
	return p, nil
}
