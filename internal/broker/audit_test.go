package broker_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
)

func TestBrokerAuditLogOnDynamoDB(t *testing.T) {
	db, table := newTable(t)
	ctx := t.Context()
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	require.NoError(t, err)
	assert.Equal(t, types.TimeToLiveStatusEnabled, ttl.TimeToLiveDescription.TimeToLiveStatus)
	assert.Equal(t, "ExpiresAt", aws.ToString(ttl.TimeToLiveDescription.AttributeName))

	log := &broker.AuditLog{DB: db, Table: table}
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	events := []broker.Event{
		{Time: t0, Type: broker.EventRequested, Actor: engineer, Engineer: engineer, Account: acct, RequestID: "req-1", Ticket: ticket},
		{Time: t0.Add(time.Minute), Type: broker.EventApproved, Actor: approver, Engineer: engineer, Account: acct, RequestID: "req-1"},
		{Time: t0.Add(2 * time.Minute), Type: broker.EventRequested, Actor: "carol@doit.com", Engineer: "carol@doit.com", Account: other, RequestID: "req-2"},
		{Time: t0.Add(3 * time.Minute), Type: broker.EventRefused, Action: "credentials", Actor: "mallory@doit.com", Engineer: "mallory@doit.com", Account: acct, RequestID: "req-1", Reason: "only the requester"},
		{Time: t0.Add(4 * time.Minute), Type: broker.EventSession, Actor: engineer, Engineer: engineer, Account: acct, RequestID: "req-1",
			AccessKeyLast: "WXYZ", SessionExpiry: t0.Add(64 * time.Minute), SessionName: "alice@doit.com-SUP-1234"},
	}
	for _, e := range events {
		require.NoError(t, log.Record(ctx, e))
	}

	byAccount, err := log.List(ctx, broker.Filter{Account: acct})
	require.NoError(t, err)
	var got []string
	for _, e := range byAccount {
		got = append(got, string(e.Type)+"/"+e.Actor)
		assert.NotEmpty(t, e.ID)
	}
	assert.Equal(t, []string{"REQUESTED/alice@doit.com", "APPROVED/tenant:acme/bob", "REFUSED/mallory@doit.com", "SESSION_ISSUED/alice@doit.com"}, got, "oldest first, only this account")

	byEngineer, err := log.List(ctx, broker.Filter{Engineer: engineer})
	require.NoError(t, err)
	assert.Len(t, byEngineer, 3)
	byActor, err := log.List(ctx, broker.Filter{Engineer: approver})
	require.NoError(t, err)
	assert.Len(t, byActor, 1, "a decision is listed under the approver too")
	window, err := log.List(ctx, broker.Filter{Account: acct, Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)})
	require.NoError(t, err)
	assert.Len(t, window, 1, "[since, until)")

	// JSON lines, one event a line, decodable
	var buf bytes.Buffer
	require.NoError(t, log.Export(ctx, &buf, broker.Filter{Account: acct}))
	sc := bufio.NewScanner(&buf)
	n := 0
	for sc.Scan() {
		var e broker.Event
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), sc.Text())
		assert.Equal(t, byAccount[n].ID, e.ID)
		n++
	}
	assert.Equal(t, 4, n)
	assert.Equal(t, "WXYZ", byAccount[3].AccessKeyLast)
	assert.True(t, t0.Add(64*time.Minute).Equal(byAccount[3].SessionExpiry))

	// every item carries the 30-day TTL
	scan, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	require.NoError(t, err)
	assert.Len(t, scan.Items, 11, "one item per account and person an event names")
	for _, item := range scan.Items {
		exp, ok := item["ExpiresAt"].(*types.AttributeValueMemberN)
		require.True(t, ok, "ExpiresAt is a number")
		secs, err := strconv.ParseInt(exp.Value, 10, 64)
		require.NoError(t, err)
		created := time.Time{}
		require.NoError(t, created.UnmarshalText([]byte(item["Time"].(*types.AttributeValueMemberS).Value)))
		assert.Equal(t, created.Add(30*24*time.Hour).Unix(), secs)
	}

	_, err = log.List(ctx, broker.Filter{})
	assert.ErrorIs(t, err, broker.ErrInvalid)
	_, err = log.List(ctx, broker.Filter{Account: acct, Engineer: engineer})
	assert.ErrorIs(t, err, broker.ErrInvalid)
	assert.Error(t, log.Record(ctx, broker.Event{Type: broker.EventRefused}), "an event must be listable somewhere")
}
