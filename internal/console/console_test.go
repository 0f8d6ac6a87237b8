package console_test

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/console"
)

// A customer signs in through the authorization-code flow with PKCE (S256) and a nonce, gets a
// session cookie that scripts cannot read and other sites' forms do not carry, lands on the page
// asked for, and signs out: the session ends on the server, so the same cookie is worth nothing.
func TestSignInWithPKCEAndSignOut(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	p := b.get(console.Prefix + "requests")
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, e.op.Issuer(), "http://"+p.url.Host, "not signed in: sent to the provider")

	var authorize *url.URL
	for _, u := range b.visited {
		if strings.HasPrefix(u.String(), e.op.Issuer()+"/authorize") {
			authorize = u
		}
	}
	require.NotNil(t, authorize, "the authorization request: %v", b.visited)
	q := authorize.Query()
	assert.Equal(t, "code", q.Get("response_type"))
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	assert.Len(t, q.Get("code_challenge"), 43, "a SHA-256 challenge, base64url")
	assert.NotEmpty(t, q.Get("state"))
	assert.NotEmpty(t, q.Get("nonce"))
	assert.Equal(t, e.base+"/console/callback", q.Get("redirect_uri"))
	assert.Contains(t, strings.Fields(q.Get("scope")), "openid")

	landed := b.answer(p, "bob", bobPassword)
	require.Equal(t, http.StatusOK, landed.status, landed.body)
	assert.Equal(t, "/console/requests", landed.url.Path, "back to the page asked for")
	assert.Contains(t, landed.body, `data-testid="signed-in-as">bob@acme.example<`)

	var cookie *http.Cookie
	for _, resp := range b.responses {
		for _, k := range resp.Cookies() {
			if k.Name == "console-session" && k.Value != "" {
				cookie = k
			}
		}
	}
	require.NotNil(t, cookie, "the callback sets the session cookie")
	assert.True(t, cookie.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, cookie.SameSite)
	assert.False(t, cookie.Secure, "http on a loopback address: a Secure cookie would never come back")
	assert.Equal(t, console.Prefix, cookie.Path)
	assert.GreaterOrEqual(t, len(cookie.Value), 43, "256 random bits")

	// sign out: the form's token is required, and the session ends
	out := b.post(console.Prefix+"signout", url.Values{"csrf": {csrf(t, landed)}}, nil)
	require.Equal(t, http.StatusOK, out.status, out.body)
	assert.Contains(t, out.body, `data-testid="signed-out"`)
	replay, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.base+console.Prefix+"accounts", nil)
	require.NoError(t, err)
	replay.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(replay)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "the old cookie is sent to sign in")
	assert.Contains(t, resp.Header.Get("Location"), "/console/signin")
}

