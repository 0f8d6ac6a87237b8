package apimatrix

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/api"
	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/test/moto"
)

var motoSrv moto.Shared

func TestMain(m *testing.M) { os.Exit(motoSrv.Run(m)) }

// cell is what one caller gets from one row.
type cell struct {
	status int
	// reason is a refusal's {"error"}, exactly; nil for a success, whose body check checks.
	reason func(c cellCtx) string
	check  func(t *testing.T, c cellCtx, resp Response)
	// writes are the items the call adds ("+pk"), changes ("~pk") or removes ("-pk"), audit items
	// aside; events are the types of the audit events it records, each with the caller as actor.
	// A refusal writes nothing and records one REFUSED event.
	writes func(c cellCtx, resp Response) []string
	events []broker.EventType
	// fresh: the call changes the request's state, so the cell gets a request of its own.
	fresh bool
	// restore undoes what the call changed for the cells after it.
	restore func(t *testing.T, c cellCtx)
}

// cellCtx is what a cell acts on.
type cellCtx struct {
	f      *Fixture
	caller Caller
	id     string // the request the {id} routes act on
}

func (c cellCtx) principal() string { return c.f.Principal(c.caller) }

// row is one route, with the state of the request it acts on, and what the callers signed in with
// a role get from it. Callers whose token is refused get the same answer from every row that is
// not public (authRefusals); every caller gets the same answer from a public row.
type row struct {
	route  string // as api.Routes() lists it
	name   string // the cells' name after the caller: the route, with the request's state for a second row
	public bool
	state  broker.State // of the request the row acts on (the {id} routes) or looks for; "" for none
	action string       // the audit's Action of a refusal
	call   func(c cellCtx) Call
	// check is a public row's answer (the one every caller gets)
	check func(t *testing.T, c cellCtx, resp Response)
	cells map[Caller]cell
}

// signedIn are the callers who sign in with a role: the broker's principals.
var signedIn = []Caller{Engineer, Requester, Customer, OtherCustomer}

// authRefusals are the answers of the sign-in (auth.Require) to the callers it refuses, for every
// route under /v1: nothing reaches the broker, so nothing is written, not even an audit record
// (there is no principal to record it under).
var authRefusals = map[Caller]struct {
	status int
	reason auth.Reason
}{
	NoRole:        {http.StatusForbidden, auth.NoRole},
	NoToken:       {http.StatusUnauthorized, auth.NoToken},
	Expired:       {http.StatusUnauthorized, auth.Expired},
	Tampered:      {http.StatusUnauthorized, auth.Signature},
	WrongAudience: {http.StatusUnauthorized, auth.Audience},
	WrongIssuer:   {http.StatusUnauthorized, auth.Issuer},
}

// challenge is the WWW-Authenticate value RFC 6750 §3 gives each refusal.
func challenge(r auth.Reason) string {
	switch r {
	case auth.NoToken:
		return "Bearer"
	case auth.NoRole:
		return `Bearer error="insufficient_scope", error_description="` + r.Description() + `"`
	}
	return `Bearer error="invalid_token", error_description="` + r.Description() + `"`
}

func refused(status int, reason func(c cellCtx) string) cell {
	return cell{status: status, reason: reason, events: []broker.EventType{broker.EventRefused}}
}

func noRequest(c cellCtx) string { return fmt.Sprintf("there is no access request %q", c.id) }
func ownRequest(c cellCtx) string {
	return fmt.Sprintf("you cannot decide on your own request %s", c.id)
}
func notCustomer(what string) func(c cellCtx) string {
	return func(c cellCtx) string {
		return fmt.Sprintf("only the customer can %s; %q is not a customer principal (tenant:<tenant>/<user>)", what, c.principal())
	}
}
func onlyEngineers(c cellCtx) string {
	return fmt.Sprintf("only a support engineer can request access (got %q)", c.principal())
}
func noAccount(c cellCtx) string { return fmt.Sprintf("no account %s you can use", c.f.Acme.Account) }

