package e2e

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/test/awscheck"
)

// recordingSTS passes AssumeRoleWithWebIdentity to moto and keeps the tokens it was given, so the
// test can check what STS would verify (moto itself ignores web-identity tokens).
type recordingSTS struct {
	next   broker.STSAPI
	mu     sync.Mutex
	tokens []string
}

func (r *recordingSTS) AssumeRoleWithWebIdentity(ctx context.Context, in *sts.AssumeRoleWithWebIdentityInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	r.mu.Lock()
	r.tokens = append(r.tokens, aws.ToString(in.WebIdentityToken))
	r.mu.Unlock()
	return r.next.AssumeRoleWithWebIdentity(ctx, in, optFns...)
}

// brokerClock is a settable clock, so a request can expire without waiting.
type brokerClock struct{ ns atomic.Int64 }

func (c *brokerClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *brokerClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// TestBrokerEndToEnd: a customer account onboarded through the real hook binary; an issuer with a
// KMS key for it (moto KMS); request → approve → credentials → GetCallerIdentity shows the support
// role's session with the engineer's session name; the token STS received is the account's, signed
// by its key in the JWKS; a dismissed and an expired request give nothing; the audit shows it all.
func TestBrokerEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, buildHook(t))
	ctx := context.Background()
	const (
		otherAccount = "444455556666"
		engineer     = "alice@doit.com"
		approver     = "tenant:tenant-1/bob" // env.onboard links the account to tenant-1
		signerRole   = "arn:aws:iam::" + vendorAccount + ":role/DoiT-Support-Issuer"
	)

	// onboarding: link, management-role stack, Create through the hook → REGISTERED
	ext := e.onboard(t, customerAccount)
	props := e.deployManagementRole(t, customerAccount, ext)
	create := e.newRequest(t, "Create", stackARN(customerAccount, "doit-management-role"), "req-broker-create", props)
	e.invoke(t, viaSNS(t, create))
	res, ok := e.answer(t, create.RequestID)
	require.True(t, ok, "the hook answered")
	require.Equal(t, "SUCCESS", res.Status, res.Reason)
	o, found, err := e.reg.Get(ctx, customerAccount, registry.Management)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, registry.Registered, o.Status)

	// the issuer, with a key for the account (and one for another account)
	vendorCfg, err := e.moto.Config(ctx, vendorAccount)
	require.NoError(t, err)
	db := dynamodb.NewFromConfig(vendorCfg)
	iss, err := issuer.New(issuer.Config{Vendor: policy.DefaultVendor(), Partition: "aws", VendorAccount: vendorAccount,
		SignerRoleARN: signerRole}, kms.NewFromConfig(vendorCfg), &issuer.DynamoStore{DB: db, Table: table})
	require.NoError(t, err)
	for _, a := range []string{customerAccount, otherAccount} {
		_, err = iss.CreateAccountKey(ctx, a)
		require.NoError(t, err)
	}
	_, err = iss.EnsureSubjectKey(ctx)
	require.NoError(t, err)
	issuerSrv := httptest.NewServer(iss.Handler())
	t.Cleanup(issuerSrv.Close)

	// the broker
	require.NoError(t, broker.CreateTable(ctx, db, "broker"))
	stsRec := &recordingSTS{next: sts.NewFromConfig(vendorCfg)}
	b, err := broker.New(broker.Config{}, e.reg, iss, stsRec, db, "broker")
	require.NoError(t, err)
	clock := &brokerClock{}
	clock.ns.Store(time.Now().UnixNano())
	b.SetClock(clock.Now)

	// request → approve → credentials
	r, err := b.Request(ctx, engineer, customerAccount, "SUP-4242", "the customer's EKS upgrade fails", time.Hour)
	require.NoError(t, err)
	_, err = b.Approve(ctx, engineer, r.ID)
	require.ErrorIs(t, err, broker.ErrForbidden, "never one's own request")
	_, err = b.Approve(ctx, approver, r.ID)
	require.NoError(t, err)
	_, err = b.Credentials(ctx, "mallory@doit.com", r.ID)
	require.ErrorIs(t, err, broker.ErrNotFound, "someone else's request is as good as none")
	creds, err := b.Credentials(ctx, engineer, r.ID)
	require.NoError(t, err)
	assert.Equal(t, "alice@doit.com-SUP-4242", creds.SessionName)
	assert.Equal(t, "arn:aws:iam::"+customerAccount+":role/doit-support/DoiT-Support", creds.RoleARN)
	assert.WithinDuration(t, time.Now().Add(time.Hour), creds.Expiration, 2*time.Minute)

	// the credentials are the support role's session in the customer account
	who, err := sts.NewFromConfig(aws.Config{Region: vendorCfg.Region, BaseEndpoint: vendorCfg.BaseEndpoint,
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)}).
		GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	assert.Equal(t, customerAccount, aws.ToString(who.Account))
	assert.Equal(t, "arn:aws:sts::"+customerAccount+":assumed-role/DoiT-Support/alice@doit.com-SUP-4242", aws.ToString(who.Arn))

	// the token STS received: the account's issuer and audience, the engineer's pairwise sub, signed by the
	// account's key as published in its JWKS, and by no key of another account
	require.Len(t, stsRec.tokens, 1)
	token := stsRec.tokens[0]
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	require.NoError(t, err)
	var claims struct {
		Iss, Sub, Aud, Jti string
		Exp, Iat, Nbf      int64
	}
	require.NoError(t, json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims))
	target := policy.Target{AccountID: customerAccount}
	vendor := policy.DefaultVendor()
	assert.Equal(t, vendor.IssuerURL(target, 0), claims.Iss)
	assert.Equal(t, vendor.Audience(target), claims.Aud)
	assert.True(t, vendor.ValidSubject(claims.Sub), "a sub the trust policy admits: %s", claims.Sub)
	assert.NotContains(t, claims.Sub, "alice")
	wantSub, err := iss.Subject(ctx, customerAccount, engineer)
	require.NoError(t, err)
	assert.Equal(t, wantSub, claims.Sub)
	otherSub, err := iss.Subject(ctx, otherAccount, engineer)
	require.NoError(t, err)
	assert.NotEqual(t, claims.Sub, otherSub, "pairwise: the same engineer is someone else in another account")
	assert.LessOrEqual(t, claims.Exp-claims.Iat, int64(issuer.MaxTokenLifetime/time.Second))
	assert.Equal(t, claims.Iat-int64(issuer.NotBeforeSkew/time.Second), claims.Nbf, "nbf back-dated for verifiers whose clocks run behind")
	own := fetchJWKS(t, issuerSrv, vendor.IssuerHosts[0], customerAccount)
	others := fetchJWKS(t, issuerSrv, vendor.IssuerHosts[0], otherAccount)
	kid := jws.Signatures[0].Header.KeyID
	require.Len(t, own.Key(kid), 1, "the token's key is in the account's JWKS")
	assert.Empty(t, others.Key(kid), "and not in another account's")
	assert.True(t, motoSignatureValid(t, token, own.Key(kid)[0]), "signed by the account's key")
	for _, k := range others.Keys {
		assert.False(t, motoSignatureValid(t, token, k), "another account's key does not verify it")
	}

	// a dismissed request gives nothing
	dismissed, err := b.Request(ctx, engineer, customerAccount, "SUP-5000", "look at billing alarms", 30*time.Minute)
	require.NoError(t, err)
	_, err = b.Dismiss(ctx, approver, dismissed.ID, "not covered by the contract")
	require.NoError(t, err)
	_, err = b.Approve(ctx, approver, dismissed.ID)
	require.ErrorIs(t, err, broker.ErrConflict)
	_, err = b.Credentials(ctx, engineer, dismissed.ID)
	require.ErrorIs(t, err, broker.ErrConflict)

	// an expired request gives nothing
	expired, err := b.Request(ctx, engineer, customerAccount, "SUP-6000", "check quotas", 30*time.Minute)
	require.NoError(t, err)
	clock.Advance(3*time.Hour + time.Second)
	_, err = b.Approve(ctx, approver, expired.ID)
	require.ErrorIs(t, err, broker.ErrConflict)
	assert.ErrorContains(t, err, "expired")
	_, err = b.Credentials(ctx, engineer, expired.ID)
	require.ErrorIs(t, err, broker.ErrConflict)
	assert.Len(t, stsRec.tokens, 1, "one session in all")

	// the audit lists it all
	events, err := b.Audit().List(ctx, broker.Filter{Account: customerAccount})
	require.NoError(t, err)
	var got []string
	for _, ev := range events {
		line := string(ev.Type) + " " + ev.RequestID
		if ev.Type == broker.EventRefused {
			line += " " + ev.Action + " by " + ev.Actor
		}
		got = append(got, line)
	}
	assert.Equal(t, []string{
		"REQUESTED " + r.ID,
		"REFUSED " + r.ID + " approve by " + engineer,
		"APPROVED " + r.ID,
		"REFUSED " + r.ID + " credentials by mallory@doit.com",
		"TOKEN_MINTED " + r.ID,
		"SESSION_ISSUED " + r.ID,
		"REQUESTED " + dismissed.ID,
		"DISMISSED " + dismissed.ID,
		"REFUSED " + dismissed.ID + " approve by " + approver,
		"REFUSED " + dismissed.ID + " credentials by " + engineer,
		"REQUESTED " + expired.ID,
		"REFUSED " + expired.ID + " approve by " + approver,
		"REFUSED " + expired.ID + " credentials by " + engineer,
	}, got)
	minted, session := events[4], events[5]
	assert.Equal(t, claims.Jti, minted.TokenID)
	assert.Equal(t, claims.Exp, minted.TokenExpiry.Unix())
	assert.Equal(t, claims.Sub, minted.Subject, "the audit maps the sub back to the engineer")
	assert.Equal(t, claims.Sub, session.Subject)
	assert.Equal(t, creds.AccessKeyID[len(creds.AccessKeyID)-4:], session.AccessKeyLast)
	assert.Equal(t, creds.SessionName, session.SessionName)
	var export strings.Builder
	require.NoError(t, b.Audit().Export(ctx, &export, broker.Filter{Engineer: engineer}))
	assert.Equal(t, 12, strings.Count(export.String(), "\n"), "the engineer's events, one a line")
	for _, secret := range []string{token, creds.SecretAccessKey, creds.SessionToken, creds.AccessKeyID} {
		assert.NotContains(t, export.String(), secret)
	}
}

// fetchJWKS fetches an account's JWKS from the issuer's HTTP server, as IAM would.
func fetchJWKS(t *testing.T, srv *httptest.Server, host, account string) *jose.JSONWebKeySet {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/accounts/"+account+"/.well-known/jwks.json", nil)
	require.NoError(t, err)
	req.Host = host
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var set jose.JSONWebKeySet
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
	return &set
}

// motoSignatureValid verifies token with go-jose and key, allowing for moto: its KMS Sign ignores
// MessageType DIGEST and signs the SHA-256 of the digest it is given (internal/issuer:
// TestMotoSignIgnoresDigest), so the hash signed here is SHA-256(SHA-256(signing input))
// (awscheck.MotoES256). With real KMS the token is plain ES256, which internal/issuer's tests verify
// with go-jose on a fake KMS that implements DIGEST.
func motoSignatureValid(t *testing.T, token string, key jose.JSONWebKey) bool {
	t.Helper()
	pub, ok := key.Key.(*ecdsa.PublicKey)
	require.True(t, ok, "an EC key")
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	require.NoError(t, err)
	_, err = jws.Verify(awscheck.MotoES256(pub))
	return err == nil
}
