package apimatrix

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/supportaccess/gateway/internal/backend"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/internal/registry/registrytest"
	"github.com/supportaccess/gateway/test/moto"
)

// Caller is one kind of caller of the API: who signs in, or what (bad) token is sent.
type Caller string

// The callers. The four signed in with a role are users of the pool; the bad tokens are all the
// requester's, so that nothing but the token's flaw tells them from the requester.
const (
	Engineer      Caller = "engineer"       // an engineer, not the requester of the request at hand
	Requester     Caller = "requester"      // the engineer who asked for the request at hand
	Customer      Caller = "customer"       // a customer of the tenant that owns the account (acme)
	OtherCustomer Caller = "other-customer" // a customer of another tenant (globex)
	NoRole        Caller = "no-role"        // signed in, in neither the engineer group nor a tenant group
	NoToken       Caller = "no-token"       // no Authorization header
	Expired       Caller = "expired"        // the requester's ID token, its times two hours back, signed with moto's key
	Tampered      Caller = "tampered"       // the requester's ID token with one bit of its signature flipped
	WrongAudience Caller = "wrong-audience" // the requester's ID token from another app client of the pool
	WrongIssuer   Caller = "wrong-issuer"   // the requester's ID token from another pool (moto signs it with the same key)
)

// Callers are all the callers, in a fixed order.
func Callers() []Caller {
	return []Caller{Engineer, Requester, Customer, OtherCustomer, NoRole, NoToken, Expired, Tampered, WrongAudience, WrongIssuer}
}

// user is a user of the pool.
type user struct {
	username, email string
	tenant          string // "" for an engineer, or a user without a role
	engineer        bool
}

func (u user) groups() []string {
	switch {
	case u.engineer:
		return []string{EngineerGroup}
	case u.tenant != "":
		return []string{"tenant:" + u.tenant}
	}
	return nil
}

// principal is the broker's name for u (auth.Identity.Principal of its ID token), "" without a role.
func (u user) principal() string {
	switch {
	case u.engineer:
		return u.email
	case u.tenant != "":
		return "tenant:" + u.tenant + "/" + u.email
	}
	return ""
}

var (
	users = map[Caller]user{
		Engineer:      {username: "mallory@doit.com", email: "mallory@doit.com", engineer: true},
		Requester:     {username: "alice@doit.com", email: "alice@doit.com", engineer: true},
		Customer:      {username: "bob", email: "bob@acme.example", tenant: "acme"},
		OtherCustomer: {username: "gina", email: "gina@globex.example", tenant: "globex"},
		NoRole:        {username: "dave", email: "dave@example.com"},
	}
	// globexEngineer asks for globex's request: a name that nothing about acme may show.
	globexEngineer = user{username: "gus@doit.com", email: "gus@doit.com", engineer: true}
)

// Tenant is a customer tenant with one ACTIVE account (a registered management onboarding).
type Tenant struct {
	Name    string // as its group names it, after "tenant:"
	Account string
	Ticket  string // the ticket of the requests the fixture makes for the account
}

// Fixture is the backend's API served over HTTP as production builds it (backend.Server), with
// callers holding real tokens from moto's Cognito. See the package documentation.
type Fixture struct {
	Moto *moto.Server
	// URL is the API server's base URL (httptest, on 127.0.0.1).
	URL string
	// Env is the server's environment, as backend.Server read it.
	Env map[string]string
	DB  *dynamodb.Client
	// RegistryTable and BrokerTable are the server's tables (the issuer's keys are in the registry's).
	RegistryTable, BrokerTable string
	// Pool is the pool the server accepts (Pool.ClientID); OtherPool the wrong issuer's.
	Pool, OtherPool *Pool
	// MotoKey is the key moto signs all pools' tokens with.
	MotoKey MotoKey
	Vendor  policy.Vendor
	// Acme owns the account the callers act on; Globex is the other tenant.
	Acme, Globex Tenant
	// GlobexRequest is an approved request of another engineer for globex's account.
	GlobexRequest broker.Request

	tokens map[Caller]string
	client *http.Client
}

// vendorAccount is the vendor's account: moto's default, where the issuer's KMS keys are.
const vendorAccount = moto.DefaultAccountID

var fixtures atomic.Int64

