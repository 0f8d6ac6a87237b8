package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
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
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
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
		TableName: aws.String(r.Table), Key: accountKey(account, kind), ConsistentRead: aws.Bool(true),
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

// StartOnboarding records a pending management onboarding for tenant and account with externalID.
// It replaces a pending or deregistered one (the older link stops working) and refuses to touch a
// registration a stack owns.
func (r *Registry) StartOnboarding(ctx context.Context, tenant, account, externalID string) (Onboarding, error) {
	now := r.now()
	o := Onboarding{AccountID: account, Kind: Management, Tenant: tenant, ExternalID: externalID, Status: Pending,
		CreatedAt: now, UpdatedAt: now}
	item, err := attributevalue.MarshalMap(o)
	if err != nil {
		return Onboarding{}, fmt.Errorf("encoding the onboarding of %s: %w", account, err)
	}
	for k, v := range accountKey(account, Management) {
		item[k] = v
	}
	cond, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(attrPK)).
		Or(expression.Name("Status").In(expression.Value(Pending), expression.Value(Deregistered)))).Build()
	if err != nil {
		return Onboarding{}, fmt.Errorf("building the onboarding condition: %w", err)
	}
	_, err = r.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(r.Table),
		Item:                      item,
		ConditionExpression:       cond.Condition(),
		ExpressionAttributeNames:  cond.Names(),
		ExpressionAttributeValues: cond.Values(),
	})
	if awsx.IsConditionFailed(err) {
		return Onboarding{}, r.explainOwned(ctx, account, Management)
	}
	if err != nil {
		return Onboarding{}, fmt.Errorf("recording the onboarding of %s: %w", account, err)
	}
	return o, nil
}

// Register records a verified registration. It is idempotent for the owning stack (duplicate
// deliveries, retried requests, updates) and refuses a second stack while the first owns it.
// A management registration also needs the pending onboarding's ExternalId.
func (r *Registry) Register(ctx context.Context, reg Registration) (Onboarding, error) {
	status := Registered
	if reg.Kind == Gateway && reg.Tenant == "" {
		status = Unclaimed
	}
	now := r.now().Format(time.RFC3339Nano)
	n, v := expression.Name, expression.Value
	update := expression.Set(n("Status"), v(status)).
		Set(n("AccountId"), v(reg.AccountID)).
		Set(n("Kind"), v(reg.Kind)).
		Set(n("RoleArn"), v(reg.RoleARN)).
		Set(n("TemplateVersion"), v(reg.TemplateVersion)).
		Set(n("OwnerStackId"), v(reg.StackID)).
		Set(n("LastRequestId"), v(reg.RequestID)).
		Set(n("UpdatedAt"), v(now)).
		Set(n("CreatedAt"), n("CreatedAt").IfNotExists(v(now))).
		Set(n("Runbooks"), v(reg.Runbooks)).
		Set(n("DiagnosticTool"), v(reg.DiagnosticTool))
	ownedByThisStack := n("OwnerStackId").Equal(v(reg.StackID))
	var cond expression.ConditionBuilder
	switch reg.Kind {
	case Management:
		update = update.Set(n("BoundaryArn"), v(reg.BoundaryARN))
		cond = expression.AttributeExists(n(attrPK)).
			And(n("ExternalId").Equal(v(reg.ExternalID))).
			And(n("Status").In(v(Pending), v(Deregistered)).Or(ownedByThisStack))
	case Gateway:
		update = update.Set(n("Tenant"), v(reg.Tenant)).Set(n("ProviderArns"), v(reg.ProviderARNs))
		cond = expression.AttributeNotExists(n(attrPK)).Or(n("Status").Equal(v(Deregistered))).Or(ownedByThisStack)
	default:
		return Onboarding{}, fmt.Errorf("registering %s: unknown kind %q", reg.AccountID, reg.Kind)
	}
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return Onboarding{}, fmt.Errorf("building the registration of %s: %w", reg.AccountID, err)
	}
	out, err := r.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(r.Table),
		Key:                       accountKey(reg.AccountID, reg.Kind),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueAllNew,
	})
	if awsx.IsConditionFailed(err) {
		return Onboarding{}, r.explainRefusal(ctx, reg)
	}
	if err != nil {
		return Onboarding{}, fmt.Errorf("registering the %s stack of %s: %w", reg.Kind, reg.AccountID, err)
	}
	var o Onboarding
	if err := attributevalue.UnmarshalMap(out.Attributes, &o); err != nil {
		return Onboarding{}, fmt.Errorf("decoding the registration of %s: %w", reg.AccountID, err)
	}
	return o, nil
}

