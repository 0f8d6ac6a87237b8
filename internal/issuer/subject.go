package issuer

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/policy"
)

// A token's sub is a pairwise engineer identifier: HMAC-SHA-256, in one KMS HMAC key of the
// vendor account, over the account and the engineer, cut to 128 bits and written in lower-case
// base32 after the vendor's prefix ("urn:doit:engineer:" and 26 characters). The same engineer
// has the same sub in one account every time, so the customer can follow one engineer through
// CloudTrail, but a different sub in every other account, so customers cannot link what they see;
// and the sub says nothing about who the engineer is: only the vendor, with the key (which never
// leaves KMS and verifies nothing, see policy.SubjectKeyPolicy) and the audit log, can map it back.

// subjectInfo separates versions of the derivation; a new one would give every engineer new subs.
const subjectInfo = "subject/v1"

// maxEngineerLen bounds the engineer identifier hashed into a sub (the broker's principals are
// far shorter).
const maxEngineerLen = 512

// subjectCacheSize bounds the memo of computed subs; it is cleared when full.
const subjectCacheSize = 4096

// SubjectAlias is the KMS alias of the issuer's pairwise-subject HMAC key, one per vendor.
func (i *Issuer) SubjectAlias() string { return i.vendor.SubjectKeyAlias() }

// EnsureSubjectKey creates the pairwise-subject HMAC key and its alias unless the alias exists,
// and returns the key's ID. It is idempotent, and safe to race: the loser of the alias schedules
// its own key for deletion and returns the winner's.
func (i *Issuer) EnsureSubjectKey(ctx context.Context) (string, error) {
	alias := i.SubjectAlias()
	if id, found, err := i.describeSubjectKey(ctx); err != nil || found {
		return id, err
	}
	out, err := i.kms.CreateKey(ctx, &kms.CreateKeyInput{
		KeyUsage:    types.KeyUsageTypeGenerateVerifyMac,
		KeySpec:     types.KeySpecHmac256,
		Policy:      aws.String(i.subjectKeyPolicy),
		Description: aws.String(i.vendor.Name + " support gateway: pairwise engineer identifiers (the sub of every token)"),
		Tags:        []types.Tag{{TagKey: aws.String(policy.IssuerKeyTagManagedBy), TagValue: aws.String(i.vendor.ManagedByTag())}},
	})
	if err != nil {
		return "", fmt.Errorf("creating the pairwise-subject key: %w", err)
	}
	id := aws.ToString(out.KeyMetadata.KeyId)
	_, err = i.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(id)})
	var exists *types.AlreadyExistsException
	if errors.As(err, &exists) {
		// another process won: keep one key, so every sub is computed with the same one
		if _, derr := i.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{
			KeyId: aws.String(id), PendingWindowInDays: aws.Int32(DeletionWindowDays)}); derr != nil {
			return "", fmt.Errorf("%s exists already; scheduling deletion of the spare key %s: %w", alias, id, derr)
		}
		winner, _, err := i.describeSubjectKey(ctx)
		return winner, err
	}
	if err != nil {
		return "", fmt.Errorf("naming key %s %s: %w", id, alias, err)
	}
	return id, nil
}

func (i *Issuer) describeSubjectKey(ctx context.Context) (string, bool, error) {
	out, err := i.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(i.SubjectAlias())})
	if awsx.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("looking up %s: %w", i.SubjectAlias(), err)
	}
	return aws.ToString(out.KeyMetadata.KeyId), true, nil
}

// Subject is the sub of every token minted for engineer in account.
func (i *Issuer) Subject(ctx context.Context, account, engineer string) (string, error) {
	if err := checkAccount(account); err != nil {
		return "", err
	}
	if engineer == "" || len(engineer) > maxEngineerLen || !utf8.ValidString(engineer) || strings.ContainsRune(engineer, 0) {
		return "", fmt.Errorf("%w: the engineer must be 1 to %d bytes of UTF-8 without NUL", ErrInvalidRequest, maxEngineerLen)
	}
	// account is 12 digits and engineer has no NUL, so the message names one (account, engineer)
	msg := subjectInfo + "\x00" + account + "\x00" + engineer
	i.mu.Lock()
	sub, ok := i.subjects[msg]
	i.mu.Unlock()
	if ok {
		return sub, nil
	}
	out, err := i.signKMS.GenerateMac(ctx, &kms.GenerateMacInput{
		KeyId:        aws.String(i.SubjectAlias()),
		MacAlgorithm: types.MacAlgorithmSpecHmacSha256,
		Message:      []byte(msg),
	})
	if awsx.IsNotFound(err) {
		return "", fmt.Errorf("%w: %s does not exist: create it once with `supportctl issuer create-subject-key`", ErrNoSubjectKey, i.SubjectAlias())
	}
	if err != nil {
		return "", fmt.Errorf("computing the sub for account %s: %w", account, err)
	}
	if len(out.Mac) < 16 {
		return "", fmt.Errorf("computing the sub for account %s: KMS returned a %d-byte MAC", account, len(out.Mac))
	}
	sub = i.vendor.SubjectPrefix() + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(out.Mac[:16]))
	if !i.vendor.ValidSubject(sub) { // the trust policies would refuse it
		return "", fmt.Errorf("computing the sub for account %s: %q is not of the form %s", account, sub, i.vendor.SubjectPattern())
	}
	i.mu.Lock()
	if len(i.subjects) >= subjectCacheSize {
		clear(i.subjects)
	}
	i.subjects[msg] = sub
	i.mu.Unlock()
	return sub, nil
}
