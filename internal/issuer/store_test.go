package issuer

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var tables atomic.Int64

// newDynamoStore creates a fresh table on moto with the keys the store expects.
func newDynamoStore(t *testing.T) *DynamoStore {
	t.Helper()
	cfg, err := srv.Server(t).Config(t.Context(), "")
	require.NoError(t, err)
	db := dynamodb.NewFromConfig(cfg)
	name := fmt.Sprintf("issuer-keys-%d", tables.Add(1))
	_, err = db.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	require.NoError(t, err)
	return &DynamoStore{DB: db, Table: name}
}

func TestKeyStores(t *testing.T) {
	for name, newStore := range map[string]func(*testing.T) KeyStore{
		"memory":   func(*testing.T) KeyStore { return &MemoryStore{} },
		"dynamodb": func(t *testing.T) KeyStore { return newDynamoStore(t) },
	} {
		t.Run(name, func(t *testing.T) {
			s, ctx := newStore(t), t.Context()
			t0 := time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.UTC)
			a, b := "111122223333", "444455556666"
			newer := KeyRecord{Account: a, KeyID: "k2", Created: t0.Add(time.Microsecond), State: KeyActive}
			older := KeyRecord{Account: a, KeyID: "k1", Created: t0, State: KeyActive}
			require.NoError(t, s.Put(ctx, newer))
			require.NoError(t, s.Put(ctx, older))
			require.NoError(t, s.Put(ctx, KeyRecord{Account: b, KeyID: "k3", Created: t0, State: KeyActive}))

			got, err := s.Keys(ctx, a)
			require.NoError(t, err)
			assert.Equal(t, []KeyRecord{older, newer}, got, "oldest first, only this account's")

			older.State, older.RetireAfter = KeyRetiring, t0.Add(MaxTokenLifetime)
			require.NoError(t, s.Put(ctx, older))
			got, err = s.Keys(ctx, a)
			require.NoError(t, err)
			assert.Equal(t, []KeyRecord{older, newer}, got, "Put replaces")

			got, err = s.Keys(ctx, "777788889999")
			require.NoError(t, err)
			assert.Empty(t, got)
		})
	}
}

func TestDynamoStoreItemLayout(t *testing.T) {
	s := newDynamoStore(t)
	ctx := t.Context()
	require.NoError(t, s.Put(ctx, KeyRecord{Account: "111122223333", KeyID: "abc", Created: time.Now().UTC(), State: KeyActive}))
	out, err := s.DB.(*dynamodb.Client).GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "ISSUERKEYS#111122223333"},
			"sk": &types.AttributeValueMemberS{Value: "KEY#abc"},
		},
	})
	require.NoError(t, err)
	require.NotNil(t, out.Item)
	assert.Equal(t, &types.AttributeValueMemberS{Value: "active"}, out.Item["state"])
}

// The whole lifecycle with the DynamoDB store: what Rotate and Offboard write is what they read.
func TestLifecycleWithDynamoStore(t *testing.T) {
	client := motoKMS(t)
	iss, err := New(testConfig, client, newDynamoStore(t))
	require.NoError(t, err)
	clk := newClock()
	iss.Now, iss.messageType = clk.Now, kmstypes.MessageTypeRaw
	ctx, a := t.Context(), newAccount()

	first, err := iss.CreateAccountKey(ctx, a)
	require.NoError(t, err)
	second, err := iss.Rotate(ctx, a, 0)
	require.NoError(t, err)
	set, err := iss.JWKS(ctx, a)
	require.NoError(t, err)
	assert.Len(t, set.Keys, 2)
	clk.Advance(MaxTokenLifetime)
	set, err = iss.JWKS(ctx, a)
	require.NoError(t, err)
	require.Len(t, set.Keys, 1)
	assert.Equal(t, second.KeyID, set.Keys[0].Kid)
	_, err = iss.Mint(ctx, a, mintRequest(0))
	require.NoError(t, err)

	require.NoError(t, iss.Offboard(ctx, a))
	_, err = iss.Mint(ctx, a, mintRequest(0))
	assert.ErrorIs(t, err, ErrOffboarded)
	_, err = iss.JWKS(ctx, a)
	assert.ErrorIs(t, err, ErrOffboarded)
	assert.NotEqual(t, first.KeyID, second.KeyID)
}
