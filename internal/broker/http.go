package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// ErrNotSignedIn: the request carries no signed-in caller (no session, an expired one, a token that
// does not verify). A Caller's error wraps it, with the reason after it
// (fmt.Errorf("%w: the session expired", ErrNotSignedIn)).
var ErrNotSignedIn = errors.New("not signed in")

// Caller says who sent r, as the server's sign-in established it: a vendor identity for engineers
// ("alice@doit.com"), "tenant:<tenant>/<user>" for customers. It returns an error (ErrNotSignedIn,
// or one wrapping it) when nobody is signed in; the API answers 401 with the error's message. The
// principal comes only from here: nothing in the request's headers or body names the caller.
type Caller func(r *http.Request) (principal string, err error)

// Handler is the broker's HTTP API (JSON):
//
//	POST /requests                          {"account","ticket","justification","duration":"30m"} → 201 request
//	                                        (the ticket as ValidateTicket admits it: at most MaxTicketLength)
//	POST /requests/{id}/approve             → 200 request (a customer principal)
//	POST /requests/{id}/dismiss             {"reason"} (required) → 200 request
//	POST /requests/{id}/revoke              [{"reason"}] → 200 request
//	POST /requests/{id}/credentials         → 200 credentials (the requester; Cache-Control: no-store)
//	POST /accounts/{account}/pre-approval   {"maxDuration":"1h"} ("0s" removes it) → 200 pre-approval
//	GET  /requests [?account=A&state=S&limit=N&cursor=C] → 200 {"requests": [request…], "next": C}
//	                                        (an engineer's own, a customer's tenant's; newest first;
//	                                        state PENDING|APPROVED|DISMISSED|REVOKED|EXPIRED, at now)
//	GET  /requests/{id}                     → 200 request (its state at now)
//	GET  /pre-approvals [?account=A | ?tenant=T] → 200 {"preApprovals": [pre-approval…]}
//	                                        (a customer's tenant's; a vendor principal names one)
//	GET  /audit?account=A | ?engineer=E [&since=&until= RFC 3339] → 200 JSON lines
//
// Every route acts as the principal caller returns (the server's sign-in); a caller error answers
// 401 with its message. A customer reads the audit of its own accounts only; a vendor principal
// reads any. Bodies are one JSON object of the route's string fields, each once, nothing after it,
// at most MaxBodyBytes (decodeObject); the routes without fields take no body or {}. Refusals are
// {"error": reason} with 400 (invalid), 401 (not signed in), 403
// (forbidden), 404 (no such request, or no account the caller can use: one answer for an unknown
// account, one not registered yet and another tenant's, and for another tenant's request the
// answer of an unknown one), 409 (the request's state does not allow it); failures are 500 and
// logged, never shown; 413 for a body over MaxBodyBytes. Refused actions, audit reads included, are
// in the audit log.
//
// Handler panics if caller is nil: an API without sign-in is a bug.
func Handler(b *Broker, caller Caller) http.Handler {
	if caller == nil {
		panic("broker.Handler: no caller: the API needs the server's sign-in to know who calls")
	}
	mux := http.NewServeMux()
	b.routes(caller, mux.HandleFunc)
	return mux
}

// Routes are the patterns Handler registers ("POST /requests/{id}/approve", …), sorted: what the
// API serves, read from the registration itself, so that a list of it (the OpenAPI document's
// test) cannot drift from it.
func Routes() []string {
	var patterns []string
	(&Broker{}).routes(func(*http.Request) (string, error) { return "", ErrNotSignedIn },
		func(pattern string, _ func(http.ResponseWriter, *http.Request)) { patterns = append(patterns, pattern) })
	slices.Sort(patterns)
	return patterns
}