// decided is a customer's decision on a request of its own: the request in state to.
func decided(to broker.State) cell {
	return cell{status: http.StatusOK, fresh: true, events: []broker.EventType{map[broker.State]broker.EventType{
		broker.Approved: broker.EventApproved, broker.Dismissed: broker.EventDismissed, broker.Revoked: broker.EventRevoked}[to]},
		writes: func(c cellCtx, _ Response) []string { return []string{"~REQUEST#" + c.id} },
		check: func(t *testing.T, c cellCtx, resp Response) {
			var r broker.Request
			require.NoError(t, json.Unmarshal([]byte(resp.Body), &r), resp.Body)
			assert.Equal(t, c.id, r.ID)
			assert.Equal(t, to, r.State)
			assert.Equal(t, c.principal(), r.DecidedBy)
			assert.Equal(t, c.f.Acme.Account, r.Account)
			assert.WithinDuration(t, time.Now(), r.DecidedAt, time.Minute)
			switch to {
			case broker.Approved:
				assert.Equal(t, r.DecidedAt.Add(time.Hour), r.AccessUntil, "the window starts at the approval")
			case broker.Revoked:
				assert.Equal(t, r.DecidedAt, r.AccessUntil, "the window ends at the revocation")
			}
		}}
}

// created is an engineer's new request for acme's account.
var created = cell{status: http.StatusCreated, events: []broker.EventType{broker.EventRequested},
	writes: func(_ cellCtx, resp Response) []string {
		var r broker.Request
		_ = json.Unmarshal([]byte(resp.Body), &r)
		return []string{"+REQUEST#" + r.ID}
	},
	check: func(t *testing.T, c cellCtx, resp Response) {
		var r broker.Request
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &r), resp.Body)
		assert.Regexp(t, `^req-[0-9a-f]{24}$`, r.ID)
		assert.Equal(t, broker.Request{ID: r.ID, Engineer: c.principal(), Account: c.f.Acme.Account, Tenant: c.f.Acme.Name,
			Ticket: c.f.Acme.Ticket, Justification: Justification, DurationSeconds: 3600, State: broker.Pending,
			CreatedAt: r.CreatedAt, PendingUntil: r.CreatedAt.Add(broker.DefaultPendingFor)}, r)
		assert.WithinDuration(t, time.Now(), r.CreatedAt, time.Minute)
	}}

// auditRead is a reader's export of acme's account's audit: JSON lines, every one acme's, the
// shared requests' among them; a read writes nothing.
var auditRead = cell{status: http.StatusOK, check: func(t *testing.T, c cellCtx, resp Response) {
	assert.Equal(t, "application/x-ndjson", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	requests := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(resp.Body, "\n"), "\n") {
		var e broker.Event
		require.NoError(t, json.Unmarshal([]byte(l), &e), l)
		assert.Equal(t, c.f.Acme.Account, e.Account, "an event of another account: %s", l)
		requests[e.RequestID] = true
	}
	assert.True(t, requests[c.id], "the approved request's events are in its account's audit")
}}

