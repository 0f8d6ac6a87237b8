package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/test/moto"
)

// memoryPublisher is a Publisher that keeps documents by path, and fails while failing is set.
type memoryPublisher struct {
	mu      sync.Mutex
	docs    map[string][]byte
	failing bool
}

func (m *memoryPublisher) Publish(_ context.Context, docs []Document) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failing {
		return errors.New("the bucket is unreachable")
	}
	if m.docs == nil {
		m.docs = map[string][]byte{}
	}
	for _, d := range docs {
		m.docs[d.Path] = d.Body
	}
	return nil
}

func (m *memoryPublisher) Unpublish(_ context.Context, paths []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failing {
		return errors.New("the bucket is unreachable")
	}
	for _, p := range paths {
		delete(m.docs, p)
	}
	return nil
}

func (m *memoryPublisher) paths() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.docs))
}

// jwks returns the published JWKS of account on host 0.
func (m *memoryPublisher) jwks(t *testing.T, account string) *jose.JSONWebKeySet {
	t.Helper()
	m.mu.Lock()
	body, ok := m.docs[vendor.IssuerHosts[0]+"/accounts/"+account+"/.well-known/jwks.json"]
	m.mu.Unlock()
	require.True(t, ok, "the JWKS of %s is published", account)
	var set jose.JSONWebKeySet
	require.NoError(t, json.Unmarshal(body, &set))
	return &set
}

func newPublishingIssuer(t *testing.T, pub Publisher, signer KMSAPI) (*Issuer, *fakeKMS, *clock) {
	t.Helper()
	fk := newFakeKMS()
	cfg := testConfig
	cfg.Publisher, cfg.Signer = pub, signer
	iss, err := New(cfg, fk, &MemoryStore{})
	require.NoError(t, err)
	c := newClock()
	iss.Now = c.Now
	if signer == nil {
		iss.signKMS = fk
	}
	_, err = iss.EnsureSubjectKey(t.Context())
	require.NoError(t, err)
	return iss, fk, c
}

var claims = Claims{Engineer: "alice@doit.com", Environment: "support", Lifetime: time.Minute}

// Issue 9 A.1: STS fetches the account's JWKS from the issuer host, so creating an account's key
// publishes its documents, and a token is minted only with a key whose JWKS is published.
func TestKeysArePublishedBeforeTheySign(t *testing.T) {
	pub := &memoryPublisher{}
	iss, _, c := newPublishingIssuer(t, pub, nil)
	ctx := t.Context()
	account := newAccount()

	k, err := iss.CreateAccountKey(ctx, account)
	require.NoError(t, err)
	assert.False(t, k.PublishedAt.IsZero())
	want := []string{}
	for _, h := range vendor.IssuerHosts {
		want = append(want, h+"/accounts/"+account+"/.well-known/jwks.json", h+"/accounts/"+account+"/.well-known/openid-configuration")
	}
	slices.Sort(want)
	assert.Equal(t, want, pub.paths(), "discovery and JWKS on both hosts")
	token, err := iss.Mint(ctx, account, claims)
	require.NoError(t, err)
	_, _, err = verify(token, pub.jwks(t, account))
	require.NoError(t, err, "the token verifies against what was published")

	// a rotation publishes the new key before any key is retired
	c.Advance(time.Second)
	next, err := iss.Rotate(ctx, account, 0)
	require.NoError(t, err)
	set := pub.jwks(t, account)
	assert.Len(t, set.Key(next.KeyID), 1, "the new key is published")
	assert.Len(t, set.Key(k.KeyID), 1, "the old key stays published until its tokens expire")

	// offboarding withdraws the documents
	require.NoError(t, iss.Offboard(ctx, account))
	assert.Empty(t, pub.paths())
}

