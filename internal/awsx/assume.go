package awsx

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// STSAPI is the part of STS this package uses.
type STSAPI interface {
	AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

var _ STSAPI = (*sts.Client)(nil)

// SessionDuration is how long the vendor's sessions in a customer account last: the shortest STS allows.
const SessionDuration = 15 * time.Minute

// AssumeRoleConfig returns a copy of base whose credentials come from assuming roleARN with
// externalID (none if empty), cached and refreshed as needed. sessionName shows in the target
// account's CloudTrail.
func AssumeRoleConfig(base aws.Config, client STSAPI, roleARN, externalID, sessionName string) aws.Config {
	cfg := base.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(client, roleARN, func(o *stscreds.AssumeRoleOptions) {
		if externalID != "" {
			o.ExternalID = aws.String(externalID)
		}
		o.RoleSessionName = sessionName
		o.Duration = SessionDuration
	}))
	return cfg
}

// AssumeOnce assumes roleARN once, with externalID if it is not empty, and discards the credentials:
// it is a probe of the role's trust policy.
func AssumeOnce(ctx context.Context, client STSAPI, roleARN, externalID, sessionName string) error {
	in := &sts.AssumeRoleInput{
		RoleArn:         aws.String(roleARN),
		RoleSessionName: aws.String(sessionName),
		DurationSeconds: aws.Int32(int32(SessionDuration / time.Second)),
	}
	if externalID != "" {
		in.ExternalId = aws.String(externalID)
	}
	if _, err := client.AssumeRole(ctx, in); err != nil {
		return fmt.Errorf("assuming %s: %w", roleARN, err)
	}
	return nil
}