// rows are the matrix: every route of api.Routes(), the {id} routes' for the request in the
// state that route is for (and a second row where another state answers otherwise).
func rows() []row {
	onRequest := func(action string) func(c cellCtx) Call {
		return func(c cellCtx) Call {
			call := Call{Method: http.MethodPost, Path: "/v1/requests/" + c.id + "/" + action}
			if action == "dismiss" {
				call.Body = `{"reason":"not covered by the support contract"}`
			}
			return call
		}
	}
	get := func(path func(c cellCtx) string) func(c cellCtx) Call {
		return func(c cellCtx) Call { return Call{Method: http.MethodGet, Path: "/v1" + path(c)} }
	}
	issuerDoc := func(doc string) func(c cellCtx) Call {
		return func(c cellCtx) Call {
			return Call{Method: http.MethodGet, Path: "/accounts/" + c.f.Acme.Account + "/.well-known/" + doc, Host: c.f.Vendor.IssuerHosts[0]}
		}
	}
	issuerURL := func(c cellCtx) string {
		return c.f.Vendor.IssuerURL(policy.Target{Partition: "aws", AccountID: c.f.Acme.Account}, 0)
	}
	return []row{
		{route: "GET /healthz", name: "GET /healthz", public: true,
			call: func(cellCtx) Call { return Call{Method: http.MethodGet, Path: "/healthz"} },
			check: func(t *testing.T, _ cellCtx, resp Response) {
				assert.Equal(t, http.StatusOK, resp.Status)
				assert.Equal(t, "ok\n", resp.Body)
			}},
		{route: "GET /readyz", name: "GET /readyz", public: true,
			call: func(cellCtx) Call { return Call{Method: http.MethodGet, Path: "/readyz"} },
			check: func(t *testing.T, _ cellCtx, resp Response) {
				assert.Equal(t, http.StatusOK, resp.Status)
				assert.JSONEq(t, `{"status":"ready"}`, resp.Body)
			}},
		{route: "GET /accounts/{account}/.well-known/openid-configuration", name: "GET /accounts/{account}/.well-known/openid-configuration",
			public: true, call: issuerDoc("openid-configuration"),
			check: func(t *testing.T, c cellCtx, resp Response) {
				require.Equal(t, http.StatusOK, resp.Status, resp.Body)
				var d struct {
					Issuer  string `json:"issuer"`
					JWKSURI string `json:"jwks_uri"`
				}
				require.NoError(t, json.Unmarshal([]byte(resp.Body), &d), resp.Body)
				assert.Equal(t, issuerURL(c), d.Issuer)
				assert.Equal(t, issuerURL(c)+"/.well-known/jwks.json", d.JWKSURI)
			}},
		{route: "GET /accounts/{account}/.well-known/jwks.json", name: "GET /accounts/{account}/.well-known/jwks.json",
			public: true, call: issuerDoc("jwks.json"),
			check: func(t *testing.T, c cellCtx, resp Response) {
				require.Equal(t, http.StatusOK, resp.Status, resp.Body)
				var set struct {
					Keys []struct{ Kid, Kty, Alg string }
				}
				require.NoError(t, json.Unmarshal([]byte(resp.Body), &set), resp.Body)
				require.Len(t, set.Keys, 1, "acme's one signing key")
				assert.NotEmpty(t, set.Keys[0].Kid)
				assert.Equal(t, "EC", set.Keys[0].Kty)
				assert.Equal(t, "ES256", set.Keys[0].Alg)
			}},

		{route: "POST /v1/requests", name: "POST /v1/requests", action: "request",
			call: func(c cellCtx) Call {
				return Call{Method: http.MethodPost, Path: "/v1/requests", Body: c.f.RequestBody()}
			},
			cells: map[Caller]cell{
				Engineer:  created,
				Requester: created,
				// a customer may not ask, as an engineer may not decide: forbidden, not invalid
				Customer:      refused(http.StatusForbidden, onlyEngineers),
				OtherCustomer: refused(http.StatusForbidden, onlyEngineers),
			}},

		{route: "POST /v1/requests/{id}/approve", name: "POST /v1/requests/{id}/approve", state: broker.Pending, action: "approve",
			call: onRequest("approve"),
			cells: map[Caller]cell{
				Engineer:      refused(http.StatusForbidden, notCustomer("decide on access requests")),
				Requester:     refused(http.StatusForbidden, ownRequest),
				Customer:      decided(broker.Approved),
				OtherCustomer: refused(http.StatusNotFound, noRequest),
			}},
		{route: "POST /v1/requests/{id}/approve", name: "POST /v1/requests/{id}/approve (approved)", state: broker.Approved, action: "approve",
			call: onRequest("approve"),
			cells: map[Caller]cell{
				Engineer:  refused(http.StatusForbidden, notCustomer("decide on access requests")),
				Requester: refused(http.StatusForbidden, ownRequest),
				Customer: refused(http.StatusConflict, func(c cellCtx) string {
					return fmt.Sprintf("cannot approve request %s: it was approved by %s", c.id, c.principal())
				}),
				OtherCustomer: refused(http.StatusNotFound, noRequest),
			}},
		{route: "POST /v1/requests/{id}/dismiss", name: "POST /v1/requests/{id}/dismiss", state: broker.Pending, action: "dismiss",
			call: onRequest("dismiss"),
			cells: map[Caller]cell{
				Engineer:      refused(http.StatusForbidden, notCustomer("decide on access requests")),
				Requester:     refused(http.StatusForbidden, ownRequest),
				Customer:      decided(broker.Dismissed),
				OtherCustomer: refused(http.StatusNotFound, noRequest),
			}},
		{route: "POST /v1/requests/{id}/revoke", name: "POST /v1/requests/{id}/revoke", state: broker.Approved, action: "revoke",
			call: onRequest("revoke"),
			cells: map[Caller]cell{
				Engineer:      refused(http.StatusForbidden, notCustomer("decide on access requests")),
				Requester:     refused(http.StatusForbidden, ownRequest),
				Customer:      decided(broker.Revoked),
				OtherCustomer: refused(http.StatusNotFound, noRequest),
			}},
		{route: "POST /v1/requests/{id}/credentials", name: "POST /v1/requests/{id}/credentials", state: broker.Approved, action: "credentials",
			call: onRequest("credentials"),
			cells: map[Caller]cell{
				Engineer: refused(http.StatusNotFound, noRequest),
				Requester: {status: http.StatusOK, events: []broker.EventType{broker.EventTokenMinted, broker.EventSession},
					check: func(t *testing.T, c cellCtx, resp Response) {
						assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
						var cr broker.Credentials
						require.NoError(t, json.Unmarshal([]byte(resp.Body), &cr), resp.Body)
						assert.NotEmpty(t, cr.AccessKeyID)
						assert.NotEmpty(t, cr.SecretAccessKey)
						assert.NotEmpty(t, cr.SessionToken)
						assert.WithinDuration(t, time.Now().Add(time.Hour), cr.Expiration, 2*time.Minute)
						assert.Equal(t, c.f.Vendor.SupportRoleARN(policy.Target{Partition: "aws", AccountID: c.f.Acme.Account}), cr.RoleARN)
						name, err := broker.SessionName(c.principal(), c.f.Acme.Ticket)
						require.NoError(t, err)
						assert.Equal(t, name, cr.SessionName)
					}},
				Customer:      refused(http.StatusNotFound, noRequest),
				OtherCustomer: refused(http.StatusNotFound, noRequest),
			}},
		{route: "POST /v1/requests/{id}/credentials", name: "POST /v1/requests/{id}/credentials (pending)", state: broker.Pending, action: "credentials",
			call: onRequest("credentials"),
			cells: map[Caller]cell{
				Engineer: refused(http.StatusNotFound, noRequest),
				Requester: refused(http.StatusConflict, func(c cellCtx) string {
					return fmt.Sprintf("request %s is waiting for the customer's approval", c.id)
				}),
				Customer:      refused(http.StatusNotFound, noRequest),
				OtherCustomer: refused(http.StatusNotFound, noRequest),
			}},

		{route: "POST /v1/accounts/{account}/pre-approval", name: "POST /v1/accounts/{account}/pre-approval", action: "pre-approve",
			call: func(c cellCtx) Call {
				return Call{Method: http.MethodPost, Path: "/v1/accounts/" + c.f.Acme.Account + "/pre-approval", Body: `{"maxDuration":"30m"}`}
			},
			cells: map[Caller]cell{
				Engineer:  refused(http.StatusForbidden, notCustomer("pre-approve access")),
				Requester: refused(http.StatusForbidden, notCustomer("pre-approve access")),
				Customer: {status: http.StatusOK, events: []broker.EventType{broker.EventPreApproval},
					writes: func(c cellCtx, _ Response) []string { return []string{"+PREAPPROVAL#" + c.f.Acme.Account} },
					check: func(t *testing.T, c cellCtx, resp Response) {
						var p broker.PreApproval
						require.NoError(t, json.Unmarshal([]byte(resp.Body), &p), resp.Body)
						assert.Equal(t, broker.PreApproval{Account: c.f.Acme.Account, Tenant: c.f.Acme.Name, ApprovedBy: c.principal(),
							MaxDurationSeconds: 1800, CreatedAt: p.CreatedAt}, p)
					},
					// later requests must wait for a decision again
					restore: func(t *testing.T, c cellCtx) {
						resp := c.f.Do(t, Customer, Call{Method: http.MethodPost, Path: "/v1/accounts/" + c.f.Acme.Account + "/pre-approval",
							Body: `{"maxDuration":"0s"}`})
						require.Equal(t, http.StatusOK, resp.Status, resp.Body)
					}},
				OtherCustomer: refused(http.StatusNotFound, noAccount),
			}},

		{route: "GET /v1/requests", name: "GET /v1/requests", state: broker.Pending, action: "list-requests",
			call: get(func(cellCtx) string { return "/requests" }),
			cells: map[Caller]cell{
				Engineer:      listed(func(c cellCtx, r broker.Request) bool { return r.Engineer == c.principal() }, false),
				Requester:     listed(func(c cellCtx, r broker.Request) bool { return r.Engineer == c.principal() }, true),
				Customer:      listed(func(c cellCtx, r broker.Request) bool { return r.Tenant == c.f.Acme.Name }, true),
				OtherCustomer: listed(func(c cellCtx, r broker.Request) bool { return r.Tenant == c.f.Globex.Name }, false),
			}},
		{route: "GET /v1/requests", name: "GET /v1/requests (account)", state: broker.Pending, action: "list-requests",
			call: get(func(c cellCtx) string { return "/requests?state=pending&account=" + c.f.Acme.Account }),
			cells: map[Caller]cell{
				Engineer:      listed(pendingOfAcme, true),
				Requester:     listed(pendingOfAcme, true),
				Customer:      listed(pendingOfAcme, true),
				OtherCustomer: refused(http.StatusNotFound, noAccount),
			}},
		{route: "GET /v1/requests/{id}", name: "GET /v1/requests/{id}", state: broker.Pending, action: "read-request",
			call: get(func(c cellCtx) string { return "/requests/" + c.id }),
			cells: map[Caller]cell{
				Engineer:      readOne,
				Requester:     readOne,
				Customer:      readOne,
				OtherCustomer: refused(http.StatusNotFound, noRequest),
			}},
		{route: "GET /v1/pre-approvals", name: "GET /v1/pre-approvals", action: "list-pre-approvals",
			call: get(func(cellCtx) string { return "/pre-approvals" }),
			cells: map[Caller]cell{
				Engineer:      refused(http.StatusBadRequest, oneOfAccountOrTenant),
				Requester:     refused(http.StatusBadRequest, oneOfAccountOrTenant),
				Customer:      noPreApprovals,
				OtherCustomer: noPreApprovals,
			}},
		{route: "GET /v1/pre-approvals", name: "GET /v1/pre-approvals (tenant)", action: "list-pre-approvals",
			call: get(func(c cellCtx) string { return "/pre-approvals?tenant=" + c.f.Acme.Name }),
			cells: map[Caller]cell{
				Engineer:      noPreApprovals,
				Requester:     noPreApprovals,
				Customer:      refused(http.StatusBadRequest, ownTenantOnly),
				OtherCustomer: refused(http.StatusBadRequest, ownTenantOnly),
			}},
		{route: "GET /v1/audit", name: "GET /v1/audit", state: broker.Approved, action: "read-audit",
			call: func(c cellCtx) Call {
				return Call{Method: http.MethodGet, Path: "/v1/audit?account=" + c.f.Acme.Account}
			},
			cells: map[Caller]cell{
				Engineer:      auditRead,
				Requester:     auditRead,
				Customer:      auditRead,
				OtherCustomer: refused(http.StatusNotFound, noAccount),
			}},
		{route: "GET /v1/audit", name: "GET /v1/audit (engineer)", action: "read-audit",
			call: func(c cellCtx) Call {
				return Call{Method: http.MethodGet, Path: "/v1/audit?engineer=" + url.QueryEscape(c.f.Principal(Requester))}
			},
			cells: map[Caller]cell{
				Engineer:      engineerAuditRead,
				Requester:     engineerAuditRead,
				Customer:      refused(http.StatusForbidden, ownAccountsOnly),
				OtherCustomer: refused(http.StatusForbidden, ownAccountsOnly),
			}},
	}
}

