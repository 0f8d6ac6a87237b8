package moto_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/test/moto"
)

const (
	// racers is how many goroutines write to one item at once.
	racers = 24
	// fillerItems is how many other items the table holds.
	fillerItems = 300
)

// TestSerialServerSerializesConditionalWrites is what every race test relies on (see the package
// documentation): on StartSerial's server, DynamoDB conditional writes racing on one item behave
// as in AWS. Of racing creates guarded by attribute_not_exists, as PutItem or as a transaction
// (the broker's decisions are transactions), exactly one succeeds and the others are refused by
// their condition; a counter incremented by optimistic read-compare-write from many goroutines
// loses no increment. moto_server's threaded server fails this: two writes can both pass their
// condition.
func TestSerialServerSerializesConditionalWrites(t *testing.T) {
	ctx := t.Context()
	db := serialDynamoDB(t)
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("race"),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
	})
	require.NoError(t, err)
	// A table that holds other items, as the broker's holds audit events: moto_server's rollback
	// of a refused transaction restores a copy of the whole table taken when the transaction
	// began, which takes long enough with a few hundred items for other writes to land meanwhile
	// and be undone.
	for i := 0; i < fillerItems; i += 25 {
		var puts []ddbtypes.WriteRequest
		for j := i; j < min(i+25, fillerItems); j++ {
			puts = append(puts, ddbtypes.WriteRequest{PutRequest: &ddbtypes.PutRequest{Item: ownedBy(fmt.Sprintf("filler-%d", j), j)}})
		}
		_, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{"race": puts}})
		require.NoError(t, err)
	}

	for name, create := range map[string]func(ctx context.Context, pk string, racer int) error{
		"PutItem": func(ctx context.Context, pk string, racer int) error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("race"),
				Item:                ownedBy(pk, racer),
				ConditionExpression: aws.String("attribute_not_exists(pk)")})
			return refusedByCondition(err)
		},
		"TransactWriteItems": func(ctx context.Context, pk string, racer int) error {
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
				{Put: &ddbtypes.Put{TableName: aws.String("race"), Item: ownedBy(pk, racer),
					ConditionExpression: aws.String("attribute_not_exists(pk)")}},
				{Put: &ddbtypes.Put{TableName: aws.String("race"), Item: ownedBy(pk+"/event/"+strconv.Itoa(racer), racer)}},
			}})
			return refusedByCondition(err)
		},
	} {
		t.Run("one of racing creates wins: "+name, func(t *testing.T) {
			pk := "created-by-" + name
			errs := race(func(i int) error { return create(ctx, pk, i) })
			var winners []int
			for i, err := range errs {
				switch {
				case err == nil:
					winners = append(winners, i)
				case !errors.Is(err, errRefused):
					t.Errorf("racer %d: %v", i, err)
				}
			}
			require.Len(t, winners, 1, "exactly one create passes attribute_not_exists")
			got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("race"),
				Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: pk}}, ConsistentRead: aws.Bool(true)})
			require.NoError(t, err)
			assert.Equal(t, &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(winners[0])}, got.Item["owner"], "the winner's item is stored")
			if name == "TransactWriteItems" {
				for i := range racers {
					ev, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("race"),
						Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: pk + "/event/" + strconv.Itoa(i)}}})
					require.NoError(t, err)
					assert.Equal(t, i == winners[0], ev.Item != nil, "racer %d's second item is written with its first, or not at all", i)
				}
			}
		})
	}

	for name, increment := range map[string]func(ctx context.Context, key map[string]ddbtypes.AttributeValue, read int) error{
		"UpdateItem": func(ctx context.Context, key map[string]ddbtypes.AttributeValue, read int) error {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("race"), Key: key,
				UpdateExpression: aws.String("SET n = :next"), ConditionExpression: aws.String("n = :read"),
				ExpressionAttributeValues: counterValues(read)})
			return refusedByCondition(err)
		},
		"TransactWriteItems": func(ctx context.Context, key map[string]ddbtypes.AttributeValue, read int) error {
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
				{Update: &ddbtypes.Update{TableName: aws.String("race"), Key: key,
					UpdateExpression: aws.String("SET n = :next"), ConditionExpression: aws.String("n = :read"),
					ExpressionAttributeValues: counterValues(read)}},
			}})
			return refusedByCondition(err)
		},
	} {
		t.Run("no increment of a counter is lost: "+name, func(t *testing.T) {
			key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "counter-" + name}}
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("race"),
				Item: map[string]ddbtypes.AttributeValue{"pk": key["pk"], "n": &ddbtypes.AttributeValueMemberN{Value: "0"}}})
			require.NoError(t, err)
			retries := make([]int, racers)
			// each racer increments once: read, then write read+1 on condition that it still reads so
			errs := race(func(i int) error {
				for {
					got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("race"), Key: key, ConsistentRead: aws.Bool(true)})
					if err != nil {
						return err
					}
					n, err := strconv.Atoi(got.Item["n"].(*ddbtypes.AttributeValueMemberN).Value)
					if err != nil {
						return err
					}
					if err := increment(ctx, key, n); !errors.Is(err, errRefused) {
						return err
					}
					retries[i]++ // someone else incremented it since: read again
				}
			})
			for i, err := range errs {
				require.NoError(t, err, "racer %d", i)
			}
			got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("race"), Key: key, ConsistentRead: aws.Bool(true)})
			require.NoError(t, err)
			assert.Equal(t, &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(racers)}, got.Item["n"],
				"every increment that succeeded is counted once")
			total := 0
			for _, r := range retries {
				total += r
			}
			t.Logf("%d increments, %d refused by their condition and retried", racers, total)
		})
	}
}

var errRefused = errors.New("refused by its condition")

