package awscheck

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/supportaccess/gateway/internal/policy"
)

// The front end reads what AWS would consult (roles, identity providers, keys) straight from moto
// with Config.Admin. Each lookup answers found == false for an entity that does not exist, and an
// error only when moto could not be asked.

// admin returns Config.Admin's configuration for account, asking once per account.
func (s *Server) admin(ctx context.Context, account string) (aws.Config, error) {
	s.adminMu.Lock()
	cfg, ok := s.admins[account]
	s.adminMu.Unlock()
	if ok {
		return cfg, nil
	}
	cfg, err := s.cfg.Admin(ctx, account)
	if err != nil {
		return aws.Config{}, fmt.Errorf("admin configuration for account %s: %w", account, err)
	}
	s.adminMu.Lock()
	s.admins[account] = cfg
	s.adminMu.Unlock()
	return cfg, nil
}

// role is what STS consults of a role.
type role struct {
	arn                string // as IAM spells it, path included
	trust              policy.Document
	maxSessionDuration int32 // seconds
}

// getRole reads the role r names. A role whose path differs from r's is not the role r names.
func (s *Server) getRole(ctx context.Context, r roleARN) (role, bool, error) {
	cfg, err := s.admin(ctx, r.account)
	if err != nil {
		return role{}, false, err
	}
	out, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(r.name)})
	var missing *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &missing):
		return role{}, false, nil
	case err != nil:
		return role{}, false, fmt.Errorf("getting role %s: %w", r, err)
	case aws.ToString(out.Role.Path) != r.path:
		return role{}, false, nil
	}
	trust, err := parseStoredDocument(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		return role{}, false, fmt.Errorf("trust policy of role %s: %w", r, err)
	}
	return role{
		arn:                aws.ToString(out.Role.Arn),
		trust:              trust,
		maxSessionDuration: aws.ToInt32(out.Role.MaxSessionDuration),
	}, true, nil
}

// getProviderAudiences reads the client IDs of an OIDC identity provider.
func (s *Server) getProviderAudiences(ctx context.Context, account, providerARN string) ([]string, bool, error) {
	cfg, err := s.admin(ctx, account)
	if err != nil {
		return nil, false, err
	}
	out, err := iam.NewFromConfig(cfg).GetOpenIDConnectProvider(ctx,
		&iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)})
	var missing *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &missing):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("getting identity provider %s: %w", providerARN, err)
	}
	return out.ClientIDList, true, nil
}

// key is what KMS consults of a key.
type key struct {
	arn    string
	policy policy.Document
}

// getKey resolves keyID (a key ID, key ARN, alias name or alias ARN) in account and region, and
// reads its key policy.
func (s *Server) getKey(ctx context.Context, account, region, keyID string) (key, bool, error) {
	cfg, err := s.admin(ctx, account)
	if err != nil {
		return key{}, false, err
	}
	client := kms.NewFromConfig(cfg, func(o *kms.Options) { o.Region = region })
	desc, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	var missing *kmstypes.NotFoundException
	switch {
	case errors.As(err, &missing):
		return key{}, false, nil
	case err != nil:
		return key{}, false, fmt.Errorf("describing key %s: %w", keyID, err)
	}
	out, err := client.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{
		KeyId:      desc.KeyMetadata.KeyId,
		PolicyName: aws.String("default"),
	})
	if err != nil {
		return key{}, false, fmt.Errorf("getting key policy of %s: %w", keyID, err)
	}
	doc, err := parseStoredDocument(aws.ToString(out.Policy))
	if err != nil {
		return key{}, false, fmt.Errorf("key policy of %s: %w", keyID, err)
	}
	return key{arn: aws.ToString(desc.KeyMetadata.Arn), policy: doc}, true, nil
}
