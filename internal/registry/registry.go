package registry

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/supportaccess/gateway/internal/awsx"
)

// DynamoAPI is the part of DynamoDB the registry uses.
type DynamoAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ DynamoAPI = (*dynamodb.Client)(nil)

// Registry reads and writes onboardings in one DynamoDB table.
type Registry struct {
	DB    DynamoAPI
	Table string
	Now   func() time.Time // nil: time.Now
}

func (r *Registry) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// NewExternalID returns a fresh ExternalId: 192 random bits, in the characters STS accepts.
func NewExternalID() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating an ExternalId: %w", err)
	}
	return "ext-" + base64.RawURLEncoding.EncodeToString(b), nil
}

// Get returns an account's onboarding of the given kind.
func (r *Registry) Get(ctx context.Context, account string, kind Kind) (Onboarding, bool, error) {
	out, err := r.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(r.Table), Key: accountKey(account, string(kind)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Onboarding{}, false, fmt.Errorf("reading the %s onboarding of %s: %w", kind, account, err)
	}
	if out.Item == nil {
		return Onboarding{}, false, nil
	}
	var o Onboarding
	if err := attributevalue.UnmarshalMap(out.Item, &o); err != nil {
		return Onboarding{}, false, fmt.Errorf("decoding the %s onboarding of %s: %w", kind, account, err)
	}
	return o, true, nil
}

// Account reads every record of the account at once (one strongly consistent query).
func (r *Registry) Account(ctx context.Context, account string) (AccountState, error) {
	st := AccountState{AccountID: account}
	out, err := r.DB.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(r.Table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(accountPK(account))},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return st, fmt.Errorf("reading the records of account %s: %w", account, err)
	}
	for _, item := range out.Items {
		sk, _ := item[attrSK].(*types.AttributeValueMemberS)
		if sk == nil {
			continue
		}
		switch sk.Value {
		case string(Management), string(Gateway):
			var o Onboarding
			if err := attributevalue.UnmarshalMap(item, &o); err != nil {
				return st, fmt.Errorf("decoding the %s record of %s: %w", sk.Value, account, err)
			}
			if sk.Value == string(Management) {
				st.Management = &o
			} else {
				st.Gateway = &o
			}
		case skConflict:
			var c Conflict
			if err := attributevalue.UnmarshalMap(item, &c); err != nil {
				return st, fmt.Errorf("decoding the conflict record of %s: %w", account, err)
			}
			st.Conflict = &c
		}
	}
	return st, nil
}

// Writes are the records Save writes: nil leaves a record as it is (but still requires it
// unchanged). ClearConflict deletes the conflict record. NotRolledBack, if set, is the failure
// marker of the Create that writes: the transaction also requires that CloudFormation has not rolled
// that Create back (MarkRolledBack), so a late copy of it can never register.
type Writes struct {
	Management, Gateway *Onboarding
	Conflict            *Conflict
	ClearConflict       bool
	NotRolledBack       string
}

// empty reports whether w writes nothing.
func (w Writes) empty() bool {
	return w.Management == nil && w.Gateway == nil && w.Conflict == nil && !w.ClearConflict
}

// Save writes w as the next version of the records in st, in one transaction that writes nothing
// and returns ErrStale if any record of the account changed since st was read (including one that
// appeared). The records' versions, UpdatedAt and (for new records) CreatedAt are set here. It
// returns the account's new state.
func (r *Registry) Save(ctx context.Context, st AccountState, w Writes) (AccountState, error) {
	now := r.now()
	next := st
	var items []types.TransactWriteItem
	onboarding := func(kind Kind, old, upd *Onboarding) error {
		if upd == nil {
			items = append(items, r.conditionCheck(st.AccountID, string(kind), versionOf(old)))
			return nil
		}
		o := *upd
		o.AccountID, o.Kind = st.AccountID, kind
		o.Version = versionOf(old) + 1
		o.UpdatedAt = now
		if old == nil || old.CreatedAt.IsZero() {
			o.CreatedAt = now
		} else {
			o.CreatedAt = old.CreatedAt
		}
		item, err := r.put(st.AccountID, string(kind), o, versionOf(old))
		if err != nil {
			return err
		}
		items = append(items, item)
		if kind == Management {
			next.Management = &o
		} else {
			next.Gateway = &o
		}
		return nil
	}
	if err := onboarding(Management, st.Management, w.Management); err != nil {
		return st, err
	}
	if err := onboarding(Gateway, st.Gateway, w.Gateway); err != nil {
		return st, err
	}
	oldConflict := int64(0)
	if st.Conflict != nil {
		oldConflict = st.Conflict.Version
	}
	switch {
	case w.Conflict != nil:
		c := *w.Conflict
		c.AccountID, c.Version = st.AccountID, oldConflict+1
		if c.At.IsZero() {
			c.At = now
		}
		item, err := r.put(st.AccountID, skConflict, c, oldConflict)
		if err != nil {
			return st, err
		}
		items = append(items, item)
		next.Conflict = &c
	case w.ClearConflict:
		cond, names, values := versionCondition(oldConflict)
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{
			TableName: aws.String(r.Table), Key: accountKey(st.AccountID, skConflict),
			ConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		}})
		next.Conflict = nil
	default:
		items = append(items, r.conditionCheck(st.AccountID, skConflict, oldConflict))
	}
	if w.NotRolledBack != "" {
		items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(r.Table), Key: rolledBackKey(w.NotRolledBack),
			ConditionExpression: aws.String("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": attrPK},
		}})
	}
	_, err := r.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if isStale(err) {
		if w.NotRolledBack != "" {
			if gone, rerr := r.RolledBack(ctx, w.NotRolledBack); rerr == nil && gone {
				return st, fmt.Errorf("saving account %s: %w", st.AccountID, ErrRolledBack)
			}
		}
		return st, fmt.Errorf("saving account %s: %w", st.AccountID, ErrStale)
	}
	if err != nil {
		return st, fmt.Errorf("saving account %s: %w", st.AccountID, err)
	}
	return next, nil
}

