package broker

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/supportaccess/gateway/internal/registry"
)

// The broker table's sparse global secondary indexes (tables.Broker declares them): request items
// are listed by engineer, by tenant and by account, standing approvals by tenant. Their sort key
// orders requests by creation time ("REQUEST#<created>#<id>") and names a standing approval's
// account ("PREAPPROVAL#<account>"). Index reads are eventually consistent: a request made a
// moment ago may be missing from a list; reading it by ID (Get) is consistent.
const (
	IndexByEngineer = "ByEngineer"
	IndexByTenant   = "ByTenant"
	IndexByAccount  = "ByAccount"

	attrListEngineer = "ListEngineer"
	attrListTenant   = "ListTenant"
	attrListAccount  = "ListAccount"
	attrListKey      = "ListKey"

	requestListPrefix     = "REQUEST#"
	preApprovalListPrefix = "PREAPPROVAL#"
)

// Listing limits: a page holds at most MaxListLimit requests (DefaultListLimit unless asked), and
// one call reads at most maxListExamined index items, answering with fewer and a cursor past that.
const (
	DefaultListLimit = 50
	MaxListLimit     = 100
	maxListExamined  = 1000
)

// requestListKey is a request's sort key in the indexes: newest last, so a backward query lists
// the newest first.
func requestListKey(r Request) string {
	return requestListPrefix + r.CreatedAt.UTC().Format(sortTime) + "#" + r.ID
}

// listKeyPattern is the shape of a request's index sort key, the cursor's content.
var listKeyPattern = regexp.MustCompile(`^REQUEST#\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z#(req-[0-9a-f]{24})$`)

// ListQuery selects the requests ListRequests returns.
type ListQuery struct {
	// Account: only this account's requests (12 digits); "" for the caller's own (an engineer's) or
	// the caller's tenant's (a customer's).
	Account string
	// State: only requests in this state at now, Expired included (Request.Status); "" for all.
	State State
	// Limit: at most this many (1 to MaxListLimit; 0 for DefaultListLimit).
	Limit int
	// Cursor: where the previous page ended (RequestPage.Next); "" for the newest.
	Cursor string
}

// RequestPage is one page of requests, newest first, each with its state at the time it was read
// (expiry applied). Next, if set, is the cursor of the following page; a page may hold fewer than
// the limit and still have one.
type RequestPage struct {
	Requests []Request `json:"requests"`
	Next     string    `json:"next,omitempty"`
}

// states are the values ListQuery.State takes, as the API spells them.
var states = []State{Pending, Approved, Dismissed, Revoked, Expired}

// ParseState reads a state as the API spells it ("PENDING", …; any case), refusing another with
// the allowed values listed.
func ParseState(s string) (State, error) {
	for _, st := range states {
		if strings.EqualFold(s, string(st)) {
			return st, nil
		}
	}
	names := make([]string, len(states))
	for i, st := range states {
		names[i] = string(st)
	}
	return "", refuse(ErrInvalid, "state %q is not one of %s", echo(s), strings.Join(names, ", "))
}

// ParseLimit reads a page size: an integer from 1 to MaxListLimit ("" for DefaultListLimit).
func ParseLimit(s string) (int, error) {
	if s == "" {
		return DefaultListLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxListLimit {
		return 0, refuse(ErrInvalid, "limit %q is not a whole number from 1 to %d", echo(s), MaxListLimit)
	}
	return n, nil
}

// ListRequests lists requests as who may see them: an engineer (a vendor principal) their own, or
// any account's with q.Account; a customer its tenant's, or those of one account its tenant owns
// now, made while it did. An account the customer cannot use answers as an unknown one (404).
// Refusals are audited (action "list-requests").
func (b *Broker) ListRequests(ctx context.Context, who string, q ListQuery) (RequestPage, error) {
	page, err := b.listRequests(ctx, who, q)
	if err != nil {
		return RequestPage{}, b.refused(ctx, err, Event{Action: "list-requests", Actor: who, Account: q.Account})
	}
	return page, nil
}

func (b *Broker) listRequests(ctx context.Context, who string, q ListQuery) (RequestPage, error) {
	if err := validatePrincipal(who); err != nil {
		return RequestPage{}, err
	}
	if q.State != "" {
		if _, err := ParseState(string(q.State)); err != nil {
			return RequestPage{}, err
		}
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultListLimit
	case q.Limit < 0 || q.Limit > MaxListLimit:
		return RequestPage{}, refuse(ErrInvalid, "limit %d is not from 1 to %d", q.Limit, MaxListLimit)
	}
	var start string
	if q.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err != nil || !listKeyPattern.Match(raw) {
			return RequestPage{}, refuse(ErrInvalid, "cursor %q is not one this API gave: start again without it", echo(q.Cursor))
		}
		start = string(raw)
	}
	if q.Account != "" && !accountPattern.MatchString(q.Account) {
		return RequestPage{}, refuse(ErrInvalid, "account ID %q is not 12 digits", echo(q.Account))
	}
	index, attr, value := IndexByEngineer, attrListEngineer, who
	keep := func(Request) (bool, error) { return true, nil }
	if tenant, _, ok := tenantPrincipal(who); ok {
		// a customer's: its tenant's requests of accounts its tenant owns now (after a hand-over,
		// the account's history is no longer the previous tenant's to read, as with the audit)
		index, attr, value = IndexByTenant, attrListTenant, tenant
		owns := b.ownership(ctx, tenant)
		keep = func(r Request) (bool, error) {
			if r.Tenant != tenant {
				return false, nil
			}
			_, owned, err := owns(r.Account)
			return owned, err
		}
		if q.Account != "" {
			if _, err := b.tenantsAccount(ctx, tenant, q.Account); err != nil {
				return RequestPage{}, err
			}
			index, attr, value = IndexByAccount, attrListAccount, q.Account
		}
	} else if q.Account != "" {
		index, attr, value = IndexByAccount, attrListAccount, q.Account
	}
	now := b.clock()
	var page RequestPage
	examined := 0
	err := b.store.queryIndex(ctx, index, attr, value, requestListPrefix, start, func(item map[string]types.AttributeValue, more bool) (bool, error) {
		var r Request
		if err := attributevalue.UnmarshalMap(item, &r); err != nil {
			return false, fmt.Errorf("decoding a listed request: %w", err)
		}
		examined++
		r = r.inUTC()
		r.State = r.Status(now)
		kept, err := keep(r)
		if err != nil {
			return false, err
		}
		if kept && (q.State == "" || r.State == q.State) {
			page.Requests = append(page.Requests, r)
		}
		if more && (len(page.Requests) == q.Limit || examined == maxListExamined) {
			page.Next = base64.RawURLEncoding.EncodeToString([]byte(requestListKey(r)))
			return false, nil
		}
		return true, nil
	})
	if page.Requests == nil {
		page.Requests = []Request{}
	}
	return page, err
}

