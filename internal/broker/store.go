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

// store keeps requests and standing approvals. Every state change is a conditional write.
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

func (s *store) putRequest(ctx context.Context, r Request) error {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return fmt.Errorf("encoding request %s: %w", r.ID, err)
	}
	for k, v := range requestKey(r.ID) {
		item[k] = v
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil {
		return fmt.Errorf("recording request %s: %w", r.ID, err)
	}
	return nil
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

// decide moves request id from one of the states in from to the state to, if it has not expired by
// now (the condition is evaluated by DynamoDB, so of two racing decisions one fails). It reports
// false, with no error, when the condition failed.
func (s *store) decide(ctx context.Context, id string, from []State, to State, by string, now time.Time, accessFor time.Duration) (Request, bool, error) {
	n, v := expression.Name, expression.Value
	update := expression.Set(n("State"), v(to)).
		Set(n("DecidedBy"), v(by)).
		Set(n("DecidedAt"), v(now.Unix()))
	if to == Approved {
		update = update.Set(n("AccessUntil"), v(now.Add(accessFor).Unix()))
	}
	if to == Revoked {
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
		return Request{}, false, fmt.Errorf("building the decision on %s: %w", id, err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       requestKey(id),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueAllNew,
	})
	if awsx.IsConditionFailed(err) {
		return Request{}, false, nil
	}
	if err != nil {
		return Request{}, false, fmt.Errorf("recording the decision on %s: %w", id, err)
	}
	var r Request
	if err := attributevalue.UnmarshalMap(out.Attributes, &r); err != nil {
		return Request{}, false, fmt.Errorf("decoding request %s: %w", id, err)
	}
	return r.inUTC(), true, nil
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

func (s *store) putPreApproval(ctx context.Context, p PreApproval) error {
	item, err := attributevalue.MarshalMap(p)
	if err != nil {
		return fmt.Errorf("encoding the pre-approval of %s: %w", p.Account, err)
	}
	for k, v := range preApprovalKey(p.Account) {
		item[k] = v
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return fmt.Errorf("recording the pre-approval of %s: %w", p.Account, err)
	}
	return nil
}

func (s *store) deletePreApproval(ctx context.Context, account string) error {
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: preApprovalKey(account)}); err != nil {
		return fmt.Errorf("removing the pre-approval of %s: %w", account, err)
	}
	return nil
}
