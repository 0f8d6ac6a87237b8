package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// EventType is what an audit event records.
type EventType string

const (
	EventRequested   EventType = "REQUESTED"
	EventApproved    EventType = "APPROVED"
	EventDismissed   EventType = "DISMISSED"
	EventRevoked     EventType = "REVOKED"
	EventPreApproval EventType = "PRE_APPROVAL" // a standing approval was set or removed
	EventTokenMinted EventType = "TOKEN_MINTED"
	EventSession     EventType = "SESSION_ISSUED"
	EventRefused     EventType = "REFUSED" // a rule refused it; Reason says which
	EventFailed      EventType = "FAILED"  // an error stopped it (AWS, the issuer); nothing was issued
	// EventConfigured: a customer changed how its accounts reach support (the console: a new
	// onboarding link, a tenant token issued or revoked); Action says which.
	EventConfigured EventType = "CONFIGURED"
)

// Event is one audit record. It never holds a token or a secret.
type Event struct {
	ID     string    `dynamodbav:"EventId" json:"id"`
	Time   time.Time `dynamodbav:"Time" json:"time"`
	Type   EventType `dynamodbav:"Type" json:"type"`
	Action string    `dynamodbav:"Action,omitempty" json:"action,omitempty"` // what was attempted (refusals)
	Actor  string    `dynamodbav:"Actor" json:"actor"`                       // who did it
	// Tenant is whose record this is: the actor's tenant for a customer's action, else the tenant
	// the request, or the account at the time, belonged to ("": no tenant's; only the vendor reads
	// it). A customer reads its tenant's events only (Filter.Tenant): never another tenant's probes
	// of its account, nor the account's history under a previous tenant.
	Tenant    string `dynamodbav:"Tenant,omitempty" json:"tenant,omitempty"`
	Engineer  string `dynamodbav:"Engineer,omitempty" json:"engineer,omitempty"`
	Account   string `dynamodbav:"AccountId,omitempty" json:"account,omitempty"`
	RequestID string `dynamodbav:"RequestId,omitempty" json:"requestId,omitempty"`
	Ticket    string `dynamodbav:"Ticket,omitempty" json:"ticket,omitempty"`
	Reason    string `dynamodbav:"Reason,omitempty" json:"reason,omitempty"` // a refusal's, or the justification
	// Detail is a refusal's precise reason where the caller was told less (Refusal.Detail).
	Detail string `dynamodbav:"Detail,omitempty" json:"detail,omitempty"`
	// DurationSeconds is the requested, approved or pre-approved length of access.
	DurationSeconds int64 `dynamodbav:"DurationSeconds,omitempty" json:"durationSeconds,omitempty"`
	// TokenID and TokenExpiry identify a minted token (its jti and exp), never the token.
	TokenID     string    `dynamodbav:"TokenId,omitempty" json:"tokenId,omitempty"`
	TokenExpiry time.Time `dynamodbav:"TokenExpiry,omitempty" json:"tokenExpiry,omitzero"`
	// Subject is the token's sub: the engineer's pairwise identifier in this account, which the
	// customer's CloudTrail shows for the session's AssumeRoleWithWebIdentity call.
	Subject string `dynamodbav:"Subject,omitempty" json:"subject,omitempty"`
	// A session: the role, session name, last four characters of the access key ID, and expiry.
	RoleARN       string    `dynamodbav:"RoleArn,omitempty" json:"roleArn,omitempty"`
	SessionName   string    `dynamodbav:"SessionName,omitempty" json:"sessionName,omitempty"`
	AccessKeyLast string    `dynamodbav:"AccessKeyLast4,omitempty" json:"accessKeyLast4,omitempty"`
	SessionExpiry time.Time `dynamodbav:"SessionExpiry,omitempty" json:"sessionExpiry,omitzero"`
}

var sequence atomic.Uint64

// AuditLog stores events in the broker's table, each under its account's and its people's
// partitions, with a TTL of Retention.
type AuditLog struct {
	DB    DynamoAPI
	Table string
	Now   func() time.Time // nil: time.Now
}

func (a *AuditLog) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// Record stores e, filling in its ID and time if they are empty.
func (a *AuditLog) Record(ctx context.Context, e Event) error {
	return a.record(ctx, nil, e)
}

// record writes events together with writes, the state change they record (and any condition it
// rests on), in one DynamoDB transaction: all of it is stored, or none. A failed condition cancels
// the whole transaction: isStale tells it apart.
func (a *AuditLog) record(ctx context.Context, writes []types.TransactWriteItem, events ...Event) error {
	items := writes
	for _, e := range events {
		puts, err := a.puts(e)
		if err != nil {
			return err
		}
		items = append(items, puts...)
	}
	if _, err := a.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		return fmt.Errorf("recording audit event %s for %s: %w", events[0].Type, events[0].Account, err)
	}
	return nil
}

