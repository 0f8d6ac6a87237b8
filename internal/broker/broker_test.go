package broker_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/policy"
)

func TestBrokerRequestApproveCredentials(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	r := f.request(t)
	assert.Equal(t, broker.Pending, r.State)
	assert.Equal(t, "acme", r.Tenant)
	assert.Equal(t, f.clock.Now().Add(3*time.Hour), r.PendingUntil)

	_, err := f.b.Credentials(ctx, engineer, r.ID)
	require.ErrorIs(t, err, broker.ErrConflict, "not approved yet")
	assert.Contains(t, err.Error(), "waiting for the customer's approval")

	f.clock.Advance(10 * time.Minute)
	a, err := f.b.Approve(ctx, approver, r.ID)
	require.NoError(t, err)
	assert.Equal(t, broker.Approved, a.State)
	assert.Equal(t, approver, a.DecidedBy)
	assert.Equal(t, f.clock.Now().Add(time.Hour), a.AccessUntil, "the window starts at the approval")

	f.clock.Advance(5 * time.Minute)
	c, err := f.b.Credentials(ctx, engineer, r.ID)
	require.NoError(t, err)
	assert.Equal(t, "ASIAEXAMPLEKEY1WXYZ", c.AccessKeyID)
	assert.Equal(t, "arn:aws:iam::111122223333:role/doit-support/DoiT-Support", c.RoleARN)
	assert.Equal(t, "alice@doit.com-SUP-1234", c.SessionName)

	require.Len(t, f.mint.calls, 1)
	claims := f.mint.calls[0]
	assert.Equal(t, engineer, claims.Engineer, "the issuer turns the engineer into the pairwise sub")
	assert.Equal(t, "support", claims.Environment)
	require.Len(t, f.sts.calls, 1)
	in := f.sts.calls[0]
	assert.Equal(t, c.RoleARN, aws.ToString(in.RoleArn))
	assert.Equal(t, int32(55*60), aws.ToInt32(in.DurationSeconds), "the window left, under an hour")
	sp := policy.NewSessionPolicy(policy.Target{Partition: "aws", AccountID: acct}, policy.Features{})
	assert.JSONEq(t, sp.Inline.JSON(), aws.ToString(in.Policy))
	var arns []string
	for _, p := range in.PolicyArns {
		arns = append(arns, aws.ToString(p.Arn))
	}
	assert.Equal(t, sp.ManagedARNs, arns)
	assert.NotEmpty(t, aws.ToString(in.WebIdentityToken))

	// the audit shows every step, with no token and no secret
	events := f.events(t, broker.Filter{Account: acct})
	var types []broker.EventType
	for _, e := range events {
		types = append(types, e.Type)
	}
	assert.Equal(t, []broker.EventType{broker.EventRequested, broker.EventRefused, broker.EventApproved,
		broker.EventTokenMinted, broker.EventSession}, types)
	assert.Equal(t, "jti-1", events[3].TokenID)
	sub := fakeSubject(acct, engineer)
	assert.Equal(t, sub, events[3].Subject, "the audit maps the sub CloudTrail shows to the engineer")
	assert.Equal(t, sub, events[4].Subject)
	assert.Equal(t, f.clock.Now().Add(2*time.Minute), events[3].TokenExpiry)
	assert.Equal(t, "WXYZ", events[4].AccessKeyLast)
	assert.Equal(t, c.Expiration, events[4].SessionExpiry)
	blob, err := json.Marshal(events)
	require.NoError(t, err)
	for _, secret := range []string{aws.ToString(in.WebIdentityToken), "secret-value", "session-token-value", "ASIAEXAMPLEKEY1"} {
		assert.NotContains(t, string(blob), secret)
	}
	// listed for the engineer, and for the approver (as actor)
	assert.Len(t, f.events(t, broker.Filter{Engineer: engineer}), 5)
	assert.Len(t, f.events(t, broker.Filter{Engineer: approver}), 1)
}

