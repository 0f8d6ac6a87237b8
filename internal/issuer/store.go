package issuer

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// KeyState is where a signing key is in its life.
type KeyState string

const (
	// KeyActive keys sign new tokens from SignsFrom. An account has one; if a crash leaves two,
	// the newest that may sign does.
	KeyActive KeyState = "active"
	// KeyRetiring keys sign until SignsUntil (when their successor starts) and stay published
	// until RetireAfter.
	KeyRetiring KeyState = "retiring"
	// KeyDeleted keys are scheduled for deletion in KMS (offboarding).
	KeyDeleted KeyState = "pending-deletion"
)

// KeyRecord is one signing key of one account.
type KeyRecord struct {
	Account string    `dynamodbav:"account"`
	KeyID   string    `dynamodbav:"keyId"`
	Created time.Time `dynamodbav:"created"`
	State   KeyState  `dynamodbav:"state"`
	// SignsFrom is when an active key starts signing: after its creation by the publication lead
	// Rotate was given, so verifiers have fetched it before any token names it. Zero: at once.
	SignsFrom time.Time `dynamodbav:"signsFrom,omitempty"`
	// SignsUntil is when a retiring key stops signing: its successor's SignsFrom.
	SignsUntil time.Time `dynamodbav:"signsUntil,omitempty"`
	// RetireAfter is when a retiring key leaves the JWKS: SignsUntil plus MaxTokenLifetime, so
	// every token it signed has expired by then. Zero while the key is active.
	RetireAfter time.Time `dynamodbav:"retireAfter,omitempty"`
	// PublishedAt is when a JWKS listing the key was first published (Issuer.Publish); zero: not
	// yet, or the issuer has no Publisher.
	PublishedAt time.Time `dynamodbav:"publishedAt,omitempty"`
}

// Signs reports whether the key may sign at now.
func (k KeyRecord) Signs(now time.Time) bool {
	switch k.State {
	case KeyActive:
		return !now.Before(k.SignsFrom)
	case KeyRetiring:
		return now.Before(k.SignsUntil)
	}
	return false
}

// Published reports whether verifiers must find the key in the JWKS at now: an active key from
// its creation (ahead of its signing), a retiring one until its last token expired.
func (k KeyRecord) Published(now time.Time) bool {
	switch k.State {
	case KeyActive:
		return true
	case KeyRetiring:
		return now.Before(k.RetireAfter)
	}
	return false
}

// KeyStore keeps each account's list of signing keys. Put creates or replaces one record.
type KeyStore interface {
	Keys(ctx context.Context, account string) ([]KeyRecord, error)
	Put(ctx context.Context, k KeyRecord) error
}

// sortKeys orders records oldest first (ties by key ID), the order every reader relies on.
func sortKeys(keys []KeyRecord) {
	slices.SortFunc(keys, func(a, b KeyRecord) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.KeyID, b.KeyID)
	})
}

// MemoryStore is a KeyStore in memory, for tests and single-process tools.
type MemoryStore struct {
	mu   sync.Mutex
	keys map[string]map[string]KeyRecord // account → key ID → record
}

var _ KeyStore = (*MemoryStore)(nil)

// Keys returns the account's records, oldest first.
func (m *MemoryStore) Keys(_ context.Context, account string) ([]KeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []KeyRecord
	for _, k := range m.keys[account] {
		out = append(out, k)
	}
	sortKeys(out)
	return out, nil
}

// Put stores k, replacing the record of the same account and key ID.
func (m *MemoryStore) Put(_ context.Context, k KeyRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		m.keys = map[string]map[string]KeyRecord{}
	}
	if m.keys[k.Account] == nil {
		m.keys[k.Account] = map[string]KeyRecord{}
	}
	m.keys[k.Account][k.KeyID] = k
	return nil
}
