package issuer

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/test/moto"
)

// Tests that involve KMS run against a moto server (one per test binary); the DIGEST signing path,
// which moto does not implement, runs against fakeKMS as well.
var srv moto.Shared

func TestMain(m *testing.M) { os.Exit(srv.Run(m)) }

const (
	vendorAccount = moto.DefaultAccountID // the keys live in the vendor's account
	signerRole    = "arn:aws:iam::" + vendorAccount + ":role/DoiT-Support-Issuer"
)

var vendor = policy.DefaultVendor()

var testConfig = Config{Vendor: vendor, Partition: "aws", VendorAccount: vendorAccount, SignerRoleARN: signerRole}

// accounts hands out customer account IDs no other test uses: moto's state is shared.
var accounts atomic.Int64

func newAccount() string { return fmt.Sprintf("4000%08d", accounts.Add(1)) }

// clock is a settable clock, safe to read from handler goroutines.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().Truncate(time.Second).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// motoKMS is a KMS client for moto's vendor account.
func motoKMS(t *testing.T) *kms.Client {
	t.Helper()
	cfg, err := srv.Server(t).Config(t.Context(), vendorAccount)
	require.NoError(t, err)
	return kms.NewFromConfig(cfg)
}

// newMotoIssuer returns an issuer on moto's KMS with an in-memory key list. moto's Sign ignores
// MessageType and hashes whatever it is given (TestMotoSignIgnoresDigest), so against moto the
// issuer sends the signing input itself (RAW); KMS then signs its SHA-256, the same signature.
func newMotoIssuer(t *testing.T) (*Issuer, *kms.Client, *clock) {
	t.Helper()
	client := motoKMS(t)
	iss, err := New(testConfig, client, &MemoryStore{})
	require.NoError(t, err)
	c := newClock()
	iss.Now = c.Now
	iss.messageType = types.MessageTypeRaw
	_, err = iss.EnsureSubjectKey(t.Context()) // one per vendor account: every test finds the same
	require.NoError(t, err)
	return iss, client, c
}

// signingAccount is a new account with a key on iss that signs now (rotated in with no lead).
func signingAccount(t *testing.T, iss *Issuer) string {
	t.Helper()
	a := newAccount()
	_, err := iss.CreateAccountKey(t.Context(), a)
	require.NoError(t, err)
	_, err = iss.Rotate(t.Context(), a, 0)
	require.NoError(t, err)
	return a
}

// get fetches path from the issuer's HTTP server as host.
func get(t *testing.T, server *httptest.Server, host, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, server.URL+path, nil)
	require.NoError(t, err)
	req.Host = host
	resp, err := server.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// fetchJWKS fetches an account's JWKS over HTTP, as a verifier would.
func fetchJWKS(t *testing.T, server *httptest.Server, host int, account string) *jose.JSONWebKeySet {
	t.Helper()
	resp, body := get(t, server, vendor.IssuerHosts[host], "/accounts/"+account+"/.well-known/jwks.json")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var set jose.JSONWebKeySet
	require.NoError(t, json.Unmarshal(body, &set))
	return &set
}

// verify checks token's ES256 signature against set and returns its header and claims.
func verify(token string, set *jose.JSONWebKeySet) (jose.Header, map[string]any, error) {
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return jose.Header{}, nil, err
	}
	payload, err := jws.Verify(set)
	if err != nil {
		return jose.Header{}, nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return jose.Header{}, nil, err
	}
	return jws.Signatures[0].Header, claims, nil
}