// puts are the writes that store e, filling in its ID and time if they are empty: one item per
// partition it is listed under.
func (a *AuditLog) puts(e Event) ([]types.TransactWriteItem, error) {
	if e.ID == "" {
		id, err := newID("evt-")
		if err != nil {
			return nil, err
		}
		e.ID = id
	}
	if e.Time.IsZero() {
		e.Time = a.now()
	}
	e.Time = e.Time.UTC()
	item, err := attributevalue.MarshalMap(e)
	if err != nil {
		return nil, fmt.Errorf("encoding audit event %s: %w", e.Type, err)
	}
	item[attrTTL] = &types.AttributeValueMemberN{Value: fmt.Sprint(e.Time.Add(Retention).Unix())}
	// the sequence orders this process's events of one instant (a fake clock, or a coarse one)
	sk := fmt.Sprintf("%s#%016x#%s", e.Time.Format(sortTime), sequence.Add(1), e.ID)
	var puts []types.TransactWriteItem
	for _, pk := range partitions(e) {
		it := make(map[string]types.AttributeValue, len(item)+2)
		for k, v := range item {
			it[k] = v
		}
		it[attrPK], it[attrSK] = str(pk), str(sk)
		puts = append(puts, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(a.Table), Item: it}})
	}
	if len(puts) == 0 {
		return nil, fmt.Errorf("audit event %s names no account and no person", e.Type)
	}
	return puts, nil
}

// partitions are the indexes an event is listed under: its account, its engineer, and its actor;
// a CONFIGURED event also under its tenant (Filter.Configuration), for it may name no account the
// tenant owns (a token, a link for an account not registered yet).
func partitions(e Event) []string {
	var out []string
	if e.Type == EventConfigured && e.Tenant != "" {
		out = append(out, tenantPartition(e.Tenant))
	}
	if e.Account != "" {
		out = append(out, accountPartition(e.Account))
	}
	if e.Engineer != "" {
		out = append(out, principalPartition(e.Engineer))
	}
	if e.Actor != "" && e.Actor != e.Engineer {
		out = append(out, principalPartition(e.Actor))
	}
	return out
}

// Filter selects events: those of one account, of one person (as engineer or actor), or one
// tenant's CONFIGURED events (Configuration), optionally in [Since, Until). With Tenant set it is
// that tenant's view: its events only (Event.Tenant), and without their Detail (what the vendor's
// log holds and the caller was not told).
type Filter struct {
	Account       string
	Engineer      string
	Configuration string // a tenant
	Since         time.Time
	Until         time.Time
	Tenant        string
}

// ErrFilter: a filter must name exactly one account, one person or one tenant's configuration.
var ErrFilter = errors.New("the audit filter needs exactly one of account or engineer")

// List returns the events that match f, oldest first.
func (a *AuditLog) List(ctx context.Context, f Filter) ([]Event, error) {
	var out []Event
	err := a.each(ctx, f, func(e Event) error { out = append(out, e); return nil })
	return out, err
}

// Export writes the events that match f to w as JSON lines, oldest first.
func (a *AuditLog) Export(ctx context.Context, w io.Writer, f Filter) error {
	enc := json.NewEncoder(w)
	return a.each(ctx, f, func(e Event) error { return enc.Encode(e) })
}

// Check says why f selects nothing that can be listed, or nil: it names exactly one account (12
// digits) or one person (at most MaxPrincipalBytes, as every principal recorded).
func (f Filter) Check() error {
	named := 0
	for _, v := range []string{f.Account, f.Engineer, f.Configuration} {
		if v != "" {
			named++
		}
	}
	switch {
	case named != 1:
		return refuse(ErrInvalid, "%s", ErrFilter.Error())
	case f.Account != "" && !accountPattern.MatchString(f.Account):
		return refuse(ErrInvalid, "account ID %q is not 12 digits", echo(f.Account))
	case len(f.Engineer) > MaxPrincipalBytes:
		return refuse(ErrInvalid, "the engineer is too long: at most %d bytes, and it has %d", MaxPrincipalBytes, len(f.Engineer))
	}
	return nil
}

func (a *AuditLog) each(ctx context.Context, f Filter, fn func(Event) error) error {
	if err := f.Check(); err != nil {
		return err
	}
	pk := principalPartition(f.Engineer)
	switch {
	case f.Account != "":
		pk = accountPartition(f.Account)
	case f.Configuration != "":
		pk = tenantPartition(f.Configuration)
	}
	since, until := "0", "9"
	if !f.Since.IsZero() {
		since = f.Since.UTC().Format(sortTime)
	}
	if !f.Until.IsZero() {
		until = f.Until.UTC().Format(sortTime)
	}
	cond := expression.Key(attrPK).Equal(expression.Value(pk)).
		And(expression.Key(attrSK).Between(expression.Value(since), expression.Value(until)))
	expr, err := expression.NewBuilder().WithKeyCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("building the audit query: %w", err)
	}
	var start map[string]types.AttributeValue
	for {
		page, err := a.DB.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(a.Table),
			KeyConditionExpression:    expr.KeyCondition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ExclusiveStartKey:         start,
			ConsistentRead:            aws.Bool(true),
		})
		if err != nil {
			return fmt.Errorf("listing audit events: %w", err)
		}
		var events []Event
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &events); err != nil {
			return fmt.Errorf("decoding audit events: %w", err)
		}
		for _, e := range events {
			if f.Tenant != "" {
				if e.Tenant != f.Tenant {
					continue
				}
				e.Detail = ""
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return nil
		}
		start = page.LastEvaluatedKey
	}
}
