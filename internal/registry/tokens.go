package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	if tenant == "" {
		return "", errors.New("issuing a tenant token: the tenant is empty")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a tenant token: %w", err)
	}
	token := "tt-" + hex.EncodeToString(b)
	item := tokenKey(TokenHash(token))
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
	return r.ResolveTokenHash(ctx, TokenHash(token))
}

// ResolveTokenHash returns the tenant the token with this hash (TokenHash) was issued for, or false
// if it is empty or unknown.
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
	if !ok {
		return "", false, nil
	}
	return tenant.Value, true, nil
}
