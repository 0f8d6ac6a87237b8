package sim

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
)

// Footprint lists the ARNs of what the vendor manages in account (its identity providers, the
// support role and its policy) that exist now, as the customer sees them with its own access.
func (a *AWS) Footprint(ctx context.Context, account string) ([]string, error) {
	cfg, err := a.Account(ctx, account)
	if err != nil {
		return nil, err
	}
	d := gateway.DesiredState(policy.DefaultVendor(), policy.Target{Partition: "aws", AccountID: account}, gateway.Options{})
	o, err := gateway.Observe(ctx, iam.NewFromConfig(cfg), d)
	if err != nil {
		return nil, err
	}
	var out []string
	for arn, p := range o.Providers {
		if p != nil {
			out = append(out, arn)
		}
	}
	slices.Sort(out)
	if o.Role != nil {
		out = append(out, d.Role.ARN)
	}
	if o.Policy != nil {
		out = append(out, d.Policy.ARN)
	}
	return out, nil
}

// KeyStates lists the KMS state (Enabled, PendingDeletion, …) of every signing key the issuer made
// for account, oldest first.
func (a *AWS) KeyStates(ctx context.Context, account string) ([]string, error) {
	c := kms.NewFromConfig(a.vendor)
	iss, err := issuer.New(issuer.Config{Vendor: policy.DefaultVendor(), Partition: "aws", VendorAccount: VendorAccount,
		SignerRoleARN: SignerRoleARN}, c, &issuer.DynamoStore{DB: dynamodb.NewFromConfig(a.vendor), Table: RegistryTable})
	if err != nil {
		return nil, err
	}
	keys, err := iss.Keys(ctx, account)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys {
		d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(k.KeyID)})
		if err != nil {
			return nil, err
		}
		out = append(out, string(d.KeyMetadata.KeyState))
	}
	return out, nil
}
