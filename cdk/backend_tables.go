package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	ddb "github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/jsii-runtime-go"
	"github.com/supportaccess/gateway/internal/tables"
)

// tableSet is the backend's two tables.
type tableSet struct {
	registry, broker ddb.Table
}

// newTables declares the registry's and the broker's tables from internal/tables, the one
// declaration their own CreateTable inputs are tested against: on-demand, point-in-time recovery,
// deletion protection, TTL on each table's expiry attribute, retained if the stack is deleted.
func (be *backend) newTables() tableSet {
	return tableSet{
		registry: be.table("RegistryTable", tables.Registry, be.b.RegistryTable),
		broker:   be.table("BrokerTable", tables.Broker, be.b.BrokerTable),
	}
}

func (be *backend) table(id string, t tables.Table, name string) ddb.Table {
	props := &ddb.TableProps{
		TableName:    jsii.String(name),
		PartitionKey: attribute(t.PartitionKey),
		BillingMode:  ddb.BillingMode_PAY_PER_REQUEST,
		// The AWS managed key (aws/dynamodb): its use shows in CloudTrail, at no key to manage.
		Encryption: ddb.TableEncryption_AWS_MANAGED,
		PointInTimeRecoverySpecification: &ddb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	}
	if t.SortKey.Name != "" {
		props.SortKey = attribute(t.SortKey)
	}
	if t.TTLAttribute != "" {
		props.TimeToLiveAttribute = jsii.String(t.TTLAttribute)
	}
	table := ddb.NewTable(be.stack, jsii.String(id), props)
	for _, ix := range t.Indexes {
		gsi := &ddb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   attribute(ix.PartitionKey),
			ProjectionType: ddb.ProjectionType_ALL,
		}
		if ix.SortKey.Name != "" {
			gsi.SortKey = attribute(ix.SortKey)
		}
		table.AddGlobalSecondaryIndex(gsi)
	}
	logicalID(table, id)
	be.output(id+"Name", "The table of "+t.Holds, table.TableName())
	return table
}

func attribute(a tables.Attribute) *ddb.Attribute {
	types := map[tables.AttributeType]ddb.AttributeType{
		tables.String: ddb.AttributeType_STRING,
		tables.Number: ddb.AttributeType_NUMBER,
		tables.Binary: ddb.AttributeType_BINARY,
	}
	typ, ok := types[a.Type]
	if !ok {
		panic("internal/tables: attribute " + a.Name + " has type " + string(a.Type)) // a declaration error, caught by any synthesis
	}
	return &ddb.Attribute{Name: jsii.String(a.Name), Type: typ}
}
