package registry

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Key attributes of the table: a partition per account (or per tenant-token hash, rolled-back
// request, pacing window) and a sort key per kind of record.
const (
	attrPK      = "pk"
	attrSK      = "sk"
	attrVersion = "Version"
	// AttrExpires is the table's TTL attribute (Unix seconds): tombstones and pacing counters expire.
	AttrExpires = "ExpiresAt"

	skConflict = "CONFLICT"
)

// TableInput defines the registry table; tests create it from here and the vendor's backend stack
// will declare the same keys (and TTL on AttrExpires). On-demand billing, encrypted at rest.
func TableInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
		BillingMode:      types.BillingModePayPerRequest,
		SSESpecification: &types.SSESpecification{Enabled: aws.Bool(true)},
	}
}

func accountPK(account string) string { return "ACCOUNT#" + account }

func accountKey(account, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: accountPK(account)},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

// tokenPKPrefix begins a tenant token's partition key; its hash follows.
const tokenPKPrefix = "TENANTTOKEN#"

func tokenKey(hash string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: tokenPKPrefix + hash},
		attrSK: &types.AttributeValueMemberS{Value: "TOKEN"},
	}
}
