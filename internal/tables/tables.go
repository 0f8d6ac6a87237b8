package tables

// AttributeType is a DynamoDB key attribute's scalar type, as the DynamoDB and CloudFormation APIs
// spell it.
type AttributeType string

// The scalar types a key attribute may have.
const (
	String AttributeType = "S"
	Number AttributeType = "N"
	Binary AttributeType = "B"
)

// Attribute is a key attribute: its name and type.
type Attribute struct {
	Name string
	Type AttributeType
}

// Index is a global secondary index, projecting every attribute.
type Index struct {
	Name         string
	PartitionKey Attribute
	SortKey      Attribute // zero: a partition key only
}

// Table is one table's definition. Every table is on-demand (PAY_PER_REQUEST) and encrypted at
// rest; the backend stack adds point-in-time recovery and deletion protection.
type Table struct {
	// DefaultName is the table's name unless the deployment names it otherwise.
	DefaultName string
	// Holds says what the table keeps, for the stack's description and the README.
	Holds        string
	PartitionKey Attribute
	SortKey      Attribute // zero: a partition key only
	Indexes      []Index
	// TTLAttribute holds a Unix time in seconds after which DynamoDB deletes the item ("": no TTL).
	TTLAttribute string
}

// Registry is the registry's table (internal/registry): onboardings, gateway claims, tenant
// conflicts and tokens, pacing counters, rolled-back Creates, and the issuer's key records
// (internal/issuer DynamoStore, partition ISSUERKEYS#<account>). Tombstones, rollback markers and
// pacing counters expire by ExpiresAt.
var Registry = Table{
	DefaultName:  "support-gateway-registry",
	Holds:        "onboardings, gateway claims, tenant tokens and conflicts, pacing counters and the issuer's key records",
	PartitionKey: Attribute{Name: "pk", Type: String},
	SortKey:      Attribute{Name: "sk", Type: String},
	TTLAttribute: "ExpiresAt",
}

// Broker is the broker's table (internal/broker): access requests, standing approvals and the audit
// log, each kept 30 days (broker.Retention) by ExpiresAt. Its sparse indexes list requests by
// engineer, tenant and account, and standing approvals by tenant (broker.IndexByEngineer, …).
var Broker = Table{
	DefaultName:  "support-gateway-broker",
	Holds:        "access requests, standing approvals and the 30-day audit log",
	PartitionKey: Attribute{Name: "pk", Type: String},
	SortKey:      Attribute{Name: "sk", Type: String},
	Indexes: []Index{
		{Name: "ByEngineer", PartitionKey: Attribute{Name: "ListEngineer", Type: String}, SortKey: Attribute{Name: "ListKey", Type: String}},
		{Name: "ByTenant", PartitionKey: Attribute{Name: "ListTenant", Type: String}, SortKey: Attribute{Name: "ListKey", Type: String}},
		{Name: "ByAccount", PartitionKey: Attribute{Name: "ListAccount", Type: String}, SortKey: Attribute{Name: "ListKey", Type: String}},
	},
	TTLAttribute: "ExpiresAt",
}

// All is every table of the backend, in the order the stack declares them.
func All() []Table { return []Table{Registry, Broker} }
