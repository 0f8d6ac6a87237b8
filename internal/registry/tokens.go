package registry

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TokenHash is how a tenant token is stored and compared: the hex SHA-256 of the token, never the
// token itself. Compare two hashes with crypto/subtle.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// IssueTenantToken creates a token that binds gateway stacks to tenant. Only its hash is stored, so
// the token is shown once, here.
func (r *Registry) IssueTenantToken(ctx context.Context, tenant string) (string, error) {
	_, token, err := r.IssueTenantTokenBy(ctx, tenant, "")
	return token, err
}

// ResolveTenantToken returns the tenant a token was issued for, or false if it is empty, unknown
// or revoked.
func (r *Registry) ResolveTenantToken(ctx context.Context, token string) (string, bool, error) {
	if token == "" {
		return "", false, nil
	}
	return r.ResolveTokenHash(ctx, TokenHash(token))
}

// TokenRevoked reports whether token was issued and then revoked (false for one never issued).
func (r *Registry) TokenRevoked(ctx context.Context, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	out, err := r.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(r.Table), Key: tokenKey(TokenHash(token)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, fmt.Errorf("reading a tenant token: %w", err)
	}
	_, revoked := out.Item["RevokedAt"]
	return revoked, nil
}

// ResolveTokenHash returns the tenant the token with this hash (TokenHash) was issued for, or false
// if it is empty, unknown or revoked.
func (r *Registry) ResolveTokenHash(ctx context.Context, hash string) (string, bool, error) {
	if hash == "" {
		return "", false, nil
	}
	out, err := r.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(r.Table), Key: tokenKey(hash), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", false, fmt.Errorf("resolving a tenant token: %w", err)
	}
	tenant, ok := out.Item["Tenant"].(*types.AttributeValueMemberS)
	if _, revoked := out.Item["RevokedAt"]; !ok || revoked {
		return "", false, nil
	}
	return tenant.Value, true, nil
}

// TenantToken is an issued tenant token as its tenant's console lists it: never the token, which
// only its holder has.
type TenantToken struct {
	// ID names the token in lists and revocations: the first TokenIDLength hex digits of its hash
	// (TokenHash). It says nothing of the token.
	ID       string
	Tenant   string
	IssuedAt time.Time
	// IssuedBy is who issued it: a customer's principal (the console) or "" (an operator, with
	// supportctl tenant-token).
	IssuedBy string
	// RevokedAt and RevokedBy say when and by whom it was revoked (zero: it is live).
	RevokedAt time.Time
	RevokedBy string
	hash      string
}

// TokenIDLength is how many hex digits of a token's hash its ID has: 64 bits, unique among any
// tenant's tokens with overwhelming odds (and a collision only makes both share an ID, which a
// revocation refuses).
const TokenIDLength = 16

// IssueTenantTokenBy is IssueTenantToken recording who issued it (a customer's principal).
func (r *Registry) IssueTenantTokenBy(ctx context.Context, tenant, by string) (TenantToken, string, error) {
	if tenant == "" {
		return TenantToken{}, "", errors.New("issuing a tenant token: the tenant is empty")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return TenantToken{}, "", fmt.Errorf("generating a tenant token: %w", err)
	}
	token := "tt-" + hex.EncodeToString(b)
	hash := TokenHash(token)
	t := TenantToken{ID: hash[:TokenIDLength], Tenant: tenant, IssuedAt: r.now().UTC(), IssuedBy: by, hash: hash}
	item := tokenKey(hash)
	item["Tenant"] = s(tenant)
	item["CreatedAt"] = s(t.IssuedAt.Format(time.RFC3339Nano))
	if by != "" {
		item["IssuedBy"] = s(by)
	}
	_, err := r.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(r.Table), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil {
		return TenantToken{}, "", fmt.Errorf("recording a tenant token for %s: %w", tenant, err)
	}
	return t, token, nil
}

