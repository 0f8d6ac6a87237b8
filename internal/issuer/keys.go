package issuer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/policy"
)

// DeletionWindowDays is how long KMS keeps an offboarded account's keys before deleting them:
// the shortest it allows. Until then CancelKeyDeletion can undo an offboarding by mistake.
const DeletionWindowDays = 7

// Alias is the KMS alias of the account's active key.
func (i *Issuer) Alias(account string) string { return i.vendor.AccountKeyAlias(account) }

// CreateAccountKey gives the account its signing key, publishes the account's documents (with a
// Publisher), and returns the key's record. It is idempotent: an account that already has an active
// key keeps it, and one whose documents were not published yet is published now.
func (i *Issuer) CreateAccountKey(ctx context.Context, account string) (KeyRecord, error) {
	if err := checkAccount(account); err != nil {
		return KeyRecord{}, err
	}
	keys, err := i.store.Keys(ctx, account)
	if err != nil {
		return KeyRecord{}, err
	}
	k, ok := activeKey(keys)
	if !ok {
		if k, err = i.newKey(ctx, account, keys, 0); err != nil {
			return KeyRecord{}, err
		}
		if err := i.pointAlias(ctx, account, k.KeyID); err != nil {
			return KeyRecord{}, err
		}
	}
	if i.publisher != nil && k.PublishedAt.IsZero() {
		if err := i.Publish(ctx, account); err != nil {
			return KeyRecord{}, err
		}
		k.PublishedAt = i.Now().UTC()
	}
	return k, nil
}

// DefaultPublishLead is how long a rotated-in key is published before it signs: time for the
// static JWKS to be rendered and uploaded (supportctl issuer render) and for caches (JWKSMaxAge,
// CloudFront, STS) to pick it up.
const DefaultPublishLead = 10 * time.Minute

// MaxPublishLead is the longest lead a rotation takes without the operator's explicit say-so
// (CheckPublishLead; supportctl issuer rotate -allow-long-lead). The lead has only to cover
// rendering and uploading the JWKS (minutes) and the caches' refresh (the JWKS's max-age is
// JWKSMaxAge, 60 s); an hour is six times the default and sixty times the max-age. Beyond it the lead
// mostly keeps the key being replaced signing, often the very key the rotation is meant to stop.
const MaxPublishLead = time.Hour

// CheckPublishLead checks a rotation's lead where the operator gives it: never negative (Rotate
// refuses that too), and at most MaxPublishLead unless allowLong confirms a longer one.
func CheckPublishLead(lead time.Duration, allowLong bool) error {
	switch {
	case lead < 0:
		return fmt.Errorf("publication lead %s is negative (0 switches at once)", lead)
	case lead > MaxPublishLead && !allowLong:
		return fmt.Errorf("publication lead %s is longer than %s, the most rendering and uploading the JWKS and "+
			"the caches' refresh (max-age %d s) need: the current key would go on signing until then", lead, MaxPublishLead, JWKSMaxAge)
	}
	return nil
}

// Rotate gives the account a new signing key. It is published at once and signs from lead later
// (0: at once, for a key that must stop signing now); until then the current key goes on
// signing. Every older key retires: it stops signing when the new key starts and stays published
// until RetireAfter, when all tokens it signed have expired. So no verifier ever meets a token
// whose key it has not had lead to fetch, or one whose key it has dropped.
func (i *Issuer) Rotate(ctx context.Context, account string, lead time.Duration) (KeyRecord, error) {
	if lead < 0 {
		return KeyRecord{}, fmt.Errorf("%w: publication lead %s is negative", ErrInvalidRequest, lead)
	}
	keys, err := i.accountKeys(ctx, account)
	if err != nil {
		return KeyRecord{}, err
	}
	k, err := i.newKey(ctx, account, keys, lead)
	if err != nil {
		return KeyRecord{}, err
	}
	if err := i.pointAlias(ctx, account, k.KeyID); err != nil {
		return KeyRecord{}, err
	}
	// The new key is published before any key is retired: if publishing fails, the current key
	// goes on signing (an unpublished key never signs) and Rotate can be run again.
	if err := i.Publish(ctx, account); err != nil {
		return k, err
	}
	now := i.Now().UTC()
	handover := now // when the new key starts signing, and every key signing now stops
	if k.SignsFrom.After(now) {
		handover = k.SignsFrom
	}
	for _, old := range keys {
		switch {
		case old.State == KeyActive && old.SignsFrom.After(now):
			old.SignsUntil = now // rotated out before it ever signed
		case old.State == KeyActive, old.State == KeyRetiring && old.SignsUntil.After(now):
			old.SignsUntil = handover // signing now: it hands over to the new key
		default:
			continue // stopped signing already; it leaves the JWKS as planned
		}
		old.State, old.RetireAfter = KeyRetiring, old.SignsUntil.Add(MaxTokenLifetime)
		if err := i.store.Put(ctx, old); err != nil {
			return KeyRecord{}, fmt.Errorf("retiring key %s: %w", old.KeyID, err)
		}
	}
	// Publish again: the retired keys' records changed (they stay in the JWKS until RetireAfter).
	if err := i.Publish(ctx, account); err != nil {
		return k, err
	}
	return k, nil
}