// ReadRequest returns request id as who may see it, with its state at now: an engineer (a vendor
// principal) any, a customer its tenant's; another tenant's answers as an unknown one (404).
// Refusals are audited (action "read-request").
func (b *Broker) ReadRequest(ctx context.Context, who, id string) (Request, error) {
	ev := Event{Action: "read-request", Actor: who, RequestID: id}
	invalid := validatePrincipal(who)
	r, found, err := b.getRequest(ctx, id)
	if err != nil {
		return Request{}, err
	}
	if found {
		ev.Account, ev.Engineer, ev.Ticket, ev.Tenant = r.Account, r.Engineer, r.Ticket, r.Tenant
	}
	switch {
	case invalid != nil:
		return Request{}, b.refused(ctx, invalid, ev)
	case !found:
		return Request{}, b.refused(ctx, noRequest(id), ev)
	}
	if tenant, _, ok := tenantPrincipal(who); ok {
		if tenant != r.Tenant {
			return Request{}, b.refused(ctx, &Refusal{Kind: ErrNotFound, Reason: noRequest(r.ID).Error(),
				Detail: fmt.Sprintf("request %s is tenant %q's, not %q's", r.ID, r.Tenant, tenant)}, ev)
		}
		_, owned, err := b.ownership(ctx, tenant)(r.Account)
		if err != nil {
			return Request{}, err
		}
		if !owned {
			return Request{}, b.refused(ctx, &Refusal{Kind: ErrNotFound, Reason: noRequest(r.ID).Error(),
				Detail: fmt.Sprintf("request %s is of account %s, which tenant %q no longer owns", r.ID, r.Account, tenant)}, ev)
		}
	}
	r.State = r.Status(b.clock())
	return r, nil
}

// ReadAudit returns the audit events f selects, oldest first, as who may read them: the rules of
// GET /audit (mayReadAudit), a customer reading one account its tenant owns now (f.Account), its
// tenant's events only and without their Detail; a vendor principal any account's or person's.
// An account the customer cannot use answers as an unknown one (404). Refusals are audited
// (action "read-audit").
func (b *Broker) ReadAudit(ctx context.Context, who string, f Filter) ([]Event, error) {
	f, err := b.mayReadAudit(ctx, who, f)
	if err == nil {
		err = f.Check()
	}
	if err != nil {
		return nil, b.refused(ctx, err, Event{Action: "read-audit", Actor: who, Account: f.Account})
	}
	return b.audit.List(ctx, f)
}

// PreApprovalQuery selects standing approvals: one account's (12 digits), or one tenant's (a
// vendor principal's query; a customer's tenant is its own).
type PreApprovalQuery struct {
	Account string
	Tenant  string
}

// ListPreApprovals lists standing approvals as who may see them: a customer its tenant's (of one
// account its tenant owns, with q.Account); a vendor principal one account's or one tenant's.
// Refusals are audited (action "list-pre-approvals").
func (b *Broker) ListPreApprovals(ctx context.Context, who string, q PreApprovalQuery) ([]PreApproval, error) {
	out, err := b.listPreApprovals(ctx, who, q)
	if err != nil {
		return nil, b.refused(ctx, err, Event{Action: "list-pre-approvals", Actor: who, Account: q.Account})
	}
	return out, nil
}

