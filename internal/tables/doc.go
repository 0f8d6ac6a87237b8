// Package tables declares the vendor backend's DynamoDB tables as plain data: each table's default
// name, key attributes and their types, secondary indexes and TTL attribute. It has no AWS SDK and no
// behaviour, so the CDK app (cdk/backend.go) can render the tables from it.
//
// The registry and the broker keep their own CreateTable inputs (registry.TableInput,
// broker.TableInput and broker.TTLInput) for local runs and tests; tables_test.go proves those agree
// with the declarations here, so the deployed tables and the ones the code is tested against cannot
// drift apart: change a key in one place and the test names the other.
package tables