func oneOfAccountOrTenant(cellCtx) string { return "name exactly one of account or tenant" }
func ownTenantOnly(cellCtx) string {
	return "a customer lists its own tenant's standing approvals: leave out tenant"
}

func pendingOfAcme(c cellCtx, r broker.Request) bool {
	return r.Account == c.f.Acme.Account && r.State == broker.Pending
}

// listed is a page of requests, every one of them one keep admits (and, if holdsShared, the
// shared pending request among them); a read writes nothing and records nothing.
func listed(keep func(c cellCtx, r broker.Request) bool, holdsShared bool) cell {
	return cell{status: http.StatusOK, check: func(t *testing.T, c cellCtx, resp Response) {
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		var page broker.RequestPage
		require.NoError(t, json.Unmarshal([]byte(resp.Body), &page), resp.Body)
		found := false
		for _, r := range page.Requests {
			assert.True(t, keep(c, r), "a request the caller should not see listed: %+v", r)
			found = found || r.ID == c.id
		}
		assert.Equal(t, holdsShared, found, "the shared pending request %s listed", c.id)
	}}
}

// readOne is the shared pending request, read by ID.
var readOne = cell{status: http.StatusOK, check: func(t *testing.T, c cellCtx, resp Response) {
	var r broker.Request
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &r), resp.Body)
	assert.Equal(t, c.id, r.ID)
	assert.Equal(t, broker.Pending, r.State)
	assert.Equal(t, c.f.Acme.Account, r.Account)
	assert.Equal(t, c.f.Principal(Requester), r.Engineer)
}}

