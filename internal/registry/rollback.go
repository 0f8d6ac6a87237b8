package registry

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// RolledBackTTL is how long a rolled-back Create is remembered. SNS retries a delivery to Lambda for
// up to 23 days ("Amazon SNS message delivery retries", AWS-managed endpoints), so a copy of the
// Create can arrive that late; a month covers it.
const RolledBackTTL = 30 * 24 * time.Hour

func rolledBackKey(marker string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: "ROLLEDBACK#" + marker},
		attrSK: &types.AttributeValueMemberS{Value: "REQUEST"},
	}
}

// MarkRolledBack records that CloudFormation deleted marker, the FailedCreateID of a Create: it
// gave that Create up, and a late copy of it must do nothing (RolledBack).
func (r *Registry) MarkRolledBack(ctx context.Context, marker string) error {
	item := rolledBackKey(marker)
	item["At"] = s(r.now().Format(time.RFC3339Nano))
	item[AttrExpires] = &types.AttributeValueMemberN{Value: strconv.FormatInt(r.now().Add(RolledBackTTL).Unix(), 10)}
	if _, err := r.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(r.Table), Item: item}); err != nil {
		return fmt.Errorf("recording the rollback of %s: %w", marker, err)
	}
	return nil
}

// RolledBack reports whether the Create whose failure marker is marker was rolled back.
func (r *Registry) RolledBack(ctx context.Context, marker string) (bool, error) {
	out, err := r.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(r.Table), Key: rolledBackKey(marker), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, fmt.Errorf("checking whether %s was rolled back: %w", marker, err)
	}
	return out.Item != nil, nil
}
