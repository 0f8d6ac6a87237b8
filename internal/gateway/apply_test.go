package gateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/awsx"
)

// attachIAM answers AttachRolePolicy with NoSuchEntity while attachFails > 0, and GetRole with
// NoSuchEntity while roleHidden > 0 (a role IAM has not propagated yet), counting both calls.
type attachIAM struct {
	IAMAPI                  // any other call panics: the step makes none
	attachFails, roleHidden int
	attaches, getRoles      int
}

var noSuchEntity = &smithy.GenericAPIError{Code: "NoSuchEntity", Message: "not found"}

func (f *attachIAM) AttachRolePolicy(context.Context, *iam.AttachRolePolicyInput, ...func(*iam.Options)) (*iam.AttachRolePolicyOutput, error) {
	f.attaches++
	if f.attachFails > 0 {
		f.attachFails--
		return nil, noSuchEntity
	}
	return &iam.AttachRolePolicyOutput{}, nil
}

func (f *attachIAM) GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	f.getRoles++
	if f.roleHidden > 0 {
		f.roleHidden--
		return nil, noSuchEntity
	}
	return &iam.GetRoleOutput{}, nil
}

// NoSuchEntity on attaching a policy is IAM propagating a new role (retried within the budget) or,
// for an AWS managed policy once the role is seen, a policy that is not there at all: a stand-in for
// AWS without managed policies. That one fails at once, naming the policy and the likely cause.
func TestAttachNoSuchEntity(t *testing.T) {
	d := DesiredState(vendor, acct, opts)
	managed := acct.AWSManagedPolicyARN("SecurityAudit")
	for name, tc := range map[string]struct {
		iam         attachIAM
		policy      string
		wantMissing bool
		wantErr     bool
		attaches    int
	}{
		"the role propagates, then the attachment succeeds": {
			iam: attachIAM{attachFails: 3, roleHidden: 3}, policy: managed, attaches: 4},
		"the role is there, the managed policy is not": {
			iam: attachIAM{attachFails: 1000}, policy: managed, wantMissing: true, wantErr: true, attaches: 2},
		"a role seen late still gets its retries": {
			iam: attachIAM{attachFails: 4, roleHidden: 3}, policy: managed, attaches: 5},
		"the vendor's own policy is retried for the whole budget": {
			iam: attachIAM{attachFails: 1000}, policy: vendor.SupportPolicyARN(acct), wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			a := &applier{iam: &tc.iam, d: d, budget: 300 * time.Millisecond, backoff: awsx.Backoff{First: time.Millisecond, Max: 5 * time.Millisecond}}
			_, err := a.step(t.Context(), Step{Op: AttachPolicy, Target: d.Role.ARN, Arg: tc.policy})
			if !tc.wantErr {
				require.NoError(t, err)
				assert.Equal(t, tc.attaches, tc.iam.attaches)
				return
			}
			require.Error(t, err)
			var missing *MissingManagedPolicyError
			assert.Equal(t, tc.wantMissing, errors.As(err, &missing), "%v", err)
			if tc.wantMissing {
				assert.Equal(t, managed, missing.PolicyARN)
				assert.Equal(t, tc.attaches, tc.iam.attaches, "fails fast: once the role is seen, one more attempt")
				assert.ErrorContains(t, err, "the AWS managed policy arn:aws:iam::aws:policy/SecurityAudit does not exist")
				assert.ErrorContains(t, err, "moto needs MOTO_IAM_LOAD_MANAGED_POLICIES=true")
				assert.True(t, awsx.IsNotFound(err), "IAM's own error stays in the chain")
			} else {
				assert.Zero(t, tc.iam.getRoles, "only an AWS managed policy's NoSuchEntity is looked into")
				assert.Greater(t, tc.iam.attaches, 10, "retried until the budget ran out")
			}
		})
	}
}

func TestIsAWSManaged(t *testing.T) {
	for arn, want := range map[string]bool{
		"arn:aws:iam::aws:policy/SecurityAudit":                        true,
		"arn:aws-us-gov:iam::aws:policy/AWSSupportAccess":              true,
		"arn:aws:iam::aws:policy/job-function/ViewOnlyAccess":          true,
		"arn:aws:iam::111122223333:policy/doit-support/DoiT-Support-P": false,
		"arn:aws:iam::aws:role/x":                                      false,
		"SecurityAudit":                                                false,
	} {
		assert.Equal(t, want, isAWSManaged(arn), arn)
	}
}