func versionOf(o *Onboarding) int64 {
	if o == nil {
		return 0
	}
	return o.Version
}

// versionCondition requires the item to be at version v: absent (or written before versions) for 0.
func versionCondition(v int64) (string, map[string]string, map[string]types.AttributeValue) {
	names := map[string]string{"#v": attrVersion}
	if v == 0 {
		return "attribute_not_exists(#v)", names, nil
	}
	return "#v = :v", names, map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: fmt.Sprint(v)}}
}

func (r *Registry) conditionCheck(account, sk string, v int64) types.TransactWriteItem {
	cond, names, values := versionCondition(v)
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: aws.String(r.Table), Key: accountKey(account, sk),
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}}
}

func (r *Registry) put(account, sk string, v any, oldVersion int64) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(v)
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("encoding the %s record of %s: %w", sk, account, err)
	}
	for k, kv := range accountKey(account, sk) {
		item[k] = kv
	}
	cond, names, values := versionCondition(oldVersion)
	return types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(r.Table), Item: item,
		ConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}}, nil
}

// isStale is awsx.IsStale.
var isStale = awsx.IsStale

// Update reads the account, lets decide compute the writes, and saves them, reading and deciding
// again (at most attempts times) while another writer changes the account in between. decide is
// pure with respect to the registry: it may be called more than once. It returns the state saved
// (or read, if decide wrote nothing) and decide's error, if any.
func (r *Registry) Update(ctx context.Context, account string, decide func(AccountState) (Writes, error)) (AccountState, error) {
	const attempts = 5
	var err error
	for range attempts {
		var st AccountState
		st, err = r.Account(ctx, account)
		if err != nil {
			return st, err
		}
		w, derr := decide(st)
		if derr != nil {
			return st, derr
		}
		if w.empty() {
			return st, nil
		}
		st, err = r.Save(ctx, st, w)
		if !errors.Is(err, ErrStale) {
			return st, err
		}
	}
	return AccountState{}, fmt.Errorf("account %s kept changing while it was being saved (%d attempts): %w", account, attempts, err)
}

// ListByStatus returns every onboarding with the given status (operators' view of unclaimed ones).
func (r *Registry) ListByStatus(ctx context.Context, status Status) ([]Onboarding, error) {
	filter, err := expression.NewBuilder().WithFilter(expression.Name("Status").Equal(expression.Value(status)).
		And(expression.Name(attrPK).BeginsWith(accountPK(""))).
		And(expression.Name(attrSK).In(expression.Value(Management), expression.Value(Gateway)))).Build()
	if err != nil {
		return nil, fmt.Errorf("building the %s filter: %w", status, err)
	}
	var out []Onboarding
	err = r.scan(ctx, filter, func(items []map[string]types.AttributeValue) error {
		var page []Onboarding
		if err := attributevalue.UnmarshalListOfMaps(items, &page); err != nil {
			return fmt.Errorf("decoding %s onboardings: %w", status, err)
		}
		out = append(out, page...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s onboardings: %w", status, err)
	}
	return out, nil
}

// Conflicts lists every account whose ownership two tenants claimed.
func (r *Registry) Conflicts(ctx context.Context) ([]Conflict, error) {
	filter, err := expression.NewBuilder().WithFilter(expression.Name(attrSK).Equal(expression.Value(skConflict))).Build()
	if err != nil {
		return nil, fmt.Errorf("building the conflict filter: %w", err)
	}
	var out []Conflict
	err = r.scan(ctx, filter, func(items []map[string]types.AttributeValue) error {
		var page []Conflict
		if err := attributevalue.UnmarshalListOfMaps(items, &page); err != nil {
			return fmt.Errorf("decoding conflicts: %w", err)
		}
		out = append(out, page...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing conflicts: %w", err)
	}
	return out, nil
}

// scan pages through the table with filter, handing each page's items to f.
func (r *Registry) scan(ctx context.Context, filter expression.Expression, f func([]map[string]types.AttributeValue) error) error {
	var start map[string]types.AttributeValue
	for {
		page, err := r.DB.Scan(ctx, &dynamodb.ScanInput{
			TableName:                 aws.String(r.Table),
			FilterExpression:          filter.Filter(),
			ExpressionAttributeNames:  filter.Names(),
			ExpressionAttributeValues: filter.Values(),
			ExclusiveStartKey:         start,
			ConsistentRead:            aws.Bool(true),
		})
		if err != nil {
			return err
		}
		if err := f(page.Items); err != nil {
			return err
		}
		if len(page.LastEvaluatedKey) == 0 {
			return nil
		}
		start = page.LastEvaluatedKey
	}
}