func (b *Broker) listPreApprovals(ctx context.Context, who string, q PreApprovalQuery) ([]PreApproval, error) {
	if err := validatePrincipal(who); err != nil {
		return nil, err
	}
	if q.Account != "" && !accountPattern.MatchString(q.Account) {
		return nil, refuse(ErrInvalid, "account ID %q is not 12 digits", echo(q.Account))
	}
	if tenant, _, ok := tenantPrincipal(who); ok {
		if q.Tenant != "" {
			return nil, refuse(ErrInvalid, "a customer lists its own tenant's standing approvals: leave out tenant")
		}
		if q.Account != "" {
			if _, err := b.tenantsAccount(ctx, tenant, q.Account); err != nil {
				return nil, err
			}
		}
		q.Tenant = tenant
	} else if (q.Account == "") == (q.Tenant == "") {
		return nil, refuse(ErrInvalid, "name exactly one of account or tenant")
	}
	// a customer's: only the standing approvals that hold (its tenant's, set under the stack of the
	// account's registration now); one left from before a hand-over approves nothing and is not shown
	keep := func(PreApproval) (bool, error) { return true, nil }
	if _, _, customer := tenantPrincipal(who); customer {
		owns := b.ownership(ctx, q.Tenant)
		keep = func(p PreApproval) (bool, error) {
			o, owned, err := owns(p.Account)
			return owned && p.holdsFor(o), err
		}
	}
	out := []PreApproval{}
	add := func(p PreApproval) error {
		kept, err := keep(p)
		if kept {
			out = append(out, p.inUTC())
		}
		return err
	}
	if q.Account != "" {
		p, found, err := b.store.getPreApproval(ctx, q.Account)
		if err != nil || !found || (q.Tenant != "" && p.Tenant != q.Tenant) {
			return out, err
		}
		return out, add(p)
	}
	if err := validTenantName(q.Tenant); err != nil {
		return nil, err
	}
	err := b.store.queryIndex(ctx, IndexByTenant, attrListTenant, q.Tenant, preApprovalListPrefix, "", func(item map[string]types.AttributeValue, _ bool) (bool, error) {
		var p PreApproval
		if err := attributevalue.UnmarshalMap(item, &p); err != nil {
			return false, fmt.Errorf("decoding a listed standing approval: %w", err)
		}
		return true, add(p)
	})
	return out, err
}

// validTenantName says why a tenant named in a query cannot be one, or nil: at most
// MaxPrincipalBytes of text without control characters (what a key holds).
func validTenantName(t string) error {
	if err := validatePrincipal(t); err != nil {
		return refuse(ErrInvalid, "tenant %q is not a tenant name", echo(t))
	}
	return nil
}

// queryIndex reads index's items whose attr is value and whose sort key starts with prefix, newest
// (greatest) first, from after start (a sort key; "" for the first), and calls fn on each with
// whether more may follow, until fn says stop (false) or the items run out.
func (s *store) queryIndex(ctx context.Context, index, attr, value, prefix, start string,
	fn func(item map[string]types.AttributeValue, more bool) (bool, error)) error {
	cond := expression.Key(attr).Equal(expression.Value(value)).
		And(expression.Key(attrListKey).BeginsWith(prefix))
	expr, err := expression.NewBuilder().WithKeyCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("building the %s query: %w", index, err)
	}
	var exclusive map[string]types.AttributeValue
	if start != "" {
		m := listKeyPattern.FindStringSubmatch(start)
		if m == nil {
			return fmt.Errorf("%s: start %q is not a request's sort key", index, start)
		}
		exclusive = requestKey(m[1])
		exclusive[attr], exclusive[attrListKey] = str(value), str(start)
	}
	for {
		page, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			IndexName:                 aws.String(index),
			KeyConditionExpression:    expr.KeyCondition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ExclusiveStartKey:         exclusive,
			ScanIndexForward:          aws.Bool(false),
			Limit:                     aws.Int32(MaxListLimit),
		})
		if err != nil {
			return fmt.Errorf("querying %s: %w", index, err)
		}
		for i, item := range page.Items {
			more := i < len(page.Items)-1 || len(page.LastEvaluatedKey) > 0
			goOn, err := fn(item, more)
			if err != nil || !goOn {
				return err
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return nil
		}
		exclusive = page.LastEvaluatedKey
	}
}

// ownership returns a function that reads an account's usable onboarding now (Broker.active) and
// whether tenant owns it, each account once per call. An account nobody can use is owned by no
// one; a registry failure is an error.
func (b *Broker) ownership(ctx context.Context, tenant string) func(account string) (registry.Onboarding, bool, error) {
	type answer struct {
		o     registry.Onboarding
		owned bool
	}
	seen := map[string]answer{}
	return func(account string) (registry.Onboarding, bool, error) {
		if a, ok := seen[account]; ok {
			return a.o, a.owned, nil
		}
		o, err := b.active(ctx, account)
		if err != nil && !isRefusal(err) {
			return registry.Onboarding{}, false, err
		}
		a := answer{o: o, owned: err == nil && o.Tenant == tenant}
		seen[account] = a
		return a.o, a.owned, nil
	}
}
