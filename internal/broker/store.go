package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/supportaccess/gateway/internal/awsx"
)

// store keeps requests and standing approvals. It reads; its writes are transaction items, which
// the broker sends with their audit events (AuditLog.record), so a state change is never stored
// without the event that records it.
type store struct {
	db    DynamoAPI
	table string
}

func newID(prefix string) (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating an ID: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

// requestPut is the write that stores the new request r (its ID must be new).
func (s *store) requestPut(r Request) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("encoding request %s: %w", r.ID, err)
	}
	for k, v := range requestKey(r.ID) {
		item[k] = v
	}
	// the indexes a request is listed in (list.go)
	item[attrListEngineer], item[attrListTenant], item[attrListAccount] = str(r.Engineer), str(r.Tenant), str(r.Account)
	item[attrListKey] = str(requestListKey(r))
	return types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(s.table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}}, nil
}

func (s *store) getRequest(ctx context.Context, id string) (Request, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: requestKey(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Request{}, false, fmt.Errorf("reading request %s: %w", id, err)
	}
	if out.Item == nil {
		return Request{}, false, nil
	}
	var r Request
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return Request{}, false, fmt.Errorf("decoding request %s: %w", id, err)
	}
	return r.inUTC(), true, nil
}

// decision is the write that moves r from one of the states in from to the state to (for reason,
// "" for none), if it has
// not expired by now (DynamoDB evaluates the condition, so of two racing decisions one fails), and
// the request as it will be once written.
func (s *store) decision(r Request, from []State, to State, by, reason string, now time.Time) (types.TransactWriteItem, Request, error) {
	n, v := expression.Name, expression.Value
	updated := r
	updated.State, updated.DecidedBy, updated.DecidedAt, updated.DecisionReason = to, by, now, reason
	update := expression.Set(n("State"), v(to)).
		Set(n("DecidedBy"), v(by)).
		Set(n("DecidedAt"), v(now.Unix()))
	if reason != "" {
		update = update.Set(n("DecisionReason"), v(reason))
	} else {
		update = update.Remove(n("DecisionReason"))
	}
	switch to {
	case Approved:
		updated.AccessUntil = now.Add(r.Duration())
		update = update.Set(n("AccessUntil"), v(updated.AccessUntil.Unix()))
	case Revoked:
		updated.AccessUntil = now
		update = update.Set(n("AccessUntil"), v(now.Unix()))
	}
	var states []expression.OperandBuilder
	for _, st := range from {
		states = append(states, v(st))
	}
	inState := n("State").Equal(v(from[0]))
	if len(from) > 1 {
		inState = n("State").In(states[0], states[1:]...)
	}
	// not expired: a pending request before PendingUntil, an approved one before AccessUntil
	live := n("State").Equal(v(Pending)).And(n("PendingUntil").GreaterThan(v(now.Unix()))).
		Or(n("State").Equal(v(Approved)).And(n("AccessUntil").GreaterThan(v(now.Unix()))))
	expr, err := expression.NewBuilder().WithUpdate(update).
		WithCondition(expression.AttributeExists(n(attrPK)).And(inState).And(live)).Build()
	if err != nil {
		return types.TransactWriteItem{}, Request{}, fmt.Errorf("building the decision on %s: %w", r.ID, err)
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       requestKey(r.ID),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}}, updated, nil
}

// isStale is awsx.IsStale.
var isStale = awsx.IsStale

// stillApproved is the condition that request id is approved and inside its window at now: not
// revoked, not expired. The writes of a session's events rest on it.
func (s *store) stillApproved(id string, now time.Time) (types.TransactWriteItem, error) {
	n, v := expression.Name, expression.Value
	cond := n("State").Equal(v(Approved)).And(n("AccessUntil").GreaterThan(v(now.Unix())))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("building the approval condition of %s: %w", id, err)
	}
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: aws.String(s.table), Key: requestKey(id), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}, nil
}

func (s *store) getPreApproval(ctx context.Context, account string) (PreApproval, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: preApprovalKey(account), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return PreApproval{}, false, fmt.Errorf("reading the pre-approval of %s: %w", account, err)
	}
	if out.Item == nil {
		return PreApproval{}, false, nil
	}
	var p PreApproval
	if err := attributevalue.UnmarshalMap(out.Item, &p); err != nil {
		return PreApproval{}, false, fmt.Errorf("decoding the pre-approval of %s: %w", account, err)
	}
	return p, true, nil
}

// preApprovalPut is the write that sets the standing approval p.
func (s *store) preApprovalPut(p PreApproval) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(p)
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("encoding the pre-approval of %s: %w", p.Account, err)
	}
	for k, v := range preApprovalKey(p.Account) {
		item[k] = v
	}
	item[attrListTenant], item[attrListKey] = str(p.Tenant), str(preApprovalListPrefix+p.Account)
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: item}}, nil
}

// preApprovalDelete is the write that removes account's standing approval.
func (s *store) preApprovalDelete(account string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: preApprovalKey(account)}}
}

// preApprovalUnchanged is the condition that p, as read, is still the account's standing approval:
// a request it approves is stored only if nobody removed or replaced it in the meantime.
func (s *store) preApprovalUnchanged(p PreApproval) (types.TransactWriteItem, error) {
	n, v := expression.Name, expression.Value
	cond := expression.AttributeExists(n(attrPK)).
		And(n("ApprovedBy").Equal(v(p.ApprovedBy))).
		And(n("Tenant").Equal(v(p.Tenant))).
		And(n("MaxDurationSeconds").Equal(v(p.MaxDurationSeconds))).
		And(n("CreatedAt").Equal(v(p.CreatedAt.Unix())))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("building the pre-approval condition of %s: %w", p.Account, err)
	}
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: aws.String(s.table), Key: preApprovalKey(p.Account), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}, nil
}