// A callback that this browser did not start, or one replayed, gets no session.
func TestCallbackOnlyCompletesThisBrowsersSignIn(t *testing.T) {
	e := newEnv(t)
	forged := e.browser().get(console.Prefix + "callback?state=made-up&code=made-up")
	assert.Equal(t, http.StatusBadRequest, forged.status)
	assert.Contains(t, forged.body, "not started in this browser")

	// bob's browser starts a sign-in; another browser brings back bob's code (login CSRF)
	bobs := e.browser()
	p := bobs.get(console.Prefix + "signin")
	m := authRequestID.FindStringSubmatch(p.body)
	require.NotNil(t, m)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.op.Issuer()+"/login",
		strings.NewReader(url.Values{"authRequestID": {m[1]}, "username": {"bob"}, "password": {bobPassword}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	// follow the provider's own redirects up to the console's callback URL, without going there
	callback := resp.Header.Get("Location")
	for !strings.HasPrefix(callback, e.base) {
		resp, err = http.DefaultTransport.RoundTrip(mustGet(t, callback))
		require.NoError(t, err)
		resp.Body.Close()
		callback = resp.Header.Get("Location")
		require.NotEmpty(t, callback)
	}
	other := e.browser().get(callback)
	assert.Equal(t, http.StatusBadRequest, other.status, "another browser's callback")
	done := bobs.get(callback)
	require.Equal(t, http.StatusOK, done.status, done.body)
	assert.Contains(t, done.body, "bob@acme.example")
	again := bobs.get(callback)
	assert.Equal(t, http.StatusBadRequest, again.status, "a callback is completed once")
}

func mustGet(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	require.NoError(t, err)
	return req
}

// Only customers use the console: an engineer, and a person without a role, get a 403 page that
// says why, and no session.
func TestOnlyCustomersGetASession(t *testing.T) {
	e := newEnv(t)
	for user, want := range map[string]string{"alice": "You are signed in as alice@doit.com, an engineer", "dave": "no role in the support console"} {
		t.Run(user, func(t *testing.T) {
			b := e.browser()
			p := b.signIn(user, map[string]string{"alice": alicePassword}[user])
			assert.Equal(t, http.StatusForbidden, p.status)
			assert.Contains(t, p.body, want)
			assert.Contains(t, p.body, `data-status="403"`)
			for _, resp := range b.responses {
				for _, k := range resp.Cookies() {
					assert.False(t, k.Name == "console-session" && k.Value != "", "no session cookie")
				}
			}
			after := b.get(console.Prefix + "accounts")
			assert.NotEqual(t, e.base, "http://"+after.url.Host, "still not signed in: sent to the provider")
		})
	}
}

// Each page renders for a signed-in customer, with the tenant's own objects and nothing else.
func TestPagesRenderForACustomer(t *testing.T) {
	e := newEnv(t)
	pending := e.request(acmeAccount)
	approved := e.request(acmeGateway)
	_, err := e.b.Approve(t.Context(), bob, approved.ID)
	require.NoError(t, err)
	_, err = e.b.PreApprove(t.Context(), bob, acmeAccount, broker.MinSession)
	require.NoError(t, err)
	globexReq := e.request(globexAccount)

	b := e.browser()
	b.signIn("bob", bobPassword)

	accounts := b.get(console.Prefix + "accounts")
	require.Equal(t, http.StatusOK, accounts.status, accounts.body)
	assert.Contains(t, accounts.body, `aria-current="page">Accounts<`)
	for account, status := range map[string]console.Status{acmeAccount: console.Active, acmeGateway: console.Active, acmePending: console.PendingOnboarding} {
		assert.Regexp(t, `data-account="`+account+`" data-status="`+string(status)+`"`, accounts.body)
	}
	assert.Contains(t, accounts.body, "arn:aws:iam::"+acmeAccount+":role/doit-support/DoiT-Support", "the management stack's support role")
	assert.Contains(t, accounts.body, "arn:aws:iam::"+acmeGateway+":role/DoiT-Support-Gateway")
	assert.Equal(t, 1, strings.Count(accounts.body, `data-testid="newer-template"`), "the gateway stack's template is older")

	requests := b.get(console.Prefix + "requests")
	require.Equal(t, http.StatusOK, requests.status, requests.body)
	assert.Contains(t, requests.body, `data-request="`+pending.ID+`"`)
	assert.Contains(t, requests.body, pending.Ticket)
	assert.Contains(t, requests.body, justification)
	assert.Contains(t, requests.body, engineer)
	assert.Contains(t, requests.body, `data-testid="duration">45m<`)
	assert.Regexp(t, `data-testid="time-left"><time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">\d{4}-\d\d-\d\d \d\d:\d\d UTC</time> \((3h|2h 59m)( \d+s)? left\)`, requests.body)
	assert.Regexp(t, `id="approved-`+approved.ID+`"`, requests.body)
	assert.Contains(t, requests.body, "A session already issued runs to its end")
	assert.Regexp(t, `data-testid="standing-approval" data-account="`+acmeAccount+`"`, requests.body)
	assert.Contains(t, requests.body, ">15m<")

	one := b.get(console.Prefix + "requests/" + pending.ID)
	require.Equal(t, http.StatusOK, one.status, one.body)
	assert.Contains(t, one.body, `data-state="PENDING"`)
	assert.Contains(t, one.body, `action="/console/requests/`+pending.ID+`/dismiss"`)

	log := b.get(console.Prefix + "log")
	require.Equal(t, http.StatusOK, log.status, log.body)
	assert.Contains(t, log.body, `data-type="REQUESTED"`)
	assert.Contains(t, log.body, `data-type="APPROVED"`)
	assert.Contains(t, log.body, `data-type="PRE_APPROVAL"`)
	gwLog := b.get(console.Prefix + "log?account=" + acmeGateway)
	var types []string
	for _, m := range regexp.MustCompile(`data-type="([A-Z_]+)"`).FindAllStringSubmatch(gwLog.body, -1) {
		types = append(types, m[1])
	}
	assert.Equal(t, []string{"APPROVED", "REQUESTED"}, types, "newest first, though both happened in one second")

	for _, p := range []page{accounts, requests, one, log} {
		for _, other := range []string{globexAccount, globexReq.ID, "globex"} {
			assert.NotContains(t, p.body, other, "another tenant's objects on %s", p.url.Path)
		}
		scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(p.body, -1)
		assert.Equal(t, []string{`<script src="/console/static/console.js" defer>`}, scripts, "the one script, no inline one, on %s", p.url.Path)
		assert.NotContains(t, p.body, "style=", "no inline style on %s", p.url.Path)
		assert.Contains(t, p.body, `<main id="main"`)
		assert.Contains(t, p.body, `<nav aria-label="Console">`)
	}
}

// Empty lists say so.
func TestEmptyStates(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("bob", bobPassword)
	requests := b.get(console.Prefix + "requests")
	for _, id := range []string{"pending-empty", "approved-empty", "standing-empty"} {
		assert.Contains(t, requests.body, `data-testid="`+id+`"`)
	}
	log := b.get(console.Prefix + "log?type=DISMISSED")
	assert.Contains(t, log.body, `data-testid="log-empty">No event matches this filter`)
	bad := b.get(console.Prefix + "log?type=NOPE")
	assert.Equal(t, http.StatusBadRequest, bad.status)
	assert.Contains(t, bad.body, `&#34;NOPE&#34; is not an event type`)
	missing := b.get(console.Prefix + "nowhere")
	assert.Equal(t, http.StatusNotFound, missing.status)
}

// Approve, dismiss and revoke through the forms change the request, each recorded in the audit
// log under the customer who did it; a refusal (a dismissal without a reason) changes nothing
// and says why on the next page.
func TestDecisionsThroughTheForms(t *testing.T) {
	e := newEnv(t)
	toApprove, toDismiss := e.request(acmeAccount), e.request(acmeAccount)
	b := e.browser()
	p := b.signIn("bob", bobPassword)
	token := csrf(t, p)

	p = b.post(console.Prefix+"requests/"+toApprove.ID+"/approve", url.Values{"csrf": {token}}, nil)
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Equal(t, "/console/requests", p.url.Path)
	assert.Contains(t, p.body, `data-testid="notice">Approved alice@doit.com&#39;s request `+toApprove.ID)
	assert.Equal(t, broker.Approved, e.state(toApprove.ID))

	p = b.post(console.Prefix+"requests/"+toDismiss.ID+"/dismiss", url.Values{"csrf": {token}, "reason": {"  "}}, nil)
	assert.Contains(t, p.body, `data-testid="notice-error">Nothing was changed: a reason is required`)
	assert.Equal(t, broker.Pending, e.state(toDismiss.ID))
	p = b.post(console.Prefix+"requests/"+toDismiss.ID+"/dismiss", url.Values{"csrf": {token}, "reason": {"not during the freeze"},
		"from": {"request"}}, nil)
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Equal(t, "/console/requests/"+toDismiss.ID, p.url.Path, "back to the request's page")
	assert.Contains(t, p.body, `data-testid="decision-reason">not during the freeze<`)
	assert.Equal(t, broker.Dismissed, e.state(toDismiss.ID))

	p = b.post(console.Prefix+"requests/"+toApprove.ID+"/revoke", url.Values{"csrf": {token}, "reason": {"fixed"}}, nil)
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Contains(t, p.body, "A session already issued runs to its end")
	assert.Equal(t, broker.Revoked, e.state(toApprove.ID))
	p = b.post(console.Prefix+"requests/"+toApprove.ID+"/approve", url.Values{"csrf": {token}}, nil)
	assert.Contains(t, p.body, "Nothing was changed: cannot approve request "+toApprove.ID+": it was revoked by "+bob)

	byType := map[broker.EventType]broker.Event{}
	for _, ev := range e.events(broker.Filter{Account: acmeAccount}) {
		if ev.Type != broker.EventRequested {
			byType[ev.Type] = ev
		}
	}
	for _, typ := range []broker.EventType{broker.EventApproved, broker.EventDismissed, broker.EventRevoked} {
		require.Contains(t, byType, typ)
		assert.Equal(t, bob, byType[typ].Actor, "%s is recorded under the customer", typ)
	}
	assert.Equal(t, "not during the freeze", byType[broker.EventDismissed].Reason)
	assert.Equal(t, bob, byType[broker.EventRefused].Actor, "the refused approval of a revoked request")
}

// A form without the session's CSRF token, with another, or sent from another origin, is refused
// with 403 and changes nothing; each refusal is in the audit log under the signed-in customer. A
// form without a session at all is refused too.
func TestForgedFormsAreRefusedAndAudited(t *testing.T) {
	e := newEnv(t)
	r := e.request(acmeAccount)
	b := e.browser()
	token := csrf(t, b.signIn("bob", bobPassword))
	path := console.Prefix + "requests/" + r.ID + "/approve"
	for name, tc := range map[string]struct {
		form   url.Values
		header map[string]string
	}{
		"no token":             {form: url.Values{}},
		"an empty token":       {form: url.Values{"csrf": {""}}},
		"another token":        {form: url.Values{"csrf": {strings.Repeat("A", len(token))}}},
		"the token twice":      {form: url.Values{"csrf": {token, token}}},
		"another origin":       {form: url.Values{"csrf": {token}}, header: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
		"a null origin":        {form: url.Values{"csrf": {token}}, header: map[string]string{"Origin": "null"}},
		"a cross-site request": {form: url.Values{"csrf": {token}}, header: map[string]string{"Sec-Fetch-Site": "cross-site"}},
		"a same-site request":  {form: url.Values{"csrf": {token}}, header: map[string]string{"Sec-Fetch-Site": "same-site"}},
	} {
		t.Run(name, func(t *testing.T) {
			p := b.post(path, tc.form, tc.header)
			assert.Equal(t, http.StatusForbidden, p.status)
			assert.Contains(t, p.body, "anti-forgery token")
			assert.Equal(t, broker.Pending, e.state(r.ID))
		})
	}
	refusals := 0
	for _, ev := range e.events(broker.Filter{Engineer: bob}) {
		if ev.Type == broker.EventRefused && ev.Action == "console approve" {
			refusals++
			assert.Equal(t, r.ID, ev.RequestID)
			assert.Equal(t, "acme", ev.Tenant)
			assert.NotEmpty(t, ev.Detail, "what was wrong, for the vendor")
		}
	}
	assert.Equal(t, 8, refusals, "each refusal is audited")

	// sign-out is a form too
	p := b.post(console.Prefix+"signout", url.Values{}, nil)
	assert.Equal(t, http.StatusForbidden, p.status)
	// no session: refused, nothing to audit it under
	p = e.browser().post(path, url.Values{"csrf": {token}}, nil)
	assert.Equal(t, http.StatusForbidden, p.status)
	assert.Contains(t, p.body, "Your session has ended")
	assert.Equal(t, broker.Pending, e.state(r.ID))

	p = b.post(path, url.Values{"csrf": {token}}, nil)
	require.Equal(t, http.StatusOK, p.status, "the real form still works")
	assert.Equal(t, broker.Approved, e.state(r.ID))
}

// Another tenant's customer gets 404 for every page, action and download of this tenant's
// objects, changes nothing, and sees nothing of them on its own pages.
func TestAnotherTenantGets404(t *testing.T) {
	e := newEnv(t)
	pending, approved := e.request(acmeAccount), e.request(acmeAccount)
	_, err := e.b.Approve(t.Context(), bob, approved.ID)
	require.NoError(t, err)
	b := e.browser()
	token := csrf(t, b.signIn("gina", ginaPassword))

	for _, path := range []string{"requests/" + pending.ID, "requests/" + approved.ID, "log?account=" + acmeAccount,
		"log.csv?account=" + acmeAccount, "log.jsonl?account=" + acmeAccount, "log?account=" + acmePending, "requests/req-000000000000000000000000"} {
		p := b.get(console.Prefix + path)
		assert.Equal(t, http.StatusNotFound, p.status, path)
		assert.NotContains(t, p.body, "acme", path)
	}
	for _, action := range []string{"approve", "dismiss", "revoke"} {
		for _, r := range []broker.Request{pending, approved} {
			p := b.post(console.Prefix+"requests/"+r.ID+"/"+action, url.Values{"csrf": {token}, "reason": {"mine now"}}, nil)
			assert.Equal(t, http.StatusNotFound, p.status, action)
			assert.NotContains(t, p.body, "acme")
		}
	}
	assert.Equal(t, broker.Pending, e.state(pending.ID))
	assert.Equal(t, broker.Approved, e.state(approved.ID))

	for _, path := range []string{"accounts", "requests", "log", "log.csv", "log.jsonl"} {
		p := b.get(console.Prefix + path)
		require.Equal(t, http.StatusOK, p.status, path)
		for _, other := range []string{acmeAccount, acmeGateway, acmePending, pending.ID, approved.ID, "acme", "bob"} {
			assert.NotContains(t, p.body, other, path)
		}
	}
}

var eventRow = regexp.MustCompile(`data-testid="event" data-event="([^"]+)"`)

// The downloads hold the rows the page shows, in its order, whatever the filter.
func TestDownloadsHoldThePagesRows(t *testing.T) {
	e := newEnv(t)
	for range 2 {
		r := e.request(acmeAccount)
		_, err := e.b.Approve(t.Context(), bob, r.ID)
		require.NoError(t, err)
	}
	r := e.request(acmeGateway)
	_, err := e.b.Dismiss(t.Context(), bob, r.ID, "=HYPERLINK(\"https://evil.example\")")
	require.NoError(t, err)
	_, err = e.b.Approve(t.Context(), "tenant:acme/eve@doit.com", e.request(acmeGateway).ID) // refused: staff
	require.Error(t, err)

	b := e.browser()
	b.signIn("bob", bobPassword)
	for _, filter := range []string{"", "?account=" + acmeGateway, "?type=APPROVED", "?engineer=ALICE@doit.com", "?type=REFUSED&account=" + acmeGateway} {
		t.Run(filter, func(t *testing.T) {
			p := b.get(console.Prefix + "log" + filter)
			require.Equal(t, http.StatusOK, p.status, p.body)
			var onPage []string
			for _, m := range eventRow.FindAllStringSubmatch(p.body, -1) {
				onPage = append(onPage, m[1])
			}
			require.NotEmpty(t, onPage)
			q, err := url.ParseQuery(strings.TrimPrefix(filter, "?"))
			require.NoError(t, err)
			link := ""
			if len(q) > 0 {
				link = "?" + strings.ReplaceAll(q.Encode(), "&", "&amp;")
			}
			assert.Contains(t, p.body, `href="/console/log.csv`+link+`"`, "the download link keeps the filter")

			c := b.get(console.Prefix + "log.csv" + filter)
			require.Equal(t, http.StatusOK, c.status)
			assert.Equal(t, "text/csv; charset=utf-8", c.header.Get("Content-Type"))
			assert.Regexp(t, `^attachment; filename="access-log-\d{4}-\d\d-\d\d\.csv"$`, c.header.Get("Content-Disposition"))
			rows, err := csv.NewReader(strings.NewReader(c.body)).ReadAll()
			require.NoError(t, err)
			require.Equal(t, console.CSVHeader, rows[0])
			var inCSV []string
			for _, row := range rows[1:] {
				inCSV = append(inCSV, row[0])
				for _, cell := range row {
					assert.False(t, cell != "" && strings.ContainsRune("=+-@", rune(cell[0])), "a formula cell: %q", cell)
				}
			}
			assert.Equal(t, onPage, inCSV)

			j := b.get(console.Prefix + "log.jsonl" + filter)
			require.Equal(t, http.StatusOK, j.status)
			assert.Equal(t, "application/x-ndjson", j.header.Get("Content-Type"))
			var inJSON []string
			dec := json.NewDecoder(strings.NewReader(j.body))
			for dec.More() {
				var ev broker.Event
				require.NoError(t, dec.Decode(&ev))
				inJSON = append(inJSON, ev.ID)
				assert.Empty(t, ev.Detail, "the vendor's detail is not the customer's")
				switch {
				case strings.Contains(filter, "type="):
					assert.Equal(t, strings.TrimPrefix(strings.Split(filter, "&")[0], "?type="), string(ev.Type))
				case strings.Contains(filter, "engineer="):
					assert.Equal(t, engineer, ev.Engineer)
				case strings.Contains(filter, "account="):
					assert.Equal(t, acmeGateway, ev.Account)
				}
			}
			assert.Equal(t, onPage, inJSON)
		})
	}
}

// Every answer of the console carries the security headers: pages, errors, redirects, the
// stylesheet, the downloads, refusals.
func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, path := range []string{"", "signin", "static/console.css", "accounts", "nowhere", "callback?state=x"} {
		b.get(console.Prefix + path)
	}
	b.get("/console")
	b.signIn("bob", bobPassword)
	for _, path := range []string{"", "accounts", "requests", "requests/req-000000000000000000000000", "log", "log.csv", "log.jsonl", "log?type=x"} {
		b.get(console.Prefix + path)
	}
	b.post(console.Prefix+"requests/req-000000000000000000000000/approve", url.Values{}, nil)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, e.base+console.Prefix+"accounts", nil)
	require.NoError(t, err)
	p := b.do(req)
	assert.Equal(t, http.StatusMethodNotAllowed, p.status)
	assert.Greater(t, len(b.responses), 20) // each was checked by the browser (browser.do)

	css := b.get(console.Prefix + "static/console.css")
	assert.Equal(t, "text/css; charset=utf-8", css.header.Get("Content-Type"))
	assert.Contains(t, css.body, ":focus-visible")
	for _, resp := range b.responses {
		if resp.Request.URL.Path != "/console/static/console.css" {
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"), resp.Request.URL.Path)
		}
		assert.Empty(t, resp.Header.Get("Strict-Transport-Security"), "not over http")
	}
}
