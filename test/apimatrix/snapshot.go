package apimatrix

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Item is one item of one of the server's tables, its attributes as plain Go values.
type Item struct {
	Table, PK, SK string
	Attrs         map[string]any
}

func (i Item) key() string { return i.Table + "\x00" + i.PK + "\x00" + i.SK }

// String names the item (its table and key).
func (i Item) String() string { return fmt.Sprintf("%s %s/%s", i.Table, i.PK, i.SK) }

// Snapshot is every item of both tables at one moment.
type Snapshot map[string]Item

// Snapshot reads both tables whole (consistent scans).
func (f *Fixture) Snapshot(t testing.TB) Snapshot {
	t.Helper()
	s := Snapshot{}
	for _, table := range []string{f.RegistryTable, f.BrokerTable} {
		p := dynamodb.NewScanPaginator(f.DB, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
		for p.HasMorePages() {
			page, err := p.NextPage(t.Context())
			if err != nil {
				t.Fatalf("scanning %s: %v", table, err)
			}
			for _, raw := range page.Items {
				it := Item{Table: table, PK: stringAttr(raw["pk"]), SK: stringAttr(raw["sk"])}
				if err := attributevalue.UnmarshalMap(raw, &it.Attrs); err != nil {
					t.Fatalf("decoding an item of %s: %v", table, err)
				}
				s[it.key()] = it
			}
		}
	}
	return s
}

func stringAttr(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// Diff is what changed between two snapshots, each list sorted by table and key.
type Diff struct {
	Added   []Item
	Changed []Item // as they are after
	Removed []Item // as they were before
}

// Diff is what changed from s to after.
func (s Snapshot) Diff(after Snapshot) Diff {
	var d Diff
	for k, it := range after {
		before, ok := s[k]
		switch {
		case !ok:
			d.Added = append(d.Added, it)
		case !reflect.DeepEqual(before.Attrs, it.Attrs):
			d.Changed = append(d.Changed, it)
		}
	}
	for k, it := range s {
		if _, ok := after[k]; !ok {
			d.Removed = append(d.Removed, it)
		}
	}
	for _, l := range [][]Item{d.Added, d.Changed, d.Removed} {
		sort.Slice(l, func(i, j int) bool { return l[i].key() < l[j].key() })
	}
	return d
}

// AuditPrefix starts the partition key of every broker audit item.
const AuditPrefix = "AUDIT#"

// NotAudit is the part of d that is not new audit items: every change and removal, and every
// added item of the registry's table or whose partition key does not start with AuditPrefix.
func (d Diff) NotAudit(brokerTable string) Diff {
	out := Diff{Changed: d.Changed, Removed: d.Removed}
	for _, it := range d.Added {
		if it.Table != brokerTable || !strings.HasPrefix(it.PK, AuditPrefix) {
			out.Added = append(out.Added, it)
		}
	}
	return out
}

// Empty reports whether nothing changed.
func (d Diff) Empty() bool { return len(d.Added)+len(d.Changed)+len(d.Removed) == 0 }

// String lists the changes, one item a line.
func (d Diff) String() string {
	var b strings.Builder
	for _, l := range []struct {
		sign  string
		items []Item
	}{{"+", d.Added}, {"~", d.Changed}, {"-", d.Removed}} {
		for _, it := range l.items {
			fmt.Fprintf(&b, "%s %s %v\n", l.sign, it, it.Attrs)
		}
	}
	return b.String()
}