// explainRefusal reads the record a conditional registration was refused on and says why.
func (r *Registry) explainRefusal(ctx context.Context, reg Registration) error {
	o, found, err := r.Get(ctx, reg.AccountID, reg.Kind)
	switch {
	case err != nil:
		return err
	case !found && reg.Kind == Management:
		return ErrNoPendingOnboarding
	case reg.Kind == Management && subtle.ConstantTimeCompare([]byte(o.ExternalID), []byte(reg.ExternalID)) != 1:
		return ErrExternalIDMismatch
	default:
		return &OwnedError{Kind: reg.Kind, StackID: o.OwnerStackID}
	}
}

func (r *Registry) explainOwned(ctx context.Context, account string, kind Kind) error {
	o, _, err := r.Get(ctx, account, kind)
	if err != nil {
		return err
	}
	return &OwnedError{Kind: kind, StackID: o.OwnerStackID}
}

// Deregister marks the account's registration deregistered if, and only if, stackID owns it, with
// the leftovers the Delete could not remove (none: the field is cleared). It reports whether it
// changed anything: a rolled-back Create of another stack, or a repeated Delete, changes nothing.
func (r *Registry) Deregister(ctx context.Context, account string, kind Kind, stackID, requestID string, leftovers []string) (bool, error) {
	n, v := expression.Name, expression.Value
	update := expression.Set(n("Status"), v(Deregistered)).
		Set(n("LastRequestId"), v(requestID)).
		Set(n("UpdatedAt"), v(r.now().Format(time.RFC3339Nano)))
	if len(leftovers) > 0 {
		update = update.Set(n("Leftovers"), v(leftovers))
	} else {
		update = update.Remove(n("Leftovers"))
	}
	expr, err := expression.NewBuilder().
		WithUpdate(update).
		WithCondition(n("OwnerStackId").Equal(v(stackID)).And(n("Status").NotEqual(v(Deregistered)))).
		Build()
	if err != nil {
		return false, fmt.Errorf("building the deregistration of %s: %w", account, err)
	}
	_, err = r.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(r.Table),
		Key:                       accountKey(account, kind),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if awsx.IsConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("deregistering the %s stack of %s: %w", kind, account, err)
	}
	return true, nil
}

// ListByStatus returns every onboarding with the given status (operators' view of unclaimed ones).
func (r *Registry) ListByStatus(ctx context.Context, status Status) ([]Onboarding, error) {
	filter, err := expression.NewBuilder().WithFilter(expression.Name("Status").Equal(expression.Value(status)).
		And(expression.Name(attrPK).BeginsWith("ACCOUNT#"))).Build()
	if err != nil {
		return nil, fmt.Errorf("building the %s filter: %w", status, err)
	}
	var out []Onboarding
	var start map[string]types.AttributeValue
	for {
		page, err := r.DB.Scan(ctx, &dynamodb.ScanInput{
			TableName:                 aws.String(r.Table),
			FilterExpression:          filter.Filter(),
			ExpressionAttributeNames:  filter.Names(),
			ExpressionAttributeValues: filter.Values(),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, fmt.Errorf("listing %s onboardings: %w", status, err)
		}
		var items []Onboarding
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return nil, fmt.Errorf("decoding %s onboardings: %w", status, err)
		}
		out = append(out, items...)
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}

// tokenHash is how a tenant token is stored: never the token itself.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// IssueTenantToken creates a token that binds gateway stacks to tenant. Only its hash is stored, so
// the token is shown once, here.
func (r *Registry) IssueTenantToken(ctx context.Context, tenant string) (string, error) {
	if tenant == "" {
		return "", errors.New("issuing a tenant token: the tenant is empty")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a tenant token: %w", err)
	}
	token := "tt-" + hex.EncodeToString(b)
	item := tokenKey(tokenHash(token))
	item["Tenant"] = s(tenant)
	item["CreatedAt"] = s(r.now().Format(time.RFC3339Nano))
	_, err := r.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(r.Table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil {
		return "", fmt.Errorf("recording a tenant token for %s: %w", tenant, err)
	}
	return token, nil
}

// ResolveTenantToken returns the tenant a token was issued for, or false if it is empty or unknown.
func (r *Registry) ResolveTenantToken(ctx context.Context, token string) (string, bool, error) {
	if token == "" {
		return "", false, nil
	}
	out, err := r.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(r.Table), Key: tokenKey(tokenHash(token)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", false, fmt.Errorf("resolving a tenant token: %w", err)
	}
	tenant, ok := out.Item["Tenant"].(*types.AttributeValueMemberS)
	if !ok {
		return "", false, nil
	}
	return tenant.Value, true, nil
}