// Offboard schedules every key of the account for deletion, removes its alias and withdraws its
// published documents. From then on the account's JWKS is empty (404), Mint refuses it, and no
// token ever minted for it verifies. Running it again is harmless.
func (i *Issuer) Offboard(ctx context.Context, account string) error {
	if err := checkAccount(account); err != nil {
		return err
	}
	keys, err := i.store.Keys(ctx, account)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return fmt.Errorf("offboarding %s: %w", account, ErrUnknownAccount)
	}
	// Mark first: the store is what publishing and signing read, so the account stops being served
	// even if KMS fails below; a retry schedules what is left.
	for _, k := range keys {
		if k.State == KeyDeleted {
			continue
		}
		k.State, k.RetireAfter = KeyDeleted, time.Time{}
		if err := i.store.Put(ctx, k); err != nil {
			return fmt.Errorf("offboarding key %s: %w", k.KeyID, err)
		}
	}
	if i.publisher != nil {
		if err := i.publisher.Unpublish(ctx, i.documentPaths(account)); err != nil {
			return fmt.Errorf("withdrawing the documents of account %s: %w", account, err)
		}
	}
	if _, err := i.kms.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String(i.Alias(account))}); err != nil && !awsx.IsNotFound(err) {
		return fmt.Errorf("deleting alias %s: %w", i.Alias(account), err)
	}
	for _, k := range keys {
		_, err := i.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{
			KeyId:               aws.String(k.KeyID),
			PendingWindowInDays: aws.Int32(DeletionWindowDays),
		})
		var invalidState *types.KMSInvalidStateException // already pending deletion
		if err != nil && !awsx.IsNotFound(err) && !errors.As(err, &invalidState) {
			return fmt.Errorf("scheduling deletion of key %s: %w", k.KeyID, err)
		}
	}
	return nil
}

// Keys lists the account's key records, oldest first (none for an unknown account).
func (i *Issuer) Keys(ctx context.Context, account string) ([]KeyRecord, error) {
	if err := checkAccount(account); err != nil {
		return nil, err
	}
	return i.store.Keys(ctx, account)
}

// accountKeys returns the account's records, refusing an unknown or offboarded account.
func (i *Issuer) accountKeys(ctx context.Context, account string) ([]KeyRecord, error) {
	if err := checkAccount(account); err != nil {
		return nil, err
	}
	keys, err := i.store.Keys(ctx, account)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("account %s: %w", account, ErrUnknownAccount)
	}
	if _, ok := activeKey(keys); !ok {
		return nil, fmt.Errorf("account %s: %w", account, ErrOffboarded)
	}
	return keys, nil
}

// activeKey is the newest active key (keys are sorted oldest first).
func activeKey(keys []KeyRecord) (KeyRecord, bool) {
	for j := len(keys) - 1; j >= 0; j-- {
		if keys[j].State == KeyActive {
			return keys[j], true
		}
	}
	return KeyRecord{}, false
}

// signingKey is the newest key that may sign at now: the active key once its lead has passed,
// before that the key it replaces. With published, only a key whose documents were published
// qualifies.
func signingKey(keys []KeyRecord, now time.Time, published bool) (KeyRecord, bool) {
	for j := len(keys) - 1; j >= 0; j-- {
		if keys[j].Signs(now) && (!published || !keys[j].PublishedAt.IsZero()) {
			return keys[j], true
		}
	}
	return KeyRecord{}, false
}

// newKey creates a key in KMS and records it as active from lead on, created after every key in
// existing so that it is the newest even when the clock has not moved.
func (i *Issuer) newKey(ctx context.Context, account string, existing []KeyRecord, lead time.Duration) (KeyRecord, error) {
	out, err := i.kms.CreateKey(ctx, &kms.CreateKeyInput{
		KeyUsage:    types.KeyUsageTypeSignVerify,
		KeySpec:     types.KeySpecEccNistP256,
		Policy:      aws.String(i.keyPolicy),
		Description: aws.String(fmt.Sprintf("%s support gateway: OIDC token signing key of account %s", i.vendor.Name, account)),
		Tags: []types.Tag{
			{TagKey: aws.String(policy.IssuerKeyTagManagedBy), TagValue: aws.String(i.vendor.ManagedByTag())},
			{TagKey: aws.String(policy.IssuerKeyTagAccount), TagValue: aws.String(account)},
		},
	})
	if err != nil {
		return KeyRecord{}, fmt.Errorf("creating signing key for account %s: %w", account, err)
	}
	created := i.Now().UTC()
	if n := len(existing); n > 0 && !created.After(existing[n-1].Created) {
		created = existing[n-1].Created.Add(time.Microsecond)
	}
	k := KeyRecord{Account: account, KeyID: aws.ToString(out.KeyMetadata.KeyId), Created: created, State: KeyActive}
	if lead > 0 {
		k.SignsFrom = i.Now().UTC().Add(lead)
	}
	// A crash before this Put leaves a KMS key no record names; its Account tag finds it.
	if err := i.store.Put(ctx, k); err != nil {
		return KeyRecord{}, fmt.Errorf("recording key %s: %w", k.KeyID, err)
	}
	return k, nil
}

// pointAlias points the account's alias at keyID, creating it the first time.
func (i *Issuer) pointAlias(ctx context.Context, account, keyID string) error {
	alias := i.Alias(account)
	_, err := i.kms.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keyID)})
	if awsx.IsNotFound(err) {
		_, err = i.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keyID)})
	}
	if err != nil {
		return fmt.Errorf("pointing %s at key %s: %w", alias, keyID, err)
	}
	return nil
}