// TenantTokens lists tenant's tokens, live and revoked, oldest first. Like TenantAccounts it is
// a filtered Scan (the table has no index by tenant).
func (r *Registry) TenantTokens(ctx context.Context, tenant string) ([]TenantToken, error) {
	if tenant == "" {
		return nil, errors.New("listing a tenant's tokens: the tenant is empty")
	}
	filter, err := expression.NewBuilder().WithFilter(expression.Name(attrPK).BeginsWith(tokenPKPrefix).
		And(expression.Name("Tenant").Equal(expression.Value(tenant)))).Build()
	if err != nil {
		return nil, fmt.Errorf("building the filter of tenant %s's tokens: %w", tenant, err)
	}
	var out []TenantToken
	err = r.scan(ctx, filter, func(items []map[string]types.AttributeValue) error {
		for _, item := range items {
			pk, _ := item[attrPK].(*types.AttributeValueMemberS)
			if pk == nil {
				continue
			}
			hash := strings.TrimPrefix(pk.Value, tokenPKPrefix)
			t := TenantToken{ID: hash[:min(len(hash), TokenIDLength)], Tenant: tenant, hash: hash}
			if v, ok := item["CreatedAt"].(*types.AttributeValueMemberS); ok {
				t.IssuedAt, _ = time.Parse(time.RFC3339Nano, v.Value)
			}
			if v, ok := item["IssuedBy"].(*types.AttributeValueMemberS); ok {
				t.IssuedBy = v.Value
			}
			if v, ok := item["RevokedAt"].(*types.AttributeValueMemberS); ok {
				t.RevokedAt, _ = time.Parse(time.RFC3339Nano, v.Value)
			}
			if v, ok := item["RevokedBy"].(*types.AttributeValueMemberS); ok {
				t.RevokedBy = v.Value
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing tenant %s's tokens: %w", tenant, err)
	}
	slices.SortFunc(out, func(a, b TenantToken) int {
		return cmp.Or(a.IssuedAt.Compare(b.IssuedAt), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// ErrNoSuchToken refuses revoking a token that is not one of the tenant's live tokens.
var ErrNoSuchToken = errors.New("no such token of this organization, or it is revoked already")

// RevokeTenantToken revokes tenant's token with ID id (TenantToken.ID), by by (a customer's
// principal, or "" for an operator): stacks can no longer register accounts with it
// (ResolveTenantToken no longer knows it). Registrations it made stand: their records hold the
// token's hash. The record is kept, marked, so the list says who revoked it and when. It refuses,
// with ErrNoSuchToken, an ID that is not exactly one of tenant's live tokens.
func (r *Registry) RevokeTenantToken(ctx context.Context, tenant, id, by string) (TenantToken, error) {
	tokens, err := r.TenantTokens(ctx, tenant)
	if err != nil {
		return TenantToken{}, err
	}
	var found []TenantToken
	for _, t := range tokens {
		if t.ID == id && t.RevokedAt.IsZero() {
			found = append(found, t)
		}
	}
	if len(found) != 1 {
		return TenantToken{}, fmt.Errorf("revoking token %s: %w", id, ErrNoSuchToken)
	}
	t := found[0]
	t.RevokedAt, t.RevokedBy = r.now().UTC(), by
	update := expression.Set(expression.Name("RevokedAt"), expression.Value(t.RevokedAt.Format(time.RFC3339Nano)))
	if by != "" {
		update = update.Set(expression.Name("RevokedBy"), expression.Value(by))
	}
	cond := expression.Name("Tenant").Equal(expression.Value(tenant)).And(expression.AttributeNotExists(expression.Name("RevokedAt")))
	e, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return TenantToken{}, fmt.Errorf("revoking token %s: %w", id, err)
	}
	_, err = r.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(r.Table), Key: tokenKey(t.hash), UpdateExpression: e.Update(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	var raced *types.ConditionalCheckFailedException
	if errors.As(err, &raced) {
		return TenantToken{}, fmt.Errorf("revoking token %s: %w", id, ErrNoSuchToken)
	}
	if err != nil {
		return TenantToken{}, fmt.Errorf("revoking token %s of %s: %w", id, tenant, err)
	}
	return t, nil
}
