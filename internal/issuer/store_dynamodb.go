package issuer

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDBAPI is the part of DynamoDB the key store uses, with the SDK's signatures.
type DynamoDBAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ DynamoDBAPI = (*dynamodb.Client)(nil)

// DynamoStore keeps key records in a table with a string partition key "pk" and sort key "sk"
// (the registry's table fits): one partition per account, "ISSUERKEYS#<account>", one item per
// key, "KEY#<keyID>".
type DynamoStore struct {
	DB    DynamoDBAPI
	Table string
}

var _ KeyStore = (*DynamoStore)(nil)

type keyItem struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
	KeyRecord
}

func keysPartition(account string) string { return "ISSUERKEYS#" + account }

// Keys returns the account's records, oldest first, with a strongly consistent read so a key just
// rotated in is seen.
func (s *DynamoStore) Keys(ctx context.Context, account string) ([]KeyRecord, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :key)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":  &types.AttributeValueMemberS{Value: keysPartition(account)},
			":key": &types.AttributeValueMemberS{Value: "KEY#"},
		},
		ConsistentRead: aws.Bool(true),
	}
	var out []KeyRecord
	for p := dynamodb.NewQueryPaginator(s.DB, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading signing keys of account %s: %w", account, err)
		}
		var items []keyItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return nil, fmt.Errorf("decoding signing keys of account %s: %w", account, err)
		}
		for _, it := range items {
			out = append(out, it.KeyRecord)
		}
	}
	sortKeys(out)
	return out, nil
}

// Put stores k, replacing the item of the same account and key ID.
func (s *DynamoStore) Put(ctx context.Context, k KeyRecord) error {
	item, err := attributevalue.MarshalMap(keyItem{PK: keysPartition(k.Account), SK: "KEY#" + k.KeyID, KeyRecord: k})
	if err != nil {
		return fmt.Errorf("encoding signing key %s: %w", k.KeyID, err)
	}
	if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item}); err != nil {
		return fmt.Errorf("storing signing key %s of account %s: %w", k.KeyID, k.Account, err)
	}
	return nil
}