func TestNoTokenIsMintedBeforeTheDocumentsArePublished(t *testing.T) {
	pub := &memoryPublisher{failing: true}
	iss, _, c := newPublishingIssuer(t, pub, nil)
	ctx := t.Context()
	account := newAccount()

	_, err := iss.CreateAccountKey(ctx, account)
	require.Error(t, err, "the key exists but could not be published")
	_, err = iss.Mint(ctx, account, claims)
	require.ErrorIs(t, err, ErrNotPublished)

	pub.failing = false
	k, err := iss.CreateAccountKey(ctx, account)
	require.NoError(t, err, "idempotent: the same key, published now")
	keys, err := iss.Keys(ctx, account)
	require.NoError(t, err)
	require.Len(t, keys, 1)
	assert.Equal(t, keys[0].KeyID, k.KeyID)
	_, err = iss.Mint(ctx, account, claims)
	require.NoError(t, err)

	// a rotation whose publication fails leaves the current key signing
	pub.failing = true
	c.Advance(time.Second)
	_, err = iss.Rotate(ctx, account, 0)
	require.Error(t, err)
	token, err := iss.Mint(ctx, account, claims)
	require.NoError(t, err, "the current, published key still signs")
	pub.failing = false
	_, _, err = verify(token, pub.jwks(t, account))
	require.NoError(t, err)
}

// recordingKMS passes calls to next and records the operations it saw.
type recordingKMS struct {
	KMSAPI
	mu  sync.Mutex
	ops []string
}

func (r *recordingKMS) record(op string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op)
}

func (r *recordingKMS) Sign(ctx context.Context, in *kms.SignInput, o ...func(*kms.Options)) (*kms.SignOutput, error) {
	r.record("Sign")
	return r.KMSAPI.Sign(ctx, in, o...)
}

func (r *recordingKMS) GenerateMac(ctx context.Context, in *kms.GenerateMacInput, o ...func(*kms.Options)) (*kms.GenerateMacOutput, error) {
	r.record("GenerateMac")
	return r.KMSAPI.GenerateMac(ctx, in, o...)
}

func (r *recordingKMS) CreateKey(ctx context.Context, in *kms.CreateKeyInput, o ...func(*kms.Options)) (*kms.CreateKeyOutput, error) {
	r.record("CreateKey")
	return r.KMSAPI.CreateKey(ctx, in, o...)
}

// Only the signer role may sign (the keys' policies say so, and KMS enforces it): a process that is
// not the signer, such as the hook, signs and computes subjects through Config.Signer only.
func TestSigningGoesThroughTheSignerClient(t *testing.T) {
	fk := newFakeKMS()
	admin := &recordingKMS{KMSAPI: fk}
	signer := &recordingKMS{KMSAPI: fk}
	cfg := testConfig
	cfg.Signer = signer
	iss, err := New(cfg, admin, &MemoryStore{})
	require.NoError(t, err)
	ctx := t.Context()
	_, err = iss.EnsureSubjectKey(ctx)
	require.NoError(t, err)
	account := newAccount()
	_, err = iss.CreateAccountKey(ctx, account)
	require.NoError(t, err)
	_, err = iss.Mint(ctx, account, claims)
	require.NoError(t, err)
	assert.Equal(t, []string{"CreateKey", "CreateKey"}, admin.ops, "keys are made by the issuer's own client")
	assert.ElementsMatch(t, []string{"GenerateMac", "Sign"}, signer.ops, "and used through the signer's")
}

// S3Publisher against moto's S3: the objects CloudFront serves, with their content type and cache
// lifetime; unpublishing deletes them.
func TestS3Publisher(t *testing.T) {
	cfg, err := srv.Server(t).Config(t.Context(), vendorAccount)
	require.NoError(t, err)
	client := s3.NewFromConfig(cfg, moto.PathStyle)
	ctx := t.Context()
	bucket := "issuer-" + newAccount()
	_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)

	iss, _, _ := newMotoIssuer(t)
	iss.publisher = &S3Publisher{S3: client, Bucket: bucket}
	account := newAccount()
	_, err = iss.CreateAccountKey(ctx, account)
	require.NoError(t, err)

	key := vendor.IssuerHosts[1] + "/accounts/" + account + "/.well-known/jwks.json"
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	require.NoError(t, err)
	body, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	_ = out.Body.Close()
	assert.Equal(t, "application/json", aws.ToString(out.ContentType))
	assert.Equal(t, "public, max-age=60", aws.ToString(out.CacheControl))
	var set jose.JSONWebKeySet
	require.NoError(t, json.Unmarshal(body, &set))
	assert.Len(t, set.Keys, 1)

	require.NoError(t, iss.Offboard(ctx, account))
	_, err = client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	assert.Error(t, err, "withdrawn")
}