// New builds the fixture on srv: the pools, users and tokens, the tables, acme's and globex's
// accounts registered with issuer keys, the server (backend.Server) on httptest, and globex's
// approved request. Its tables, accounts and pools are its own, so fixtures can share a server.
// It fails t on any error and closes the server when t ends.
func New(t testing.TB, srv *moto.Server) *Fixture {
	t.Helper()
	ctx := t.Context()
	n := fixtures.Add(1)
	f := &Fixture{Moto: srv, Vendor: policy.DefaultVendor(), tokens: map[Caller]string{},
		RegistryTable: fmt.Sprintf("apimatrix-registry-%d", n), BrokerTable: fmt.Sprintf("apimatrix-broker-%d", n),
		Acme:   Tenant{Name: "acme", Account: fmt.Sprintf("1111%08d", n), Ticket: "ACME-4242"},
		Globex: Tenant{Name: "globex", Account: fmt.Sprintf("2222%08d", n), Ticket: "GLOBEX-77"},
		client: &http.Client{Timeout: 30 * time.Second}}
	cfg, err := srv.Config(ctx, "")
	check(t, err)
	f.DB = dynamodb.NewFromConfig(cfg)
	f.signIn(t, ctx, fmt.Sprintf("apimatrix-%d", n))

	_, err = f.DB.CreateTable(ctx, registry.TableInput(f.RegistryTable))
	check(t, err)
	check(t, broker.CreateTable(ctx, f.DB, f.BrokerTable))
	f.Env = map[string]string{
		"REGISTRY_TABLE": f.RegistryTable, "BROKER_TABLE": f.BrokerTable,
		"OIDC_ISSUER": f.Pool.Issuer(), "OIDC_AUDIENCE": f.Pool.ClientID, "OIDC_JWKS_URL": f.Pool.JWKSURL,
		"OIDC_ENGINEER_GROUP": EngineerGroup,
		"VENDOR_ACCOUNT_ID":   vendorAccount, "SIGNER_ROLE_ARN": "arn:aws:iam::" + vendorAccount + ":role/DoiT-Support-Issuer",
	}
	getenv := func(k string) string { return f.Env[k] }

	// the accounts, registered as the hook leaves them, and the issuer's keys for them
	reg := &registry.Registry{DB: f.DB, Table: f.RegistryTable}
	iss, err := backend.NewIssuer(getenv, cfg, reg, f.DB, nil)
	check(t, err)
	for _, tn := range []Tenant{f.Acme, f.Globex} {
		ext, err := registry.NewExternalID()
		check(t, err)
		_, err = reg.StartOnboarding(ctx, tn.Name, tn.Account, ext)
		check(t, err)
		registrytest.Put(t, reg, tn.Account, registry.Writes{Management: &registry.Onboarding{Status: registry.Registered,
			Tenant: tn.Name, ExternalID: ext, RoleARN: "arn:aws:iam::" + tn.Account + ":role/DoiT_Management_Role_DO-NOT-DELETE",
			Owner: registry.Owner{StackID: "arn:aws:cloudformation:us-east-1:" + tn.Account + ":stack/doit-management-role/1", LogicalID: "Hook"}}})
		_, err = iss.CreateAccountKey(ctx, tn.Account)
		check(t, err)
	}
	_, err = iss.EnsureSubjectKey(ctx)
	check(t, err)

	h, err := backend.Server(ctx, getenv, cfg, slog.New(slog.NewTextHandler(t.Output(), nil)))
	check(t, err)
	api := httptest.NewServer(h)
	t.Cleanup(api.Close)
	f.URL = api.URL

	// globex's data: gus asked for its account, gina approved
	gus := f.tokens[globexCaller]
	var r broker.Request
	f.post(t, gus, "/v1/requests", f.requestBody(f.Globex), http.StatusCreated, &r)
	f.post(t, f.tokens[OtherCustomer], "/v1/requests/"+r.ID+"/approve", "", http.StatusOK, &f.GlobexRequest)
	return f
}

// globexCaller keys the token of globex's engineer (not one of Callers).
const globexCaller Caller = "globex-engineer"

// signIn makes the pools, the users and every caller's token.
func (f *Fixture) signIn(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	var err error
	f.Pool, err = newPool(ctx, f.Moto, name, EngineerGroup, "tenant:acme", "tenant:globex")
	check(t, err)
	f.OtherPool, err = newPool(ctx, f.Moto, name+"-other", EngineerGroup)
	check(t, err)
	all := map[Caller]user{globexCaller: globexEngineer}
	for c, u := range users {
		all[c] = u
	}
	for c, u := range all {
		check(t, f.Pool.User(ctx, u.username, u.email, u.groups()...))
		f.tokens[c], err = f.Pool.IDToken(ctx, f.Pool.ClientID, u.username)
		check(t, err)
	}
	alice := users[Requester]

	otherClient, err := f.Pool.AppClient(ctx, name+"-another-app")
	check(t, err)
	f.tokens[WrongAudience], err = f.Pool.IDToken(ctx, otherClient, alice.username)
	check(t, err)
	check(t, f.OtherPool.User(ctx, alice.username, alice.email, alice.groups()...))
	f.tokens[WrongIssuer], err = f.OtherPool.IDToken(ctx, f.OtherPool.ClientID, alice.username)
	check(t, err)
	f.tokens[Tampered], err = Tamper(f.tokens[Requester])
	check(t, err)

	f.MotoKey, err = readMotoKey(ctx)
	check(t, err)
	check(t, f.checkMotoKey(ctx))
	f.tokens[Expired], err = f.Resign(f.tokens[Requester], func(c map[string]any) {
		for _, k := range []string{"iat", "auth_time", "exp"} {
			if v, ok := c[k].(float64); ok {
				c[k] = int64(v) - int64((2 * time.Hour).Seconds())
			}
		}
	})
	check(t, err)
}

