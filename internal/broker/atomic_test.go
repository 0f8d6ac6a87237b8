package broker_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
)

// auditRefusingDB makes DynamoDB refuse every transaction that records an event of type typ, as it
// refused the audit write of the field report (a 2,112-byte principal in a partition key): it adds
// to the transaction one more audit item, whose 2,100-byte key DynamoDB refuses. Whatever else
// the transaction holds is then not written either, if and only if it is in the same transaction.
type auditRefusingDB struct {
	broker.DynamoAPI
	typ broker.EventType
}

func (d *auditRefusingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		if it.Put == nil {
			continue
		}
		if typ, ok := it.Put.Item["Type"].(*ddbtypes.AttributeValueMemberS); ok && typ.Value == string(d.typ) {
			bad := map[string]ddbtypes.AttributeValue{}
			for k, v := range it.Put.Item {
				bad[k] = v
			}
			bad["pk"] = &ddbtypes.AttributeValueMemberS{Value: "AUDIT#PRINCIPAL#" + strings.Repeat("x", 2100)}
			in.TransactItems = append(in.TransactItems, ddbtypes.TransactWriteItem{Put: &ddbtypes.Put{TableName: it.Put.TableName, Item: bad}})
			break
		}
	}
	return d.DynamoAPI.TransactWriteItems(ctx, in, o...)
}

// withAuditRefused is f's broker on the same table, its writes of typ refused.
func (f *fixture) withAuditRefused(t *testing.T, typ broker.EventType) *broker.Broker {
	t.Helper()
	b, err := broker.New(broker.Config{}, f.reg, f.mint, f.sts, &auditRefusingDB{DynamoAPI: f.db, typ: typ}, f.table)
	require.NoError(t, err)
	b.SetClock(f.clock.Now)
	return b
}

func (f *fixture) count(t *testing.T, filter broker.Filter, typ broker.EventType) int {
	t.Helper()
	n := 0
	for _, e := range f.events(t, filter) {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// A decision and its audit event are one DynamoDB transaction: when the event cannot be written,
// the decision is not either, and no credentials come from an approval the log does not show.
func TestBrokerDecisionAndItsEventAreWrittenTogether(t *testing.T) {
	for name, tc := range map[string]struct {
		typ    broker.EventType
		decide func(b *broker.Broker, ctx context.Context, id string) (broker.Request, error)
	}{
		"approve": {broker.EventApproved, func(b *broker.Broker, ctx context.Context, id string) (broker.Request, error) {
			return b.Approve(ctx, approver, id)
		}},
		"dismiss": {broker.EventDismissed, func(b *broker.Broker, ctx context.Context, id string) (broker.Request, error) {
			return b.Dismiss(ctx, approver, id, "not covered by the contract")
		}},
		"revoke": {broker.EventRevoked, func(b *broker.Broker, ctx context.Context, id string) (broker.Request, error) {
			return b.Revoke(ctx, approver, id, "")
		}},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			r := f.request(t)
			_, err := tc.decide(f.withAuditRefused(t, tc.typ), t.Context(), r.ID)
			require.Error(t, err)
			assert.NotErrorIs(t, err, broker.ErrConflict, "a failure, not a refusal")
			got, err := f.b.Get(t.Context(), r.ID)
			require.NoError(t, err)
			assert.Equal(t, broker.Pending, got.State, "the decision was not stored")
			assert.Empty(t, got.DecidedBy)
			assert.Zero(t, f.count(t, broker.Filter{Account: acct}, tc.typ))
			_, err = f.b.Credentials(t.Context(), engineer, r.ID)
			require.ErrorIs(t, err, broker.ErrConflict)
			assert.Zero(t, f.sts.count(), "no session from an unaudited decision")

			// and once the log takes it, the decision goes through
			_, err = tc.decide(f.b, t.Context(), r.ID)
			require.NoError(t, err)
			assert.Equal(t, 1, f.count(t, broker.Filter{Account: acct}, tc.typ))
		})
	}
}

