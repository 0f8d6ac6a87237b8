package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/supportaccess/gateway/internal/registry"
)

// Key and TTL attributes of the broker's table.
const (
	attrPK  = "pk"
	attrSK  = "sk"
	attrTTL = "ExpiresAt" // epoch seconds; DynamoDB deletes the item some time after
)

// Retention is how long requests and audit events are kept.
const Retention = 30 * 24 * time.Hour

// DynamoAPI is the part of DynamoDB the broker uses. It writes only by TransactWriteItems: every
// state change goes with its audit event.
type DynamoAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ DynamoAPI = (*dynamodb.Client)(nil)

// TableAPI is what CreateTable needs.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

var _ TableAPI = (*dynamodb.Client)(nil)

// TableInput defines the broker's table: requests, standing approvals and audit events. It has the
// registry table's shape (pk/sk strings, on-demand, encrypted at rest) and the sparse indexes that
// list requests and standing approvals (list.go). CreateTable has no TTL setting: TTLInput enables
// it once the table exists (CreateTable here does both).
func TableInput(name string) *dynamodb.CreateTableInput {
	in := registry.TableInput(name)
	in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
		AttributeName: aws.String(attrListKey), AttributeType: types.ScalarAttributeTypeS})
	for _, ix := range []struct{ name, attr string }{
		{IndexByEngineer, attrListEngineer}, {IndexByTenant, attrListTenant}, {IndexByAccount, attrListAccount},
	} {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(ix.attr), AttributeType: types.ScalarAttributeTypeS})
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(ix.name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(ix.attr), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(attrListKey), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	return in
}

// TTLInput turns on expiry by the ExpiresAt attribute.
func TTLInput(name string) *dynamodb.UpdateTimeToLiveInput {
	return &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(attrTTL), Enabled: aws.Bool(true),
		},
	}
}

// CreateTable creates the table, waits until it is active, and enables its TTL.
func CreateTable(ctx context.Context, db TableAPI, name string) error {
	if _, err := db.CreateTable(ctx, TableInput(name)); err != nil {
		return fmt.Errorf("creating table %s: %w", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = time.Second })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 5*time.Minute); err != nil {
		return fmt.Errorf("waiting for table %s: %w", name, err)
	}
	if _, err := db.UpdateTimeToLive(ctx, TTLInput(name)); err != nil {
		return fmt.Errorf("enabling the TTL of table %s: %w", name, err)
	}
	return nil
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(pk), attrSK: str(sk)}
}

func requestKey(id string) map[string]types.AttributeValue { return key("REQUEST#"+id, "REQUEST") }

func preApprovalKey(account string) map[string]types.AttributeValue {
	return key("PREAPPROVAL#"+account, "PREAPPROVAL")
}

// Audit partitions: one per account and one per person (engineer or actor).
func accountPartition(account string) string     { return "AUDIT#ACCOUNT#" + account }
func principalPartition(principal string) string { return "AUDIT#PRINCIPAL#" + principal }
func tenantPartition(tenant string) string       { return "AUDIT#TENANT#" + tenant }

// sortTime is a fixed-width UTC time, so that sort keys order by time.
const sortTime = "2006-01-02T15:04:05.000000000Z"