// A claim that named another tenant and was refused proves nothing: the tenant's access goes on
// (only operators see the refused claim). Issue 9.
func TestBrokerRefusedClaimDoesNotSuspendAccess(t *testing.T) {
	f := newFixture(t)
	r, err := f.b.Request(t.Context(), engineer, claimedOnly, ticket, "why", 30*time.Minute)
	require.NoError(t, err)
	_, err = f.b.Approve(t.Context(), approver, r.ID)
	require.NoError(t, err)
	_, err = f.b.Credentials(t.Context(), engineer, r.ID)
	require.NoError(t, err)
}

func TestBrokerGatewayAccountUsesTheGatewayRole(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	r, err := f.b.Request(ctx, engineer, gwAcct, ticket, "why", 30*time.Minute)
	require.NoError(t, err)
	_, err = f.b.Approve(ctx, approver, r.ID)
	require.NoError(t, err)
	c, err := f.b.Credentials(ctx, engineer, r.ID)
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:iam::"+gwAcct+":role/DoiT-Support-Gateway", c.RoleARN)
	assert.Equal(t, engineer, f.mint.calls[0].Engineer)
	assert.Equal(t, int32(30*60), aws.ToInt32(f.sts.calls[0].DurationSeconds))
	sp := policy.NewSessionPolicy(policy.Target{Partition: "aws", AccountID: gwAcct}, policy.Features{Diagnostic: true})
	assert.JSONEq(t, sp.Inline.JSON(), aws.ToString(f.sts.calls[0].Policy), "the account's enabled features")
}

func TestBrokerRequestRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		engineer, account, ticket, justification string
		duration                                 time.Duration
		kind                                     error
		reason                                   string
	}{
		"unknown account":  {engineer, "999999999999", ticket, "why", time.Hour, broker.ErrAccountUnavailable, "no account 999999999999 you can use"},
		"not registered":   {engineer, pending, ticket, "why", time.Hour, broker.ErrAccountUnavailable, "no account " + pending + " you can use"},
		"claim not proven": {engineer, proofPending, ticket, "why", time.Hour, broker.ErrAccountUnavailable, "no account " + proofPending + " you can use"},
		"unclaimed":        {engineer, unclaimed, ticket, "why", time.Hour, broker.ErrAccountUnavailable, "no account " + unclaimed + " you can use"},
		"in conflict":      {engineer, disputed, ticket, "why", time.Hour, broker.ErrAccountUnavailable, "no account " + disputed + " you can use"},
		"bad account":      {engineer, "42", ticket, "why", time.Hour, broker.ErrInvalid, "12 digits"},
		"over the maximum": {engineer, acct, ticket, "why", time.Hour + time.Second, broker.ErrInvalid, "over the maximum"},
		"under a session":  {engineer, acct, ticket, "why", 10 * time.Minute, broker.ErrInvalid, "shorter than the minimum"},
		"empty ticket":     {engineer, acct, " ", "why", time.Hour, broker.ErrInvalid, "ticket is required"},
		"ticket too long":  {engineer, acct, strings.Repeat("9", 33), "why", time.Hour, broker.ErrInvalid, "at most 32 characters"},
		"ticket too long once escaped": {engineer, acct, strings.Repeat("ä", 6), "why", time.Hour, broker.ErrInvalid,
			"at most 32 characters as the session name writes it, and it takes 36"},
		"ticket with a tab": {engineer, acct, "SUP\t1", "why", time.Hour, broker.ErrInvalid, "control character"},
		"empty reason":      {engineer, acct, ticket, "", time.Hour, broker.ErrInvalid, "justification is required"},
		"reason of 1,001 characters": {engineer, acct, ticket, strings.Repeat("ä", 1001), time.Hour, broker.ErrInvalid,
			"the justification is too long: at most 1000 characters, and it has 1001"},
		"NUL in the reason":              {engineer, acct, ticket, "why\x00", time.Hour, broker.ErrInvalid, "the justification has a control character (U+0000)"},
		"zero-width space in the reason": {engineer, acct, ticket, "wh\u200by", time.Hour, broker.ErrInvalid, "the justification has an invisible character (U+200B)"},
		"reason not UTF-8":               {engineer, acct, ticket, "why\xff", time.Hour, broker.ErrInvalid, "the justification is not UTF-8 text"},
		"zero-width space in the ticket": {engineer, acct, "SUP-\u200b1", "why", time.Hour, broker.ErrInvalid, "the ticket has an invisible character (U+200B)"},
		"NUL in the engineer":            {"alice\x00@doit.com", acct, ticket, "why", time.Hour, broker.ErrInvalid, "the principal has a control character (U+0000)"},
		"customer principal":             {approver, acct, ticket, "why", time.Hour, broker.ErrForbidden, "only a support engineer"},
		"blank principal":                {" ", acct, ticket, "why", time.Hour, broker.ErrInvalid, "only a support engineer"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.b.Request(t.Context(), tc.engineer, tc.account, tc.ticket, tc.justification, tc.duration)
			require.ErrorIs(t, err, tc.kind)
			assert.Contains(t, err.Error(), tc.reason)
			refusal := lastRefusal(t, f.events(t, broker.Filter{Engineer: tc.engineer}))
			assert.Equal(t, "request", refusal.Action)
			assert.Equal(t, err.Error(), refusal.Reason)
		})
	}
}

func TestBrokerDecisionRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		prepare  func(t *testing.T, f *fixture, id string)
		approver string
		kind     error
		reason   string
		issued   bool // the request is approved (by someone else): credentials are fine
	}{
		"self-approval":          {approver: engineer, kind: broker.ErrForbidden, reason: "your own request"},
		"not a customer":         {approver: "mallory@doit.com", kind: broker.ErrForbidden, reason: "not a customer principal"},
		"malformed principal":    {approver: "tenant:acme", kind: broker.ErrForbidden, reason: "not a customer principal"},
		"another tenant":         {approver: "tenant:globex/eve", kind: broker.ErrNotFound, reason: "there is no access request"},
		"expired":                {prepare: func(t *testing.T, f *fixture, _ string) { f.clock.Advance(3 * time.Hour) }, approver: approver, kind: broker.ErrConflict, reason: "expired"},
		"dismissed":              {prepare: decided("dismiss"), approver: approver, kind: broker.ErrConflict, reason: "dismissed by tenant:acme/carol"},
		"revoked":                {prepare: decided("revoke"), approver: approver, kind: broker.ErrConflict, reason: "revoked by tenant:acme/carol"},
		"approved twice":         {prepare: decided("approve"), approver: approver, kind: broker.ErrConflict, reason: "approved by tenant:acme/carol", issued: true},
		"account left the owner": {prepare: func(t *testing.T, f *fixture, _ string) { delete(f.reg, acct+"/MANAGEMENT") }, approver: approver, kind: broker.ErrAccountUnavailable, reason: "no account 111122223333 you can use"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			r := f.request(t)
			if tc.prepare != nil {
				tc.prepare(t, f, r.ID)
			}
			_, err := f.b.Approve(t.Context(), tc.approver, r.ID)
			require.ErrorIs(t, err, tc.kind)
			assert.Contains(t, err.Error(), tc.reason)
			refusal := lastRefusal(t, f.events(t, broker.Filter{Engineer: tc.approver}))
			assert.Equal(t, "approve", refusal.Action)
			assert.Equal(t, tc.approver, refusal.Actor)
			assert.Equal(t, err.Error(), refusal.Reason)
			if tc.issued {
				return
			}
			_, err = f.b.Credentials(t.Context(), engineer, r.ID)
			assert.Error(t, err, "nothing is issued")
			assert.Zero(t, f.sts.count())
			assert.Zero(t, f.mint.count())
		})
	}
}

func decided(action string) func(t *testing.T, f *fixture, id string) {
	return func(t *testing.T, f *fixture, id string) {
		var err error
		switch action {
		case "dismiss":
			_, err = f.b.Dismiss(t.Context(), "tenant:acme/carol", id, "not covered by the contract")
		case "revoke":
			_, err = f.b.Revoke(t.Context(), "tenant:acme/carol", id, "")
		case "approve":
			_, err = f.b.Approve(t.Context(), "tenant:acme/carol", id)
		}
		require.NoError(t, err)
	}
}