// checkMotoKey fails unless MotoKey is the key the pool's JWKS publishes: the expired token must
// be one moto could have signed.
func (f *Fixture) checkMotoKey(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.Pool.JWKSURL, nil)
	if err != nil {
		return err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("reading moto's JWKS: %w", err)
	}
	defer resp.Body.Close()
	var set struct{ Keys []struct{ Kid, N string } }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return fmt.Errorf("decoding moto's JWKS: %w", err)
	}
	for _, k := range set.Keys {
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		if err == nil && k.Kid == f.MotoKey.ID && new(big.Int).SetBytes(n).Cmp(f.MotoKey.Key.N) == 0 {
			return nil
		}
	}
	return fmt.Errorf("moto's bundled key (kid %q) is not in the pool's JWKS %s", f.MotoKey.ID, f.Pool.JWKSURL)
}

// Resign returns token's claims, changed by edit, signed again with moto's key: a token moto's
// Cognito could have issued.
func (f *Fixture) Resign(token string, edit func(map[string]any)) (string, error) {
	c, err := Claims(token)
	if err != nil {
		return "", err
	}
	if edit != nil {
		edit(c)
	}
	return f.MotoKey.Sign(c)
}

// Token is the bearer token c sends, "" for NoToken.
func (f *Fixture) Token(c Caller) string { return f.tokens[c] }

// Principal is the broker's name for c (the actor its audit records), "" for a caller that is not
// signed in with a role.
func (f *Fixture) Principal(c Caller) string { return users[c].principal() }

// Call is one HTTP request to the API.
type Call struct {
	Method, Path string
	Body         string // "" for none
	Host         string // the Host header; "" for the server's address
}

// Response is the API's answer.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends call as c, with c's token.
func (f *Fixture) Do(t testing.TB, c Caller, call Call) Response {
	t.Helper()
	return f.Send(t, f.tokens[c], call)
}

// Send sends call with token ("" for none).
func (f *Fixture) Send(t testing.TB, token string, call Call) Response {
	t.Helper()
	var body io.Reader
	if call.Body != "" {
		body = strings.NewReader(call.Body)
	}
	req, err := http.NewRequestWithContext(t.Context(), call.Method, f.URL+call.Path, body)
	check(t, err)
	if call.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if call.Host != "" {
		req.Host = call.Host
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.client.Do(req)
	check(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	check(t, err)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// post sends a POST with token and decodes the answer into v, failing t unless it has status want.
func (f *Fixture) post(t testing.TB, token, path, body string, want int, v any) {
	t.Helper()
	resp := f.Send(t, token, Call{Method: http.MethodPost, Path: path, Body: body})
	if resp.Status != want {
		t.Fatalf("POST %s: %d %s, want %d", path, resp.Status, resp.Body, want)
	}
	if err := json.Unmarshal([]byte(resp.Body), v); err != nil {
		t.Fatalf("POST %s: decoding %s: %v", path, resp.Body, err)
	}
}

// Justification is what the fixture's requests give as their reason.
const Justification = "the customer reports failing deploys"

// requestBody asks for an hour of access to tn's account for its ticket.
func (f *Fixture) requestBody(tn Tenant) string {
	b, _ := json.Marshal(map[string]string{"account": tn.Account, "ticket": tn.Ticket, "justification": Justification, "duration": "1h"})
	return string(b)
}

// RequestBody is POST /v1/requests' body for an hour of access to acme's account.
func (f *Fixture) RequestBody() string { return f.requestBody(f.Acme) }

// NewRequest is a new request of the requester for acme's account, brought to state through the
// API by acme's customer: Pending as asked, Approved, Dismissed, or Revoked (while pending).
func (f *Fixture) NewRequest(t testing.TB, state broker.State) broker.Request {
	t.Helper()
	var r broker.Request
	f.post(t, f.tokens[Requester], "/v1/requests", f.RequestBody(), http.StatusCreated, &r)
	action := map[broker.State]string{broker.Approved: "approve", broker.Dismissed: "dismiss", broker.Revoked: "revoke"}[state]
	switch {
	case state == broker.Pending:
	case action != "":
		f.post(t, f.tokens[Customer], "/v1/requests/"+r.ID+"/"+action, "", http.StatusOK, &r)
	default:
		t.Fatalf("NewRequest: the API cannot bring a request to state %s", state)
	}
	if r.State != state {
		t.Fatalf("NewRequest: request %s is %s, want %s", r.ID, r.State, state)
	}
	return r
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
