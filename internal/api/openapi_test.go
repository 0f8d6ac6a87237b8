package api_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/api"
	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
)

// The OpenAPI work is github.com/getkin/kin-openapi: the Go library most OpenAPI 3 tooling in Go
// builds on (oapi-codegen among them), maintained and released steadily. It loads and validates
// the document and validates the tree's responses against it (openapi3filter).

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIDocument)
	require.NoError(t, err)
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadDoc(t)
	require.NoError(t, doc.Validate(t.Context()))
}

// template names every path parameter alike: "/requests/{id}" and "/requests/{request}" are one route.
var template = regexp.MustCompile(`\{[^}]*\}`)

func normalize(pattern string) string { return template.ReplaceAllString(pattern, "{}") }

// The document has exactly the routes the tree serves: none missing, none extra.
func TestOpenAPIDocumentHasEveryServedRoute(t *testing.T) {
	doc := loadDoc(t)
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, normalize(method+" "+path))
		}
	}
	var served []string
	for _, p := range api.Routes() {
		served = append(served, normalize(p))
	}
	slices.Sort(documented)
	slices.Sort(served)
	assert.Equal(t, served, documented)
	assert.Len(t, served, 14, "api.Routes lists the health, broker and issuer routes")
}

const (
	issuerAccount  = "111122223333" // has a signing key
	unknownAccount = "444455556666"
	requestID      = "req-0123456789abcdef01234567"
	oidcIssuer     = "https://idp.example.com"
	oidcClient     = "gateway-client"
)

// fakeKMS gives the public half of one P-256 key, all the issuer's documents need.
type fakeKMS struct {
	issuer.KMSAPI
	pub []byte
}

func (f fakeKMS) GetPublicKey(context.Context, *kms.GetPublicKeyInput, ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	return &kms.GetPublicKeyOutput{PublicKey: f.pub, KeySpec: kmstypes.KeySpecEccNistP256}, nil
}

// tree is the served handler tree built as backend.Server builds it (api.Handler, api.SignedIn,
// the issuer's Handler), with a sign-in that refuses every token and a broker no request reaches.
type tree struct {
	h     http.Handler
	ready error
}