// noPreApprovals: the tenant's standing approvals, none (the pre-approval cell removes its own).
var noPreApprovals = cell{status: http.StatusOK, check: func(t *testing.T, c cellCtx, resp Response) {
	assert.JSONEq(t, `{"preApprovals":[]}`, resp.Body)
}}

func ownAccountsOnly(cellCtx) string {
	return "a customer can read the audit of its own accounts only (?account=)"
}

// engineerAuditRead is a vendor reader's export of the requester's audit: every event the
// requester's, as engineer or actor, across tenants.
var engineerAuditRead = cell{status: http.StatusOK, check: func(t *testing.T, c cellCtx, resp Response) {
	assert.Equal(t, "application/x-ndjson", resp.Header.Get("Content-Type"))
	requester := c.f.Principal(Requester)
	for _, l := range strings.Split(strings.TrimSuffix(resp.Body, "\n"), "\n") {
		var e broker.Event
		require.NoError(t, json.Unmarshal([]byte(l), &e), l)
		assert.True(t, e.Engineer == requester || e.Actor == requester, "an event of someone else: %s", l)
	}
	assert.Contains(t, resp.Body, `"type":"REQUESTED"`)
}}

// TestEveryCallerOnEveryRoute is the matrix: every caller on every route the API serves, over
// HTTP with real tokens, each cell its exact status and body, what it wrote, and what it recorded.
func TestEveryCallerOnEveryRoute(t *testing.T) {
	f := New(t, motoSrv.Server(t))
	matrix := rows()

	doc := openAPI(t)
	// every served route has a row, and every row a served route
	served := api.Routes()
	for _, r := range served {
		if !slices.ContainsFunc(matrix, func(m row) bool { return m.route == r }) {
			t.Errorf("the API serves %q, which has no row in the matrix: add one", r)
		}
	}
	for _, m := range matrix {
		if !slices.Contains(served, m.route) {
			t.Errorf("the matrix has a row for %q, which the API does not serve (api.Routes)", m.route)
		}
		for _, c := range signedIn {
			if _, ok := m.cells[c]; !ok && !m.public {
				t.Errorf("row %q has no cell for %s", m.name, c)
			}
		}
	}

	// the expired token differs from one the server takes in its times alone: both are signed with
	// the key moto signs every pool's tokens with
	resigned, err := f.Resign(f.Token(Requester), nil)
	require.NoError(t, err)
	resp := f.Send(t, resigned, Call{Method: http.MethodGet, Path: "/v1/audit?account=" + f.Acme.Account})
	require.Equal(t, http.StatusOK, resp.Status, "the requester's token, signed again with moto's key: %s", resp.Body)

	// the requests the refusals act on (a refusal changes nothing, so they share them)
	shared := map[broker.State]broker.Request{broker.Pending: f.NewRequest(t, broker.Pending), broker.Approved: f.NewRequest(t, broker.Approved)}

	// last is both tables as the previous cell left them, its snapshot after the call: the next
	// cell's before, unless something was written since (nil)
	var last Snapshot
	for _, r := range matrix {
		var public Response
		if r.public { // what nobody's token changes
			before := f.Snapshot(t)
			public = f.Do(t, NoToken, r.call(cellCtx{f: f}))
			last = f.Snapshot(t)
			assert.Empty(t, before.Diff(last).String(), "%s wrote", r.name)
		}
		for _, caller := range Callers() {
			t.Run(string(caller)+"/"+r.name, func(t *testing.T) {
				c := cellCtx{f: f, caller: caller, id: shared[r.state].ID}
				want, byBroker := r.cells[caller]
				before := last
				last = nil
				if want.fresh {
					c.id = f.NewRequest(t, r.state).ID
					before = nil
				}
				if before == nil {
					before = f.Snapshot(t)
				}
				call := r.call(c)
				resp := f.Do(t, caller, call)
				after := f.Snapshot(t)
				diff := before.Diff(after)
				if want.restore != nil {
					defer want.restore(t, c)
				} else {
					last = after
				}
				noLeak(t, c, call, resp)
				asDocumented(t, doc, r.route, call, resp)
				switch {
				case r.public:
					r.check(t, c, resp)
					assert.Equal(t, public.Status, resp.Status, "the same answer for every caller")
					assert.Equal(t, public.Body, resp.Body, "the same answer for every caller")
					for _, h := range []string{"Content-Type", "Cache-Control", "WWW-Authenticate"} {
						assert.Equal(t, public.Header.Get(h), resp.Header.Get(h), h)
					}
					assert.True(t, diff.Empty(), "a public route wrote:\n%s", diff)
				case !byBroker:
					a := authRefusals[caller]
					assert.Equal(t, a.status, resp.Status, resp.Body)
					assert.Equal(t, challenge(a.reason), resp.Header.Get("WWW-Authenticate"))
					assertError(t, a.reason.Description(), resp)
					if caller != NoRole {
						assert.True(t, diff.Empty(), "a refused token wrote (nothing proves who sent it: no audit either):\n%s", diff)
						break
					}
					// a verified token without a role: a REFUSED sign-in event under the verified e-mail, the
					// first time in api.RefusalAuditInterval (later ones are logged only), nothing else
					assert.Empty(t, summary(diff.NotAudit(f.BrokerTable)), "what the call wrote, audit aside:\n%s", diff)
					recorded := assertSignInRefusal(t, users[NoRole].email, a.reason.Description(), diff)
					if !noRoleSeen {
						assert.True(t, recorded, "the first refused sign-in of a verified caller is recorded")
					}
					noRoleSeen = true
				default:
					assert.Equal(t, want.status, resp.Status, resp.Body)
					assert.Empty(t, resp.Header.Get("WWW-Authenticate"), "the sign-in let the caller through")
					if want.reason != nil {
						assertError(t, want.reason(c), resp)
					} else {
						want.check(t, c, resp)
					}
					var writes []string
					if want.writes != nil {
						writes = want.writes(c, resp)
					}
					assert.Equal(t, writes, summary(diff.NotAudit(f.BrokerTable)), "what the call wrote, audit aside:\n%s", diff)
					assertEvents(t, c, r, want, resp, diff)
				}
			})
		}
	}
}

