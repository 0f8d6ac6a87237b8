package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/supportaccess/gateway/internal/awsx"
)

// applier runs a plan's steps against IAM.
type applier struct {
	iam        IAMAPI
	d          Desired
	budget     time.Duration // for IAM propagation (AccessDenied, NoSuchEntity right after a create)
	backoff    awsx.Backoff
	sequential bool
}

// apply runs the plan wave by wave, the steps of a wave concurrently. It reports whether a step met
// a state its plan did not expect (an entity created or deleted meanwhile), so the caller observes
// again. Throttling, 5xx and timeouts are the SDK retryer's (awsx.PatientRetryer in the hook); AccessDenied and
// NoSuchEntity right after a create are IAM propagating, retried within the budget.
func (a *applier) apply(ctx context.Context, steps []Step) (recheck bool, err error) {
	for wave := 0; wave < Waves(steps); wave++ {
		var (
			wg   = group{sequential: a.sequential}
			mu   sync.Mutex
			errs []error
		)
		for _, s := range steps {
			if s.Wave != wave {
				continue
			}
			wg.Go(func() {
				changed, err := a.step(ctx, s)
				mu.Lock()
				defer mu.Unlock()
				recheck = recheck || changed
				if err != nil {
					errs = append(errs, fmt.Errorf("%s %s: %w", s.Op, s.Target, err))
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return recheck, err
		}
	}
	return recheck, nil
}

// step makes one change. It returns true when IAM said the state was not what the plan assumed.
func (a *applier) step(ctx context.Context, s Step) (bool, error) {
	var raced, roleSeen bool
	err := awsx.Retry(ctx, a.budget, a.backoff, propagating, func(ctx context.Context) error {
		err := a.call(ctx, s)
		switch {
		case err == nil:
			return nil
		case isDelete(s.Op) && awsx.IsNotFound(err):
			raced = true // already gone
			return nil
		case isCreate(s.Op) && isAlreadyExists(err):
			raced = true // created meanwhile: the next observation decides
			return nil
		case s.Op == AttachPolicy && awsx.IsNotFound(err) && isAWSManaged(s.Arg):
			// NoSuchEntity names the role (created moments ago, not propagated yet: retried) or the
			// policy. Every AWS account has every AWS managed policy, so once the role is seen and the
			// attachment still fails, the policy is what is missing, and no retry will bring it.
			if roleSeen {
				return &MissingManagedPolicyError{PolicyARN: s.Arg, Err: err}
			}
			roleSeen = a.roleExists(ctx)
		}
		return err
	})
	return raced, err
}

// MissingManagedPolicyError is an AWS managed policy the role is to have attached that IAM says does
// not exist, though the role does. AWS itself has every managed policy in every account; a stand-in
// for AWS may have none: moto loads them only when started with MOTO_IAM_LOAD_MANAGED_POLICIES=true.
// It is terminal: retrying cannot create the policy.
type MissingManagedPolicyError struct {
	PolicyARN string
	Err       error // IAM's NoSuchEntity
}

func (e *MissingManagedPolicyError) Error() string {
	return fmt.Sprintf("the AWS managed policy %s does not exist (NoSuchEntity), though the role does: every AWS account has it, "+
		"so this is likely a stand-in for AWS without managed policies (moto needs MOTO_IAM_LOAD_MANAGED_POLICIES=true): %v", e.PolicyARN, e.Err)
}

func (e *MissingManagedPolicyError) Unwrap() error { return e.Err }

// roleExists reports whether IAM shows the role now (GetRole, which the management policy grants).
func (a *applier) roleExists(ctx context.Context) bool {
	_, err := a.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(a.d.Role.Name)})
	return err == nil
}

// isAWSManaged reports whether policyARN is an AWS managed policy's (arn:<partition>:iam::aws:policy/…).
func isAWSManaged(policyARN string) bool {
	a, err := arn.Parse(policyARN)
	return err == nil && a.Service == "iam" && a.AccountID == "aws" && strings.HasPrefix(a.Resource, "policy/")
}

// propagating errors are IAM not having caught up with a change it accepted moments ago; a missing
// AWS managed policy is not one, though IAM answers NoSuchEntity for it too.
func propagating(err error) bool {
	var missing *MissingManagedPolicyError
	if errors.As(err, &missing) {
		return false
	}
	return awsx.IsAccessDenied(err) || awsx.IsNotFound(err)
}

func isDelete(op Op) bool {
	return strings.HasPrefix(string(op), "Delete") || op == DetachPolicy
}

func isCreate(op Op) bool { return op == CreateProvider || op == CreatePolicy || op == CreateRole }

func isAlreadyExists(err error) bool { return awsx.ErrorCode(err) == "EntityAlreadyExists" }

func (a *applier) provider(arn string) Provider {
	for _, p := range a.d.Providers {
		if p.ARN == arn {
			return p
		}
	}
	return Provider{ARN: arn}
}

// call is the IAM call of one step.
func (a *applier) call(ctx context.Context, s Step) error {
	d, c := a.d, a.iam
	role := aws.String(d.Role.Name)
	var err error
	switch s.Op {
	case CreateProvider:
		p := a.provider(s.Target)
		_, err = c.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
			Url: aws.String(p.URL), ClientIDList: p.ClientIDs, ThumbprintList: p.Thumbprints, Tags: iamTags(d.Tags)})
	case RecreateProvider:
		_, err = c.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(s.Target)})
		if err == nil || awsx.IsNotFound(err) {
			err = a.call(ctx, Step{Op: CreateProvider, Target: s.Target})
		}
	case UpdateThumbprints:
		_, err = c.UpdateOpenIDConnectProviderThumbprint(ctx, &iam.UpdateOpenIDConnectProviderThumbprintInput{
			OpenIDConnectProviderArn: aws.String(s.Target), ThumbprintList: a.provider(s.Target).Thumbprints})
	case TagProvider:
		_, err = c.TagOpenIDConnectProvider(ctx, &iam.TagOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(s.Target), Tags: iamTags(d.Tags)})
	case DeleteProvider:
		_, err = c.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(s.Target)})
	case CreatePolicy:
		_, err = c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(d.Policy.Name), Path: aws.String(d.Policy.Path),
			PolicyDocument: aws.String(d.Policy.Document.JSON()), Tags: iamTags(d.Tags),
			Description: aws.String("Written by " + d.ManagedBy + "; capped by your permissions boundary.")})
	case CreatePolicyVersion:
		if s.Arg != "" {
			_, err = c.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(s.Target), VersionId: aws.String(s.Arg)})
			if awsx.IsNotFound(err) {
				err = nil
			}
		}
		if err == nil {
			_, err = c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(s.Target),
				PolicyDocument: aws.String(d.Policy.Document.JSON()), SetAsDefault: true})
		}
	case SetDefaultVersion:
		_, err = c.SetDefaultPolicyVersion(ctx, &iam.SetDefaultPolicyVersionInput{PolicyArn: aws.String(s.Target), VersionId: aws.String(s.Arg)})
	case TagPolicy:
		_, err = c.TagPolicy(ctx, &iam.TagPolicyInput{PolicyArn: aws.String(s.Target), Tags: iamTags(d.Tags)})
	case DeletePolicyVersion:
		_, err = c.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(s.Target), VersionId: aws.String(s.Arg)})
	case DeletePolicy:
		_, err = c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(s.Target)})
	case CreateRole:
		_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: role, Path: aws.String(d.Role.Path),
			AssumeRolePolicyDocument: aws.String(d.Role.Trust.JSON()), PermissionsBoundary: aws.String(d.Role.Boundary),
			MaxSessionDuration: aws.Int32(d.Role.MaxSessionDuration), Description: aws.String(d.Role.Description), Tags: iamTags(d.Tags)})
	case UpdateTrust:
		_, err = c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: role, PolicyDocument: aws.String(d.Role.Trust.JSON())})
	case UpdateRole:
		_, err = c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: role, Description: aws.String(d.Role.Description),
			MaxSessionDuration: aws.Int32(d.Role.MaxSessionDuration)})
	case PutBoundary:
		_, err = c.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: role, PermissionsBoundary: aws.String(s.Arg)})
	case TagRole:
		_, err = c.TagRole(ctx, &iam.TagRoleInput{RoleName: role, Tags: iamTags(d.Tags)})
	case AttachPolicy:
		_, err = c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: role, PolicyArn: aws.String(s.Arg)})
	case DetachPolicy:
		_, err = c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: role, PolicyArn: aws.String(s.Arg)})
	case DeleteInlinePolicy:
		_, err = c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: role, PolicyName: aws.String(s.Arg)})
	case DeleteRole:
		_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: role})
	default:
		err = fmt.Errorf("unknown step %s", s.Op)
	}
	return err
}