// refusedByCondition is errRefused for a write refused by its condition (a transaction canceled
// because its first item's was false), else err.
func refusedByCondition(err error) error {
	var failed *ddbtypes.ConditionalCheckFailedException
	var canceled *ddbtypes.TransactionCanceledException
	switch {
	case errors.As(err, &failed):
		return errRefused
	case errors.As(err, &canceled) && len(canceled.CancellationReasons) > 0 &&
		aws.ToString(canceled.CancellationReasons[0].Code) == "ConditionalCheckFailed":
		return errRefused
	}
	return err
}

// race runs f(0) … f(racers-1) at once, each in its own goroutine released together, and
// returns their errors by racer.
func race(f func(racer int) error) []error {
	errs := make([]error, racers)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

func counterValues(read int) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		":read": &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(read)},
		":next": &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(read + 1)},
	}
}

func ownedBy(pk string, racer int) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		"pk":    &ddbtypes.AttributeValueMemberS{Value: pk},
		"owner": &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(racer)},
	}
}

// A transaction refused by one item's condition leaves every item as it was, and one that passes
// writes every item: serial_server.py backs up only the items a transaction names (moto copies
// every table it names), so this is the rollback that backup must still give, on a table with a
// hash key and on one with a hash and a range key, including a Put of a new item, an Update, a
// Delete and an item named by a Put in one table and a ConditionCheck in the other.
func TestSerialServerRollsBackRefusedTransactions(t *testing.T) {
	ctx := t.Context()
	db := serialDynamoDB(t)
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	for _, table := range []struct {
		name string
		keys []string
	}{{"hash", []string{"pk"}}, {"ranged", []string{"pk", "sk"}}} {
		in := &dynamodb.CreateTableInput{TableName: aws.String(table.name), BillingMode: ddbtypes.BillingModePayPerRequest}
		for i, k := range table.keys {
			in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{AttributeName: aws.String(k), AttributeType: ddbtypes.ScalarAttributeTypeS})
			in.KeySchema = append(in.KeySchema, ddbtypes.KeySchemaElement{AttributeName: aws.String(k), KeyType: []ddbtypes.KeyType{ddbtypes.KeyTypeHash, ddbtypes.KeyTypeRange}[i]})
		}
		_, err := db.CreateTable(ctx, in)
		require.NoError(t, err)
	}
	item := func(pk, sk, v string) map[string]ddbtypes.AttributeValue {
		m := map[string]ddbtypes.AttributeValue{"pk": s(pk), "v": s(v)}
		if sk != "" {
			m["sk"] = s(sk)
		}
		return m
	}
	for _, put := range []struct{ table, pk, sk, v string }{
		{"hash", "kept", "", "old"}, {"hash", "gone", "", "old"}, {"ranged", "a", "1", "old"}, {"ranged", "a", "2", "old"},
	} {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(put.table), Item: item(put.pk, put.sk, put.v)})
		require.NoError(t, err)
	}
	key := func(pk, sk string) map[string]ddbtypes.AttributeValue {
		k := item(pk, sk, "")
		delete(k, "v")
		return k
	}
	write := func(condition string) error {
		_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
			{Put: &ddbtypes.Put{TableName: aws.String("hash"), Item: item("new", "", "new")}},
			{Update: &ddbtypes.Update{TableName: aws.String("hash"), Key: key("kept", ""), UpdateExpression: aws.String("SET v = :v"),
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": s("new")}}},
			{Delete: &ddbtypes.Delete{TableName: aws.String("hash"), Key: key("gone", "")}},
			{Put: &ddbtypes.Put{TableName: aws.String("ranged"), Item: item("a", "1", "new")}},
			{Put: &ddbtypes.Put{TableName: aws.String("ranged"), Item: item("b", "1", "new")}},
			{ConditionCheck: &ddbtypes.ConditionCheck{TableName: aws.String("ranged"), Key: key("a", "2"),
				ConditionExpression: aws.String(condition)}},
		}})
		return err
	}
	state := func() map[string]string {
		got := map[string]string{}
		for _, table := range []string{"hash", "ranged"} {
			out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
			require.NoError(t, err)
			for _, it := range out.Items {
				name := table + "/" + it["pk"].(*ddbtypes.AttributeValueMemberS).Value
				if sk, ok := it["sk"]; ok {
					name += "/" + sk.(*ddbtypes.AttributeValueMemberS).Value
				}
				got[name] = it["v"].(*ddbtypes.AttributeValueMemberS).Value
			}
		}
		return got
	}
	before := map[string]string{"hash/kept": "old", "hash/gone": "old", "ranged/a/1": "old", "ranged/a/2": "old"}
	require.Equal(t, before, state())

	var canceled *ddbtypes.TransactionCanceledException
	require.ErrorAs(t, write("attribute_not_exists(pk)"), &canceled, "the last item's condition is false")
	assert.Equal(t, before, state(), "a refused transaction writes nothing")
	require.ErrorAs(t, write("attribute_not_exists(pk)"), &canceled, "and again: the rollback left nothing behind")
	assert.Equal(t, before, state())

	require.NoError(t, write("attribute_exists(pk)"))
	assert.Equal(t, map[string]string{"hash/kept": "new", "hash/new": "new", "ranged/a/1": "new", "ranged/a/2": "old", "ranged/b/1": "new"},
		state(), "a transaction that passes writes every item")
}

// serialDynamoDB is a DynamoDB client of a StartSerialForTest server.
func serialDynamoDB(t *testing.T) *dynamodb.Client {
	t.Helper()
	cfg, err := moto.StartSerialForTest(t).Config(t.Context(), "")
	require.NoError(t, err)
	return dynamodb.NewFromConfig(cfg)
}