// A standing approval and its PRE_APPROVAL event are one write, set or removed; a request created
// approved by one is stored with its REQUESTED and APPROVED events, or not at all.
func TestBrokerStandingApprovalAndItsEventAreWrittenTogether(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	_, err := f.withAuditRefused(t, broker.EventPreApproval).PreApprove(ctx, approver, acct, time.Hour)
	require.Error(t, err)
	assert.Equal(t, broker.Pending, f.request(t).State, "no standing approval was stored")

	_, err = f.b.PreApprove(ctx, approver, acct, 30*time.Minute)
	require.NoError(t, err)
	_, err = f.withAuditRefused(t, broker.EventPreApproval).PreApprove(ctx, approver, acct, 0)
	require.Error(t, err)
	assert.Equal(t, broker.Approved, f.request(t).State, "the standing approval was not removed")

	before := f.requestItems(t)
	for _, typ := range []broker.EventType{broker.EventRequested, broker.EventApproved} {
		_, err = f.withAuditRefused(t, typ).Request(ctx, engineer, acct, "SUP-2", "why", time.Hour)
		require.Error(t, err, typ)
		assert.Equal(t, before, f.requestItems(t), "no request stored without its %s event", typ)
	}
	assert.Equal(t, 1, f.count(t, broker.Filter{Account: acct}, broker.EventPreApproval), "the one that was set")
}

// requestItems counts the requests stored in f's table.
func (f *fixture) requestItems(t *testing.T) int {
	t.Helper()
	out, err := f.db.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(f.table),
		FilterExpression:          aws.String("begins_with(pk, :r)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":r": &ddbtypes.AttributeValueMemberS{Value: "REQUEST#"}}})
	require.NoError(t, err)
	return len(out.Items)
}

// A standing approval removed while a request it approves is being recorded: the request is not
// stored approved by it.
func TestBrokerStandingApprovalRemovedMeanwhile(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	_, err := f.b.PreApprove(ctx, approver, acct, time.Hour)
	require.NoError(t, err)
	racing := &interleavingDB{DynamoAPI: f.db}
	b, err := broker.New(broker.Config{}, f.reg, f.mint, f.sts, &putInterleaving{racing}, f.table)
	require.NoError(t, err)
	b.SetClock(f.clock.Now)
	racing.before = func() {
		_, err := f.b.PreApprove(ctx, approver, acct, 0)
		require.NoError(t, err)
	}
	before := f.requestItems(t)
	_, err = b.Request(ctx, engineer, acct, ticket, "why", time.Hour)
	require.ErrorIs(t, err, broker.ErrConflict)
	assert.ErrorContains(t, err, "the standing approval of account 111122223333 changed while the request was recorded: request again")
	assert.Equal(t, before, f.requestItems(t))
	assert.Equal(t, broker.Pending, f.request(t).State, "asked again, it waits for a decision")
}

// putInterleaving runs the interleaving ahead of the first transaction that stores a request.
type putInterleaving struct{ *interleavingDB }

func (d *putInterleaving) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		if it.ConditionCheck != nil {
			d.once.Do(d.before)
		}
	}
	return d.interleavingDB.DynamoAPI.TransactWriteItems(ctx, in, o...)
}