// noRoleSeen: a cell of the caller without a role has run (its refusals are recorded once per
// api.RefusalAuditInterval, so only the first must be).
var noRoleSeen bool

// assertSignInRefusal: the audit items diff added are none, or one REFUSED "sign-in" event by actor,
// with reason, listed under the actor alone (no account: the refusal came before any route read
// one); it reports which.
func assertSignInRefusal(t *testing.T, actor, reason string, diff Diff) bool {
	t.Helper()
	var pks []string
	for _, it := range diff.Added {
		if !strings.HasPrefix(it.PK, AuditPrefix) {
			continue
		}
		pks = append(pks, it.PK)
		assert.Equal(t, string(broker.EventRefused), it.Attrs["Type"])
		assert.Equal(t, "sign-in", it.Attrs["Action"])
		assert.Equal(t, actor, it.Attrs["Actor"])
		assert.Contains(t, it.Attrs["Reason"], reason)
	}
	if len(pks) > 0 {
		assert.Equal(t, []string{"AUDIT#PRINCIPAL#" + actor}, pks, "one event, under the verified caller")
	}
	return len(pks) > 0
}

// openAPI is the committed OpenAPI document of the API. The audit's JSON lines are validated as
// the array of their lines, as the document's schema for application/x-ndjson describes them.
func openAPI(t *testing.T) *openapi3.T {
	t.Helper()
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		lines := []any{}
		dec := json.NewDecoder(body)
		for {
			var line any
			if err := dec.Decode(&line); err == io.EOF {
				return lines, nil
			} else if err != nil {
				return nil, err
			}
			lines = append(lines, line)
		}
	})
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIDocument)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(t.Context()))
	return doc
}