func TestBrokerUnknownRequest(t *testing.T) {
	f := newFixture(t)
	_, err := f.b.Approve(t.Context(), approver, "req-nope")
	require.ErrorIs(t, err, broker.ErrNotFound)
	_, err = f.b.Credentials(t.Context(), engineer, "req-nope")
	require.ErrorIs(t, err, broker.ErrNotFound)
	assert.Len(t, f.events(t, broker.Filter{Engineer: engineer}), 1, "the refusal is on the engineer's record")
	assert.Len(t, f.events(t, broker.Filter{Engineer: approver}), 1, "and on the approver's")
}

// interleavingDB runs before once, just ahead of the first transaction that updates an item (a
// decision): another decision lands between this broker's read of the request and its
// conditional write.
type interleavingDB struct {
	broker.DynamoAPI
	once   sync.Once
	before func()
}

func (d *interleavingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		if it.Update != nil {
			d.once.Do(d.before)
		}
	}
	return d.DynamoAPI.TransactWriteItems(ctx, in, o...)
}

// Two decisions race: the customer's approval reads a pending request, a colleague's dismissal is
// written before the approval's write. The approval's condition refuses it, so exactly one
// decision applies and is logged. (The decisions run in turn, with the interleaving forced: moto's
// threaded server does not serialize concurrent conditional writes as DynamoDB does, see README.)
func TestBrokerStaleDecisionIsRefused(t *testing.T) {
	f := newFixture(t)
	r := f.request(t)
	db, table := f.db, f.table
	var dismissErr error
	racing := &interleavingDB{DynamoAPI: db, before: func() {
		_, dismissErr = f.b.Dismiss(t.Context(), "tenant:acme/carol", r.ID, "not covered by the contract")
	}}
	stale, err := broker.New(broker.Config{}, f.reg, f.mint, f.sts, racing, table)
	require.NoError(t, err)
	stale.SetClock(f.clock.Now)

	_, err = stale.Approve(t.Context(), approver, r.ID)
	require.NoError(t, dismissErr, "the dismissal landed first")
	require.ErrorIs(t, err, broker.ErrConflict, "the approval saw a pending request, but its write is refused")
	got, err := f.b.Get(t.Context(), r.ID)
	require.NoError(t, err)
	assert.Equal(t, broker.Dismissed, got.State)
	decisions := 0
	for _, e := range f.events(t, broker.Filter{Account: acct}) {
		if e.Type == broker.EventApproved || e.Type == broker.EventDismissed {
			decisions++
		}
	}
	assert.Equal(t, 1, decisions, "exactly one decision applies")
}

func TestBrokerCredentialsRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		prepare  func(t *testing.T, f *fixture, id string)
		engineer string
		kind     error
		reason   string
	}{
		"someone else": {engineer: "mallory@doit.com", kind: broker.ErrNotFound, reason: "there is no access request"}, // no requester's name
		"revoked": {prepare: func(t *testing.T, f *fixture, id string) {
			_, err := f.b.Revoke(t.Context(), approver, id, "")
			require.NoError(t, err)
		}, engineer: engineer, kind: broker.ErrConflict, reason: "revoked"},
		"window over": {prepare: func(t *testing.T, f *fixture, _ string) { f.clock.Advance(time.Hour) },
			engineer: engineer, kind: broker.ErrConflict, reason: "expired"},
		"under 15 minutes left": {prepare: func(t *testing.T, f *fixture, _ string) { f.clock.Advance(45*time.Minute + time.Second) },
			engineer: engineer, kind: broker.ErrConflict, reason: "less than the shortest session"},
		"account deregistered": {prepare: func(t *testing.T, f *fixture, _ string) {
			o := f.reg[acct+"/MANAGEMENT"]
			o.Status = "DEREGISTERED"
			f.reg[acct+"/MANAGEMENT"] = o
		}, engineer: engineer, kind: broker.ErrAccountUnavailable, reason: "no account 111122223333 you can use"},
		"token for another account": {prepare: func(t *testing.T, f *fixture, _ string) { f.mint.forAccount = other },
			engineer: engineer, reason: "names issuer"},
		"token with a role's sub": {prepare: func(t *testing.T, f *fixture, _ string) { f.mint.sub = "role/DoiT-Support" },
			engineer: engineer, reason: "not an engineer identifier"},
		"token with the engineer's name as sub": {prepare: func(t *testing.T, f *fixture, _ string) { f.mint.sub = "urn:doit:engineer:alice" },
			engineer: engineer, reason: "not an engineer identifier"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			r := f.request(t)
			_, err := f.b.Approve(t.Context(), approver, r.ID)
			require.NoError(t, err)
			if tc.prepare != nil {
				tc.prepare(t, f, r.ID)
			}
			_, err = f.b.Credentials(t.Context(), tc.engineer, r.ID)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.reason)
			assert.Zero(t, f.sts.count(), "no session")
			if tc.kind == nil { // a failure, not a refusal
				events := f.events(t, broker.Filter{Account: acct})
				assert.Equal(t, broker.EventFailed, events[len(events)-1].Type)
				assert.Equal(t, "internal error: nothing was issued or changed", events[len(events)-1].Reason, "what the caller was told")
				assert.Equal(t, err.Error(), events[len(events)-1].Detail, "the vendor's view: the error")
				return
			}
			require.ErrorIs(t, err, tc.kind)
			assert.Zero(t, f.mint.count(), "no token")
			refusal := lastRefusal(t, f.events(t, broker.Filter{Engineer: tc.engineer}))
			assert.Equal(t, "credentials", refusal.Action)
			assert.Equal(t, err.Error(), refusal.Reason)
		})
	}
}

