package issuer

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/policy"
)

// On moto's KMS: one key for the vendor, stable subs across issuer instances (a restart, another
// backend process), different in every account and for every engineer, never the engineer's name.
func TestSubjectsArePairwiseOnKMS(t *testing.T) {
	iss, client, _ := newMotoIssuer(t)
	ctx := t.Context()
	keyID, err := iss.EnsureSubjectKey(ctx)
	require.NoError(t, err)
	again, err := iss.EnsureSubjectKey(ctx)
	require.NoError(t, err)
	assert.Equal(t, keyID, again, "idempotent")

	d, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(iss.SubjectAlias())})
	require.NoError(t, err)
	assert.Equal(t, keyID, aws.ToString(d.KeyMetadata.KeyId))
	assert.Equal(t, types.KeySpecHmac256, d.KeyMetadata.KeySpec)
	assert.Equal(t, types.KeyUsageTypeGenerateVerifyMac, d.KeyMetadata.KeyUsage)
	kp, err := client.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyID), PolicyName: aws.String("default")})
	require.NoError(t, err)
	stored, err := policy.Parse(aws.ToString(kp.Policy))
	require.NoError(t, err)
	assert.True(t, policy.Equivalent(vendor.SubjectKeyPolicy("aws", vendorAccount, signerRole), stored))

	other, _, _ := newMotoIssuer(t) // a second process: no shared memo
	a, b := newAccount(), newAccount()
	subs := map[string]string{}
	for _, acct := range []string{a, b} {
		for _, eng := range []string{"alice@doit.com", "bob@doit.com", "Alice@doit.com"} {
			s1, err := iss.Subject(ctx, acct, eng)
			require.NoError(t, err)
			s2, err := other.Subject(ctx, acct, eng)
			require.NoError(t, err)
			assert.Equal(t, s1, s2, "the same in every process")
			assert.True(t, vendor.ValidSubject(s1), s1)
			assert.NotContains(t, strings.ToLower(s1), "alice")
			assert.NotContains(t, strings.ToLower(s1), "doit.com")
			require.NotContains(t, subs, s1, "one sub per (account, engineer)")
			subs[s1] = acct + "/" + eng
		}
	}
	assert.Len(t, subs, 6)
}

// The derivation, checked against the fake's key material: HMAC-SHA-256 over
// "subject/v1\0<account>\0<engineer>", 16 bytes, lower-case base32. GenerateMac is called once per
// pair; later subs come from memory.
func TestSubjectDerivation(t *testing.T) {
	fake := newFakeKMS()
	iss, err := New(testConfig, fake, &MemoryStore{})
	require.NoError(t, err)
	ctx := t.Context()
	_, err = iss.Subject(ctx, "111122223333", engineer)
	require.ErrorIs(t, err, ErrNoSubjectKey, "before the key exists")
	assert.Contains(t, err.Error(), "supportctl issuer create-subject-key")

	keyID, err := iss.EnsureSubjectKey(ctx)
	require.NoError(t, err)
	m := hmac.New(sha256.New, fake.hmacKeys[keyID])
	m.Write([]byte("subject/v1\x00111122223333\x00" + engineer))
	want := "urn:doit:engineer:" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(m.Sum(nil)[:16]))

	calls := len(fake.macs)
	for range 3 {
		sub, err := iss.Subject(ctx, "111122223333", engineer)
		require.NoError(t, err)
		assert.Equal(t, want, sub)
	}
	require.Len(t, fake.macs, calls+1, "one GenerateMac, then memory")
	last := fake.macs[len(fake.macs)-1]
	assert.Equal(t, iss.SubjectAlias(), aws.ToString(last.KeyId))
	assert.Equal(t, types.MacAlgorithmSpecHmacSha256, last.MacAlgorithm)
	assert.Equal(t, "alias/doit-support-issuer/subjects", iss.SubjectAlias())

	_, err = iss.Subject(ctx, "1111", engineer)
	assert.ErrorIs(t, err, ErrUnknownAccount)
}

// lateKMS hides the alias from the first DescribeKey, as when another process creates it between
// this one's look-up and its CreateAlias.
type lateKMS struct {
	*fakeKMS
	once sync.Once
}

func (l *lateKMS) DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, o ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	hide := false
	l.once.Do(func() { hide = true })
	if hide {
		return nil, &types.NotFoundException{Message: aws.String("not yet")}
	}
	return l.fakeKMS.DescribeKey(ctx, in, o...)
}

func TestEnsureSubjectKeyLosingTheRaceKeepsTheWinner(t *testing.T) {
	fake := newFakeKMS()
	first, err := New(testConfig, fake, &MemoryStore{})
	require.NoError(t, err)
	winner, err := first.EnsureSubjectKey(t.Context())
	require.NoError(t, err)

	second, err := New(testConfig, &lateKMS{fakeKMS: fake}, &MemoryStore{})
	require.NoError(t, err)
	got, err := second.EnsureSubjectKey(t.Context())
	require.NoError(t, err)
	assert.Equal(t, winner, got)
	assert.Len(t, fake.hmacKeys, 1, "the spare key was scheduled for deletion")

	s1, err := first.Subject(t.Context(), "111122223333", engineer)
	require.NoError(t, err)
	s2, err := second.Subject(t.Context(), "111122223333", engineer)
	require.NoError(t, err)
	assert.Equal(t, s1, s2)
}