// asDocumented: resp, the answer to call on route ("GET /v1/requests/{id}"), has a status the
// document lists for the route, and headers and a body that validate against it.
func asDocumented(t *testing.T, doc *openapi3.T, route string, call Call, resp Response) {
	t.Helper()
	method, pattern, _ := strings.Cut(route, " ")
	item := doc.Paths.Find(pattern)
	require.NotNil(t, item, "%s is not in the document", pattern)
	op := item.GetOperation(method)
	require.NotNil(t, op, "%s is not in the document", route)
	// the path parameters, read off the call's path by the pattern's segments
	params := map[string]string{}
	path, _, _ := strings.Cut(call.Path, "?")
	got, want := strings.Split(path, "/"), strings.Split(pattern, "/")
	for i, seg := range want {
		if strings.HasPrefix(seg, "{") && i < len(got) {
			params[strings.Trim(seg, "{}")] = got[i]
		}
	}
	req, err := http.NewRequest(call.Method, "http://api.invalid"+call.Path, strings.NewReader(call.Body))
	require.NoError(t, err)
	err = openapi3filter.ValidateResponse(t.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params,
			Route: &routers.Route{Spec: doc, Path: pattern, PathItem: item, Method: method, Operation: op}},
		Status:  resp.Status,
		Header:  resp.Header,
		Body:    io.NopCloser(strings.NewReader(resp.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	})
	assert.NoError(t, err, "the answer is not as openapi.yaml documents it: %d %s", resp.Status, resp.Body)
}