func newTree(t *testing.T, brokerAPI func(*broker.Broker) http.Handler) *tree {
	t.Helper()
	b, err := broker.New(broker.Config{}, nil, nil, nil, nil, "broker") // no request gets past sign-in to it
	require.NoError(t, err)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	store := &issuer.MemoryStore{}
	require.NoError(t, store.Put(t.Context(), issuer.KeyRecord{Account: issuerAccount, KeyID: "key-1",
		Created: time.Now().Add(-time.Hour), State: issuer.KeyActive}))
	iss, err := issuer.New(issuer.Config{Vendor: policy.DefaultVendor(), Partition: "aws", VendorAccount: "999988887777",
		SignerRoleARN: "arn:aws:iam::999988887777:role/Signer"}, fakeKMS{pub: pub}, store)
	require.NoError(t, err)

	tr := &tree{}
	tr.h = api.Handler(api.Config{Broker: brokerAPI(b), Issuer: iss.Handler(),
		Ready:  func(context.Context) error { return tr.ready },
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	return tr
}

// signedIn is the broker behind OIDC sign-in, as served, with an identity provider whose keys
// cannot be fetched: a token that would need them is 503, every other refusal what it always is.
func signedIn(t *testing.T) func(*broker.Broker) http.Handler {
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(jwks.Close)
	v, err := auth.NewVerifier(t.Context(), auth.Config{Issuer: oidcIssuer, Audience: oidcClient, JWKSURL: jwks.URL,
		EngineerGroup: "doit-engineers", Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	require.NoError(t, err)
	return func(b *broker.Broker) http.Handler { return api.SignedIn(b, v) }
}

// notSignedIn is the broker's own handler with a caller that says nobody is signed in: every one
// of its routes answers 401 from inside the route, so that answer proves the route is there.
func notSignedIn(b *broker.Broker) http.Handler {
	return broker.Handler(b, func(*http.Request) (string, error) { return "", broker.ErrNotSignedIn })
}

// unverifiable is a well-formed token for the configured issuer and client whose signature needs
// the provider's keys.
func unverifiable(iss string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"}) + "." +
		enc(map[string]any{"iss": iss, "aud": oidcClient, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}) + "." +
		base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 256))
}

// probe is one request to a documented route and the status it must get.
type probe struct {
	name   string
	host   string
	header http.Header
	body   []byte
	params map[string]string
	status int
	// challenge is the WWW-Authenticate value wanted; "-" for none.
	challenge string
}

// probes are what each kind of route is sent: the broker's routes behind sign-in get its
// refusals; the health and issuer routes get real answers.
func probes(path string, op *openapi3.Operation) []probe {
	bearer := func(v string) http.Header { return http.Header{"Authorization": {v}} }
	switch {
	case op.Security != nil && len(*op.Security) > 0:
		ps := []probe{
			{name: "no token", status: 401, challenge: "Bearer"},
			{name: "basic", header: bearer("Basic YWxpY2U6c2VjcmV0"), status: 401, challenge: "Bearer"},
			{name: "not b64token", header: bearer("Bearer a b"), status: 400,
				challenge: `Bearer error="invalid_request", error_description="send exactly one Authorization: Bearer <token> header"`},
			{name: "another issuer", header: bearer("Bearer " + unverifiable("https://evil.example.com")), status: 401,
				challenge: `Bearer error="invalid_token", error_description="the token is from another issuer: sign in with the configured identity provider"`},
			{name: "keys unavailable", header: bearer("Bearer " + unverifiable(oidcIssuer)), status: 503, challenge: "-"},
		}
		if op.RequestBody != nil {
			ps = append(ps, probe{name: "body over the tree's limit", body: bytes.Repeat([]byte(" "), api.MaxBodyBytes+1), status: 413})
		}
		return ps
	case strings.HasPrefix(path, "/accounts/"):
		host := policy.DefaultVendor().IssuerHosts[0]
		return []probe{
			{name: "onboarded account", host: host, status: 200},
			{name: "standby host", host: policy.DefaultVendor().IssuerHosts[1], status: 200},
			{name: "unknown account", host: host, params: map[string]string{"account": unknownAccount}, status: 404},
			{name: "unknown host", host: "example.com", status: 404},
		}
	}
	return []probe{{name: "serving", status: 200}}
}

// Every documented route is served by the real tree, answers only documented statuses, and its
// answers validate against the document.
func TestEveryDocumentedRouteAnswersAsDocumented(t *testing.T) {
	doc := loadDoc(t)
	tr := newTree(t, signedIn(t))
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for _, p := range probes(path, op) {
				t.Run(method+" "+path+": "+p.name, func(t *testing.T) {
					params := map[string]string{"id": requestID, "account": issuerAccount}
					for k, v := range p.params {
						params[k] = v
					}
					target := path
					for k, v := range params {
						target = strings.ReplaceAll(target, "{"+k+"}", v)
					}
					r := httptest.NewRequest(method, target, bytes.NewReader(p.body))
					if p.host != "" {
						r.Host = p.host
					}
					for k, v := range p.header {
						r.Header[k] = v
					}
					w := httptest.NewRecorder()
					tr.h.ServeHTTP(w, r)

					require.Equal(t, p.status, w.Code, "%s", w.Body)
					require.NotNil(t, op.Responses.Status(w.Code), "status %d is not documented for %s %s", w.Code, method, path)
					switch p.challenge {
					case "":
					case "-":
						assert.Empty(t, w.Header().Get("WWW-Authenticate"))
					default:
						assert.Equal(t, p.challenge, w.Header().Get("WWW-Authenticate"))
					}
					route := &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
					err := openapi3filter.ValidateResponse(t.Context(), &openapi3filter.ResponseValidationInput{
						RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
						Status:                 w.Code,
						Header:                 w.Header(),
						Body:                   io.NopCloser(bytes.NewReader(w.Body.Bytes())),
						Options:                &openapi3filter.Options{IncludeResponseStatus: true},
					})
					assert.NoError(t, err, "the response is not as documented: %s", w.Body)
				})
			}
		}
	}

	tr.ready = errors.New("table broker: ResourceNotFoundException")
	w := httptest.NewRecorder()
	tr.h.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.NotNil(t, doc.Paths.Value("/readyz").Get.Responses.Status(w.Code))
}

// Sign-in answers every /v1 path alike, served or not, so the refusals above do not show that the
// broker serves the route. Without it in front, the broker's own 401 comes from inside a route: a
// path it does not serve is 404, a method it does not serve 405.
func TestEveryDocumentedBrokerRouteIsServed(t *testing.T) {
	doc := loadDoc(t)
	tr := newTree(t, notSignedIn)
	do := func(method, target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		tr.h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
		return w
	}
	n := 0
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, api.BrokerPrefix+"/") {
			continue
		}
		target := strings.NewReplacer("{id}", requestID, "{account}", issuerAccount).Replace(path)
		for method, op := range item.Operations() {
			n++
			w := do(method, target)
			assert.Equal(t, http.StatusUnauthorized, w.Code, "%s %s: %s", method, path, w.Body)
			assert.JSONEq(t, `{"error":"not signed in"}`, w.Body.String(), "%s %s", method, path)
			assert.NotNil(t, op.Responses.Status(w.Code), "%s %s", method, path)
		}
		assert.Equal(t, http.StatusMethodNotAllowed, do("PUT", target).Code, "PUT %s", path)
	}
	assert.Equal(t, 10, n, "the broker's routes")
	assert.Equal(t, http.StatusNotFound, do("POST", api.BrokerPrefix+"/requests/"+requestID+"/undo").Code)
	assert.Equal(t, http.StatusNotFound, do("GET", api.BrokerPrefix+"/accounts/"+issuerAccount).Code)
}