// A request stored before tickets were limited cannot name a session: it gets nothing, not a
// name with its ticket cut away.
func TestBrokerCredentialsRefuseAStoredTicketThatDoesNotFit(t *testing.T) {
	f := newFixture(t)
	r := f.request(t)
	_, err := f.b.Approve(t.Context(), approver, r.ID)
	require.NoError(t, err)
	_, err = f.db.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
		TableName: aws.String(f.table),
		Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "REQUEST#" + r.ID},
			"sk": &ddbtypes.AttributeValueMemberS{Value: "REQUEST"}},
		UpdateExpression:          aws.String("SET Ticket = :t"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":t": &ddbtypes.AttributeValueMemberS{Value: strings.Repeat("9", 40)}},
	})
	require.NoError(t, err)
	_, err = f.b.Credentials(t.Context(), engineer, r.ID)
	require.ErrorIs(t, err, broker.ErrConflict)
	assert.ErrorContains(t, err, "at most 32 characters")
	assert.Zero(t, f.mint.count(), "no token")
	assert.Zero(t, f.sts.count(), "no session")
}

func TestBrokerSessionNeverOutlivesTheApproval(t *testing.T) {
	f := newFixture(t)
	r := f.request(t)
	_, err := f.b.Approve(t.Context(), approver, r.ID)
	require.NoError(t, err)
	f.clock.Advance(40 * time.Minute)
	c, err := f.b.Credentials(t.Context(), engineer, r.ID)
	require.NoError(t, err)
	assert.Equal(t, int32(20*60), aws.ToInt32(f.sts.calls[0].DurationSeconds))
	assert.Equal(t, f.clock.Now().Add(20*time.Minute).UTC(), c.Expiration)
}

func TestBrokerPreApproval(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	_, err := f.b.PreApprove(ctx, "tenant:globex/eve", acct, time.Hour)
	require.ErrorIs(t, err, broker.ErrAccountUnavailable, "another tenant's account")
	_, err = f.b.PreApprove(ctx, engineer, acct, time.Hour)
	require.ErrorIs(t, err, broker.ErrForbidden, "the vendor cannot pre-approve itself")
	_, err = f.b.PreApprove(ctx, approver, acct, 2*time.Hour)
	require.ErrorIs(t, err, broker.ErrInvalid, "over the maximum")

	_, err = f.b.PreApprove(ctx, approver, acct, 30*time.Minute)
	require.NoError(t, err)
	r := f.request(t)
	assert.Equal(t, broker.Approved, r.State, "approved at once")
	assert.True(t, r.PreApproved)
	assert.Equal(t, approver, r.DecidedBy)
	assert.Equal(t, int64(30*60), r.DurationSeconds, "capped by the standing approval")
	_, err = f.b.Credentials(ctx, engineer, r.ID)
	require.NoError(t, err)
	assert.Equal(t, int32(30*60), aws.ToInt32(f.sts.calls[0].DurationSeconds))
	// a pre-approved request can still be revoked
	_, err = f.b.Revoke(ctx, approver, r.ID, "")
	require.NoError(t, err)
	_, err = f.b.Credentials(ctx, engineer, r.ID)
	require.ErrorIs(t, err, broker.ErrConflict)

	// removing it: requests wait again
	_, err = f.b.PreApprove(ctx, approver, acct, 0)
	require.NoError(t, err)
	assert.Equal(t, broker.Pending, f.request(t).State)
}

func TestBrokerNewRefusesBadConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg     broker.Config
		noTable bool
		reason  string
	}{
		"max duration under a session": {cfg: broker.Config{MaxDuration: time.Minute}, reason: "shorter than a session"},
		"max duration of 720h": {cfg: broker.Config{MaxDuration: 720 * time.Hour},
			reason: "maximum duration 720h0m0s is over 1h0m0s, the longest session (the support roles' MaxSessionDuration)"},
		"max duration of 1h1s":  {cfg: broker.Config{MaxDuration: time.Hour + time.Second}, reason: "maximum duration 1h0m1s is over 1h0m0s"},
		"token lifetime":        {cfg: broker.Config{TokenLifetime: time.Hour}, reason: "token lifetime"},
		"pending for -1h":       {cfg: broker.Config{PendingFor: -time.Hour}, reason: "pending time -1h0m0s is under a minute"},
		"pending for ten years": {cfg: broker.Config{PendingFor: 87600 * time.Hour}, reason: "pending time 87600h0m0s is over 168h0m0s"},
		"no table":              {noTable: true, reason: "no table"},
		"environment STS refuses": {cfg: broker.Config{Environment: "prod (eu)"},
			reason: `environment (the DoiTEnvironment session tag value): "prod (eu)" has '(' (character 6): ` + policy.SessionTagValueRule},
		"environment with a tab":       {cfg: broker.Config{Environment: "prod\teu"}, reason: `has '\t'`},
		"environment of 257 ä":         {cfg: broker.Config{Environment: strings.Repeat("ä", 257)}, reason: "has 257 characters"},
		"environment with a comma":     {cfg: broker.Config{Environment: "prod,eu"}, reason: `has ','`},
		"environment that is not text": {cfg: broker.Config{Environment: "prod\xff"}, reason: "not UTF-8"},
	} {
		t.Run(name, func(t *testing.T) {
			table := "t"
			if tc.noTable {
				table = ""
			}
			_, err := broker.New(tc.cfg, newRegistry(), &fakeMinter{}, &fakeSTS{}, nil, table)
			assert.ErrorContains(t, err, "broker config: ")
			assert.ErrorContains(t, err, tc.reason)
		})
	}
}

func TestValidatePendingFor(t *testing.T) {
	for d, ok := range map[time.Duration]bool{
		time.Minute: true, 3 * time.Hour: true, broker.MaxPendingFor: true,
		time.Minute - time.Second: false, 0: false, -time.Hour: false, broker.MaxPendingFor + time.Second: false,
	} {
		err := broker.ValidatePendingFor(d)
		assert.Equal(t, ok, err == nil, "%s: %v", d, err)
	}
}

func TestValidateMaxDuration(t *testing.T) {
	for d, ok := range map[time.Duration]bool{
		time.Hour: true, 15 * time.Minute: true, 30 * time.Minute: true,
		time.Hour + time.Second: false, 720 * time.Hour: false, 15*time.Minute - time.Second: false, -time.Hour: false,
	} {
		err := broker.ValidateMaxDuration(d)
		assert.Equal(t, ok, err == nil, "%s: %v", d, err)
	}
}

