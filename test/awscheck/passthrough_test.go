package awscheck_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/test/moto"
)

// TestUncheckedCallsPassThrough: calls the front end does not decide reach moto untouched, whoever
// signs them, and leave no decision.
func TestUncheckedCallsPassThrough(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	via := e.asKey(unknownKey) // moto's default account, as for moto itself

	table := uniqueName("table")
	db := dynamodb.NewFromConfig(via)
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	require.NoError(t, err)
	item := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k"}, "v": &ddbtypes.AttributeValueMemberS{Value: "value"}}
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item})
	require.NoError(t, err)
	got, err := dynamodb.NewFromConfig(e.admin).GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]ddbtypes.AttributeValue{"pk": item["pk"]}})
	require.NoError(t, err)
	assert.Equal(t, item, got.Item, "moto stored what went through the front end")

	// An object larger than the bodies the front end reads: streamed to moto, byte for byte.
	bucket := uniqueName("bucket")
	body := make([]byte, 3<<20)
	_, err = rand.Read(body)
	require.NoError(t, err)
	s3c := s3.NewFromConfig(via, moto.PathStyle)
	_, err = s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("big"), Body: bytes.NewReader(body)})
	require.NoError(t, err)
	obj, err := s3.NewFromConfig(e.admin, moto.PathStyle).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("big")})
	require.NoError(t, err)
	stored, err := io.ReadAll(obj.Body)
	require.NoError(t, err)
	_ = obj.Body.Close()
	assert.True(t, bytes.Equal(body, stored), "the object moto stored is the one sent")

	// STS, IAM and KMS calls other than the checked ones.
	id, err := sts.NewFromConfig(via).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	assert.Equal(t, moto.DefaultAccountID, aws.ToString(id.Account))
	_, err = iam.NewFromConfig(via).ListRoles(ctx, &iam.ListRolesInput{})
	require.NoError(t, err)
	_, err = kms.NewFromConfig(via).ListKeys(ctx, &kms.ListKeysInput{})
	require.NoError(t, err)

	assert.Empty(t, e.check.Decisions())
}
