package awsx

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	dynamodbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aws/smithy-go"
)

// ErrorCode is the AWS error code of err, or "" if err is not an AWS API error.
func ErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// IsAccessDenied reports an authorization refusal. Right after IAM changes it can also mean "not
// propagated yet", which is why callers retry it within a budget.
func IsAccessDenied(err error) bool {
	switch ErrorCode(err) {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
		return true
	}
	return false
}

// IsNotFound reports that the entity does not exist (IAM's NoSuchEntity and its kin).
func IsNotFound(err error) bool {
	switch ErrorCode(err) {
	case "NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException", "NotFoundException":
		return true
	}
	return false
}

// IsConditionFailed reports a DynamoDB conditional write that did not apply.
func IsConditionFailed(err error) bool {
	return ErrorCode(err) == "ConditionalCheckFailedException"
}

// IsStale reports a DynamoDB write that did not apply because what it was conditioned on changed: a
// conditional write whose condition failed, or a transaction cancelled because one of its conditions
// failed or another transaction wrote one of its items at the same time. Nothing was written; the
// caller reads again and decides again.
func IsStale(err error) bool {
	var cancelled *dynamodbtypes.TransactionCanceledException
	if !errors.As(err, &cancelled) {
		return IsConditionFailed(err)
	}
	for _, reason := range cancelled.CancellationReasons {
		switch aws.ToString(reason.Code) {
		case "ConditionalCheckFailed", "TransactionConflict":
			return true
		}
	}
	return false
}