// Under a (valid) configured maximum below the session's, requests and standing approvals are
// held to it.
func TestBrokerConfiguredMaxDuration(t *testing.T) {
	f := newFixtureWith(t, broker.Config{MaxDuration: 30 * time.Minute})
	ctx := t.Context()
	_, err := f.b.Request(ctx, engineer, acct, ticket, "why", 30*time.Minute+time.Second)
	require.ErrorIs(t, err, broker.ErrInvalid)
	assert.ErrorContains(t, err, "duration 30m1s is over the maximum, 30m0s")
	_, err = f.b.PreApprove(ctx, approver, acct, time.Hour)
	require.ErrorIs(t, err, broker.ErrInvalid)
	assert.ErrorContains(t, err, "maximum duration 1h0m0s is over the maximum, 30m0s")

	_, err = f.b.PreApprove(ctx, approver, acct, 30*time.Minute)
	require.NoError(t, err)
	r, err := f.b.Request(ctx, engineer, acct, ticket, "why", 30*time.Minute)
	require.NoError(t, err)
	assert.Equal(t, broker.Approved, r.State)
	assert.Equal(t, int64(30*60), r.DurationSeconds)
}

// Any value STS takes for a session tag is accepted, counted in characters (200 "ä" are 400
// bytes), and reaches the token.
func TestBrokerEnvironmentReachesTheToken(t *testing.T) {
	for _, env := range []string{strings.Repeat("ä", 200), strings.Repeat("ä", 256), strings.Repeat("e", 256), "prod eu:1/a=b+c-d@e_f.g"} {
		f := newFixtureWith(t, broker.Config{Environment: env})
		r := f.request(t)
		_, err := f.b.Approve(t.Context(), approver, r.ID)
		require.NoError(t, err)
		_, err = f.b.Credentials(t.Context(), engineer, r.ID)
		require.NoError(t, err)
		assert.Equal(t, env, f.mint.calls[0].Environment)
	}
}

// A dismissal says why: the reason is required, held to the justification's rules, kept on the
// request for the engineer and in the audit; a revocation may give one.
func TestBrokerDismissalSaysWhy(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	r := f.request(t)
	for body, want := range map[string]string{
		"":                      "a reason is required",
		`{"reason":"  "}`:       "a reason is required",
		`{"reason":"a\u200bb"}`: "the reason has an invisible character (U+200B)",
		`{"reason":"a\u0000b"}`: "the reason has a control character (U+0000): only newlines and tabs are allowed",
		`{"reason":"` + strings.Repeat("x", broker.MaxJustificationLength+1) + `"}`: "the reason is too long: at most 1000 characters, and it has 1001",
		`{"why":"no"}`: `the request body has an unknown field "why"`,
	} {
		status, got, _ := api.call("POST", "/requests/"+r.ID+"/dismiss", approver, body)
		assert.Equal(t, http.StatusBadRequest, status, body)
		assert.JSONEq(t, `{"error":`+strconv.Quote(want)+`}`, got, body)
	}
	still, err := f.b.Get(t.Context(), r.ID)
	require.NoError(t, err)
	require.Equal(t, broker.Pending, still.State, "nothing is decided on a refused body")

	status, got, _ := api.call("POST", "/requests/"+r.ID+"/dismiss", approver, `{"reason":" not covered by the support contract "}`)
	require.Equal(t, http.StatusOK, status, got)
	stored, err := f.b.Get(t.Context(), r.ID)
	require.NoError(t, err)
	assert.Equal(t, broker.Dismissed, stored.State)
	assert.Equal(t, "not covered by the support contract", stored.DecisionReason)
	var dismissed []string
	for _, e := range f.events(t, broker.Filter{Account: acct}) {
		if e.Type == broker.EventDismissed {
			dismissed = append(dismissed, e.Reason)
		}
	}
	assert.Equal(t, []string{"not covered by the support contract"}, dismissed)

	approved := f.request(t)
	_, err = f.b.Approve(t.Context(), approver, approved.ID)
	require.NoError(t, err)
	status, got, _ = api.call("POST", "/requests/"+approved.ID+"/revoke", approver, "")
	require.Equal(t, http.StatusOK, status, got)
	assert.NotContains(t, got, "decisionReason", "a revocation without a reason")
}
