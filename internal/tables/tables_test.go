package tables_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/internal/tables"
)

// shape reads a table's definition back from a CreateTable input (and the TTL attribute the code
// enables): keys with their types, indexes. Names are not compared: tests name tables as they like.
func shape(t *testing.T, in *dynamodb.CreateTableInput, ttl string) tables.Table {
	t.Helper()
	defined := map[string]tables.AttributeType{}
	for _, a := range in.AttributeDefinitions {
		defined[aws.ToString(a.AttributeName)] = tables.AttributeType(a.AttributeType)
	}
	keys := func(schema []types.KeySchemaElement) (pk, sk tables.Attribute) {
		for _, k := range schema {
			name := aws.ToString(k.AttributeName)
			typ, ok := defined[name]
			require.True(t, ok, "key %s has no attribute definition", name)
			switch k.KeyType {
			case types.KeyTypeHash:
				pk = tables.Attribute{Name: name, Type: typ}
			case types.KeyTypeRange:
				sk = tables.Attribute{Name: name, Type: typ}
			default:
				t.Fatalf("key %s: key type %q", name, k.KeyType)
			}
		}
		return pk, sk
	}
	var got tables.Table
	got.PartitionKey, got.SortKey = keys(in.KeySchema)
	for _, gsi := range in.GlobalSecondaryIndexes {
		assert.Equal(t, "ALL", string(gsi.Projection.ProjectionType), "index %s: the stack projects every attribute", aws.ToString(gsi.IndexName))
		pk, sk := keys(gsi.KeySchema)
		got.Indexes = append(got.Indexes, tables.Index{Name: aws.ToString(gsi.IndexName), PartitionKey: pk, SortKey: sk})
	}
	assert.Empty(t, in.LocalSecondaryIndexes, "the stack declares no local secondary index")
	// every attribute defined is a key of the table or of an index (CreateTable requires it)
	used := map[string]bool{got.PartitionKey.Name: true, got.SortKey.Name: true}
	for _, ix := range got.Indexes {
		used[ix.PartitionKey.Name], used[ix.SortKey.Name] = true, true
	}
	delete(used, "") // no sort key
	assert.Len(t, defined, len(used), "attribute definitions beyond the keys")
	assert.Equal(t, types.BillingModePayPerRequest, in.BillingMode, "the stack makes every table on-demand")
	got.TTLAttribute = ttl
	return got
}

// keysOnly drops what a CreateTable input does not carry.
func keysOnly(tb tables.Table) tables.Table {
	tb.DefaultName, tb.Holds = "", ""
	return tb
}

// The registry's own CreateTable input (what supportctl create-table and every test make) declares
// exactly the keys, indexes and TTL attribute the backend stack deploys.
func TestRegistryTableAgreesWithTheDeclaration(t *testing.T) {
	got := shape(t, registry.TableInput("any"), registry.AttrExpires)
	assert.Equal(t, keysOnly(tables.Registry), got)
}

// Likewise the broker's: its CreateTable input, and the attribute its TTLInput enables.
func TestBrokerTableAgreesWithTheDeclaration(t *testing.T) {
	ttl := broker.TTLInput("any").TimeToLiveSpecification
	require.True(t, aws.ToBool(ttl.Enabled))
	got := shape(t, broker.TableInput("any"), aws.ToString(ttl.AttributeName))
	assert.Equal(t, keysOnly(tables.Broker), got)
}

func TestDeclarationsAreComplete(t *testing.T) {
	names := map[string]bool{}
	for _, tb := range tables.All() {
		assert.NotEmpty(t, tb.DefaultName)
		assert.False(t, names[tb.DefaultName], "two tables named %s", tb.DefaultName)
		names[tb.DefaultName] = true
		assert.NotEmpty(t, tb.Holds, tb.DefaultName)
		assert.NotEmpty(t, tb.PartitionKey.Name, tb.DefaultName)
		assert.Contains(t, []tables.AttributeType{tables.String, tables.Number, tables.Binary}, tb.PartitionKey.Type)
	}
}