// routes registers each route of the API with handle (http.ServeMux.HandleFunc).
func (b *Broker) routes(caller Caller, handle func(pattern string, h func(http.ResponseWriter, *http.Request))) {
	withPrincipal := b.signedIn(caller)
	// malformed answers a request the broker never saw, and records the refusal like any other.
	malformed := func(w http.ResponseWriter, r *http.Request, ev Event, err error) {
		b.writeError(w, r, b.refused(r.Context(), err, ev))
	}
	handle("POST /requests", withPrincipal(func(w http.ResponseWriter, r *http.Request, who string) {
		var account, ticket, justification, duration string
		ev := Event{Action: "request", Actor: who, Engineer: who}
		err := decodeObject(w, r, false, map[string]*string{"account": &account, "ticket": &ticket,
			"justification": &justification, "duration": &duration})
		if err != nil {
			malformed(w, r, ev, err)
			return
		}
		d, err := parseDuration("duration", duration)
		if err != nil {
			ev.Account, ev.Ticket = account, ticket
			malformed(w, r, ev, err)
			return
		}
		req, err := b.Request(r.Context(), who, account, ticket, justification, d)
		b.reply(w, r, http.StatusCreated, req, err)
	}))
	approve := func(ctx context.Context, who, id, _ string) (Request, error) { return b.Approve(ctx, who, id) }
	for action, decide := range map[string]func(context.Context, string, string, string) (Request, error){
		"approve": approve, "dismiss": b.Dismiss, "revoke": b.Revoke,
	} {
		handle("POST /requests/{id}/"+action, withPrincipal(func(w http.ResponseWriter, r *http.Request, who string) {
			var reason string
			fields := map[string]*string{"reason": &reason} // dismiss: required; revoke: optional
			if action == "approve" {
				fields = nil // no body, or {}
			}
			if err := decodeObject(w, r, true, fields); err != nil {
				malformed(w, r, Event{Action: action, Actor: who, RequestID: r.PathValue("id")}, err)
				return
			}
			req, err := decide(r.Context(), who, r.PathValue("id"), reason)
			b.reply(w, r, http.StatusOK, req, err)
		}))
	}
	handle("POST /requests/{id}/credentials", withPrincipal(func(w http.ResponseWriter, r *http.Request, who string) {
		w.Header().Set("Cache-Control", "no-store")
		if err := decodeObject(w, r, true, nil); err != nil {
			malformed(w, r, Event{Action: "credentials", Actor: who, Engineer: who, RequestID: r.PathValue("id")}, err)
			return
		}
		c, err := b.Credentials(r.Context(), who, r.PathValue("id"))
		b.reply(w, r, http.StatusOK, c, err)
	}))
	handle("POST /accounts/{account}/pre-approval", withPrincipal(func(w http.ResponseWriter, r *http.Request, who string) {
		var maxDuration string
		ev := Event{Action: "pre-approve", Actor: who, Account: r.PathValue("account")}
		if err := decodeObject(w, r, false, map[string]*string{"maxDuration": &maxDuration}); err != nil {
			malformed(w, r, ev, err)
			return
		}
		d, err := parseDuration("maxDuration", maxDuration)
		if err != nil {
			malformed(w, r, ev, err)
			return
		}
		p, err := b.PreApprove(r.Context(), who, r.PathValue("account"), d)
		b.reply(w, r, http.StatusOK, p, err)
	}))
	handle("GET /requests", withPrincipal(func(w http.ResponseWriter, r *http.Request, who string) {
		q, err := checkQuery(r, "account", "state", "limit", "cursor")
		lq := ListQuery{Account: q.Get("account"), Cursor: q.Get("cursor")}
		if err == nil && q.Get("state") != "" {
			lq.State, err = ParseState(q.Get("state"))
		}
		if err == nil {
			lq.Limit, err = ParseLimit(q.Get("limit"))
		}
		if err != nil {
			malformed(w, r, Event{Action: "list-requests", Actor: who, Account: lq.Account}, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		page, err := b.ListRequests(r.Context(), who, lq)
		b.reply(w, r, http.StatusOK, page, err)
	}))
	handle("GET /requests/{id}", withPrincipal(func(w http.ResponseWriter, r *http.Request, who string) {
		if _, err := checkQuery(r); err != nil {
			malformed(w, r, Event{Action: "read-request", Actor: who, RequestID: r.PathValue("id")}, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		req, err := b.ReadRequest(r.Context(), who, r.PathValue("id"))
		b.reply(w, r, http.StatusOK, req, err)
	}))
	handle("GET /pre-approvals", withPrincipal(func(w http.ResponseWriter, r *http.Request, who string) {
		q, err := checkQuery(r, "account", "tenant")
		pq := PreApprovalQuery{Account: q.Get("account"), Tenant: q.Get("tenant")}
		if err != nil {
			malformed(w, r, Event{Action: "list-pre-approvals", Actor: who, Account: pq.Account}, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		list, err := b.ListPreApprovals(r.Context(), who, pq)
		b.reply(w, r, http.StatusOK, map[string][]PreApproval{"preApprovals": list}, err)
	}))
	handle("GET /audit", withPrincipal(func(w http.ResponseWriter, r *http.Request, who string) {
		q, err := checkQuery(r, "account", "engineer", "since", "until")
		f := Filter{Account: q.Get("account"), Engineer: q.Get("engineer")}
		ev := Event{Action: "read-audit", Actor: who, Account: f.Account}
		for name, t := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
			if v := q.Get(name); v != "" && err == nil {
				if *t, err = time.Parse(time.RFC3339, v); err != nil {
					err = refuse(ErrInvalid, "%s %q is not an RFC 3339 time such as 2026-11-29T17:00:00Z", name, echo(v))
				}
			}
		}
		if err == nil {
			f, err = b.mayReadAudit(r.Context(), who, f)
		}
		if err == nil {
			err = f.Check() // before the status line goes out
		}
		if err != nil {
			b.writeError(w, r, b.refused(r.Context(), err, ev))
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Cache-Control", "no-store")
		if err := b.audit.Export(r.Context(), w, f); err != nil {
			// the status line may be out already: log, and cut the stream short
			b.cfg.Logger.ErrorContext(r.Context(), "exporting the audit log", "principal", who, "error", err)
		}
	}))
}

// maxDurationText is the longest duration the API parses, in bytes: "59m59.999999999s" takes 16.
const maxDurationText = 32

// parseDuration parses the duration in field, refusing with the field named (and the value, clipped).
func parseDuration(field, s string) (time.Duration, error) {
	if len(s) > maxDurationText {
		return 0, refuse(ErrInvalid, "%s is too long: at most %d characters, such as 30m or 1h", field, maxDurationText)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, refuse(ErrInvalid, "%s %q is not a duration such as 30m or 1h", field, s)
	}
	return d, nil
}

// checkQuery returns r's query, refusing one that does not parse (url.Values drops such a pair
// silently: "?account=1;" would list everything), a parameter not among names, or one given more
// than once (Get would read the first only).
func checkQuery(r *http.Request, names ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return q, refuse(ErrInvalid, "the query does not parse: %s", echo(err.Error()))
	}
	for k, v := range q {
		if !slices.Contains(names, k) {
			return q, refuse(ErrInvalid, "unknown query parameter %q", echo(k))
		}
		if len(v) > 1 {
			return q, refuse(ErrInvalid, "the query parameter %q is given %d times", k, len(v))
		}
	}
	return q, nil
}

// mayReadAudit returns f as who may read it, or why not. A customer reads only the audit of
// accounts its tenant owns, and of those only its tenant's events (Filter.Tenant): not another
// tenant's probes of the account, nor its history under a previous tenant. An account it cannot use
// answers as an unknown one does. A vendor principal reads any.
func (b *Broker) mayReadAudit(ctx context.Context, who string, f Filter) (Filter, error) {
	if err := validatePrincipal(who); err != nil {
		return f, err
	}
	if !strings.HasPrefix(who, "tenant:") {
		return f, nil
	}
	tenant, _, ok := tenantPrincipal(who)
	if ok && f.Account == "" && f.Engineer == "" && f.Configuration == tenant {
		f.Tenant = tenant // its own tenant's configuration events
		return f, nil
	}
	if !ok || f.Account == "" {
		return f, refuse(ErrForbidden, "a customer can read the audit of its own accounts only (?account=)")
	}
	if _, err := b.tenantsAccount(ctx, tenant, f.Account); err != nil {
		return f, err
	}
	f.Tenant = tenant
	return f, nil
}

// signedIn wraps a route so that it runs as the principal caller returns, or answers 401 with the
// caller's reason. An error that is not ErrNotSignedIn may be a failure of the sign-in itself
// (an identity provider out of reach): it is logged too.
func (b *Broker) signedIn(caller Caller) func(func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			who, err := caller(r)
			if err == nil && who == "" {
				err = ErrNotSignedIn
			}
			if err != nil {
				if !errors.Is(err, ErrNotSignedIn) {
					b.cfg.Logger.WarnContext(r.Context(), "broker sign-in failed", "method", r.Method, "path", r.URL.Path, "error", err)
				}
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
				return
			}
			h(w, r, who)
		}
	}
}

func (b *Broker) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		b.writeError(w, r, err)
		return
	}
	writeJSON(w, status, v)
}

func (b *Broker) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var refusal *Refusal
	if !errors.As(err, &refusal) {
		b.cfg.Logger.ErrorContext(r.Context(), "broker request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		return
	}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, ErrForbidden):
		status = http.StatusForbidden
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrAccountUnavailable):
		status = http.StatusNotFound
	case errors.Is(err, ErrConflict):
		status = http.StatusConflict
	case errors.Is(err, ErrTooLarge):
		status = http.StatusRequestEntityTooLarge
	}
	writeJSON(w, status, map[string]string{"error": refusal.Reason})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, fmt.Sprintf(`{"error":%q}`, "internal error"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
