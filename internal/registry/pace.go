package registry

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/supportaccess/gateway/internal/awsx"
)

// Take takes one unit of the named budget, which allows limit units per window (fixed windows from
// the Unix epoch), shared by every process that uses the table. ok is false when the window's
// budget is spent; next is when the next window opens. Counters expire with the table's TTL.
func (r *Registry) Take(ctx context.Context, budget string, limit int, window time.Duration) (ok bool, next time.Time, err error) {
	if limit <= 0 || window <= 0 {
		return false, time.Time{}, fmt.Errorf("budget %s: the limit and the window must be positive", budget)
	}
	now := r.now()
	start := now.Truncate(window)
	next = start.Add(window)
	_, err = r.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(r.Table),
		Key: map[string]types.AttributeValue{
			attrPK: s("PACE#" + budget),
			attrSK: s(start.Format(time.RFC3339)),
		},
		UpdateExpression:         aws.String("ADD #n :one SET #exp = :exp"),
		ConditionExpression:      aws.String("attribute_not_exists(#n) OR #n < :limit"),
		ExpressionAttributeNames: map[string]string{"#n": "Count", "#exp": AttrExpires},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one":   &types.AttributeValueMemberN{Value: "1"},
			":limit": &types.AttributeValueMemberN{Value: strconv.Itoa(limit)},
			":exp":   &types.AttributeValueMemberN{Value: strconv.FormatInt(next.Add(window).Unix(), 10)},
		},
	})
	if awsx.IsConditionFailed(err) {
		return false, next, nil
	}
	if err != nil {
		return false, next, fmt.Errorf("taking from budget %s: %w", budget, err)
	}
	return true, next, nil
}

// Exhausted reports whether the named budget's current window is spent (without taking from it).
func (r *Registry) Exhausted(ctx context.Context, budget string, limit int, window time.Duration) (bool, error) {
	start := r.now().Truncate(window)
	out, err := r.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(r.Table),
		Key:            map[string]types.AttributeValue{attrPK: s("PACE#" + budget), attrSK: s(start.Format(time.RFC3339))},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, fmt.Errorf("reading budget %s: %w", budget, err)
	}
	n, ok := out.Item["Count"].(*types.AttributeValueMemberN)
	if !ok {
		return false, nil
	}
	count, err := strconv.Atoi(n.Value)
	return err == nil && count >= limit, nil
}