// A principal too long to be recorded (the field report's 2,112 bytes; an audit key holds at most
// 2,048) is refused before anything is read or written, with the limit; the refusal is recorded
// under the principal's clipped form. 512 bytes is accepted.
func TestBrokerRefusesOversizedPrincipals(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	r := f.request(t)
	long := "tenant:acme/" + strings.Repeat("b", 2100)
	require.Len(t, long, 2112)
	longEngineer := strings.Repeat("a", 2100) + "@doit.com"
	reason := "the principal is too long: at most 512 bytes, and it has "
	for name, fn := range map[string]func() error{
		"approve":     func() error { _, err := f.b.Approve(ctx, long, r.ID); return err },
		"dismiss":     func() error { _, err := f.b.Dismiss(ctx, long, r.ID, "not covered by the contract"); return err },
		"revoke":      func() error { _, err := f.b.Revoke(ctx, long, r.ID, ""); return err },
		"pre-approve": func() error { _, err := f.b.PreApprove(ctx, long, acct, time.Hour); return err },
		"request": func() error {
			_, err := f.b.Request(ctx, longEngineer, acct, ticket, "why", time.Hour)
			return err
		},
		"credentials": func() error { _, err := f.b.Credentials(ctx, longEngineer, r.ID); return err },
	} {
		err := fn()
		require.ErrorIs(t, err, broker.ErrInvalid, name)
		assert.ErrorContains(t, err, reason, name)
		events := f.events(t, broker.Filter{Account: acct})
		refusal := lastRefusal(t, events)
		assert.Equal(t, name, refusal.Action)
		assert.Equal(t, err.Error(), refusal.Reason)
		assert.Less(t, len(refusal.Actor), 150, "clipped")
		assert.Contains(t, refusal.Actor, "…[21")
	}
	got, err := f.b.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, broker.Pending, got.State)
	assert.Zero(t, f.count(t, broker.Filter{Account: acct}, broker.EventPreApproval))

	// at the limit
	atLimit := "tenant:acme/" + strings.Repeat("b", 500)
	require.Len(t, atLimit, broker.MaxPrincipalBytes)
	_, err = f.b.Approve(ctx, atLimit, r.ID)
	require.NoError(t, err)
	engineer512 := strings.Repeat("e", broker.MaxPrincipalBytes-len("@doit.com")) + "@doit.com"
	r2, err := f.b.Request(ctx, engineer512, acct, ticket, "why", time.Hour)
	require.NoError(t, err)
	_, err = f.b.Approve(ctx, approver, r2.ID)
	require.NoError(t, err)
	_, err = f.b.Credentials(ctx, engineer512, r2.ID)
	require.NoError(t, err)
	assert.Len(t, f.events(t, broker.Filter{Engineer: engineer512}), 4, "requested, approved, token, session")

	// the audit: a filter too long to be a key is refused, not sent to DynamoDB
	_, err = f.b.Audit().List(ctx, broker.Filter{Engineer: longEngineer})
	require.ErrorIs(t, err, broker.ErrInvalid)
	assert.ErrorContains(t, err, "the engineer is too long: at most 512 bytes, and it has 2109")
	_, err = f.b.Audit().List(ctx, broker.Filter{Account: strings.Repeat("1", 3000)})
	require.ErrorIs(t, err, broker.ErrInvalid)
	assert.ErrorContains(t, err, "is not 12 digits")

	// over HTTP: 400 naming the limit
	api := newAPI(t, f)
	status, body, _ := api.call("POST", "/requests/"+r.ID+"/revoke", long, "")
	assert.Equal(t, http.StatusBadRequest, status, body)
	assert.JSONEq(t, `{"error":"the principal is too long: at most 512 bytes, and it has 2112"}`, body)
	refusal := lastRefusal(t, f.events(t, broker.Filter{Account: acct}))
	assert.Equal(t, "revoke", refusal.Action)
	status, body, _ = api.call("GET", "/audit?engineer="+longEngineer, engineer, "")
	assert.Equal(t, http.StatusBadRequest, status, body)
	assert.Contains(t, body, "at most 512 bytes")
	status, body, _ = api.call("GET", "/audit?account="+strings.Repeat("1", 3000), engineer, "")
	assert.Equal(t, http.StatusBadRequest, status, body)
	assert.Less(t, len(body), 200, "the value is not echoed whole")
}

// A request ID that is not of the broker's shape names no request, however long: 404, and the
// refusal records its start only.
func TestBrokerOversizedRequestID(t *testing.T) {
	f := newFixture(t)
	id := "req-" + strings.Repeat("0", 3000)
	_, err := f.b.Approve(t.Context(), approver, id)
	require.ErrorIs(t, err, broker.ErrNotFound)
	assert.ErrorContains(t, err, `there is no access request "req-000`)
	assert.Less(t, len(err.Error()), 200)
	_, err = f.b.Credentials(t.Context(), engineer, id)
	require.ErrorIs(t, err, broker.ErrNotFound)
	_, err = f.b.Get(t.Context(), id)
	require.ErrorIs(t, err, broker.ErrNotFound)
	refusal := lastRefusal(t, f.events(t, broker.Filter{Engineer: engineer}))
	assert.Less(t, len(refusal.RequestID), 120)
	assert.Contains(t, refusal.RequestID, "3004 bytes")

	status, body, _ := newAPI(t, f).call("POST", "/requests/"+id+"/approve", approver, "")
	assert.Equal(t, http.StatusNotFound, status, body)
	assert.Less(t, len(body), 200)
}