// assertError: the body is exactly {"error": reason}, as JSON.
func assertError(t *testing.T, reason string, resp Response) {
	t.Helper()
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var body map[string]any
	if assert.NoError(t, json.Unmarshal([]byte(resp.Body), &body), resp.Body) {
		assert.Equal(t, map[string]any{"error": reason}, body)
	}
}

// summary names the items of d: "+pk" added, "~pk" changed, "-pk" removed.
func summary(d Diff) []string {
	var out []string
	for _, l := range []struct {
		sign  string
		items []Item
	}{{"+", d.Added}, {"~", d.Changed}, {"-", d.Removed}} {
		for _, it := range l.items {
			out = append(out, l.sign+it.PK)
		}
	}
	return out
}

// assertEvents: the audit items the call added are the events want names, in order, each by the
// caller and listed under the caller's partition; a refusal's is the refusal the caller was told.
func assertEvents(t *testing.T, c cellCtx, r row, want cell, resp Response, diff Diff) {
	t.Helper()
	type event struct {
		sk    string
		attrs map[string]any
		pks   []string
	}
	byID := map[string]*event{}
	for _, it := range diff.Added {
		if it.Table != c.f.BrokerTable || !strings.HasPrefix(it.PK, AuditPrefix) {
			continue
		}
		id, _ := it.Attrs["EventId"].(string)
		if byID[id] == nil {
			byID[id] = &event{sk: it.SK, attrs: it.Attrs}
		}
		byID[id].pks = append(byID[id].pks, it.PK)
	}
	events := make([]*event, 0, len(byID))
	for _, e := range byID {
		events = append(events, e)
	}
	sort.Slice(events, func(i, j int) bool { return events[i].sk < events[j].sk })
	var types []broker.EventType
	for _, e := range events {
		types = append(types, broker.EventType(fmt.Sprint(e.attrs["Type"])))
		assert.Equal(t, c.principal(), e.attrs["Actor"], "the event's actor: %v", e.attrs)
		assert.Contains(t, e.pks, "AUDIT#PRINCIPAL#"+c.principal(), "the event is listed under its actor")
		if e.attrs["Type"] == string(broker.EventRefused) {
			assert.Equal(t, r.action, e.attrs["Action"])
			assert.Equal(t, want.reason(c), e.attrs["Reason"], "the audit records the refusal the caller was told")
		}
	}
	assert.Equal(t, want.events, types, "the audit events the call recorded:\n%s", diff)
}

// noLeak: an answer about acme's objects holds nothing of globex's, and an answer to globex's
// customer nothing of acme's but what the customer sent.
func noLeak(t *testing.T, c cellCtx, call Call, resp Response) {
	t.Helper()
	f := c.f
	secret := []string{f.Globex.Account, f.Globex.Ticket, f.GlobexRequest.ID, f.GlobexRequest.Engineer}
	if c.caller == OtherCustomer { // globex's own are globex's to read
		secret = []string{f.Acme.Ticket, f.Principal(Requester), f.Principal(Customer), "tenant:" + f.Acme.Name}
		if !strings.Contains(call.Path+call.Body, f.Acme.Account) {
			secret = append(secret, f.Acme.Account)
		}
	}
	for _, s := range secret {
		assert.NotContains(t, resp.Body+fmt.Sprint(resp.Header), s, "the answer shows another tenant's data")
	}
}
