package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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

const maxBody = 64 << 10

// Handler is the broker's HTTP API (JSON):
//
//	POST /requests                          {"account","ticket","justification","duration":"30m"} → 201 request
//	                                        (the ticket as ValidateTicket admits it: at most MaxTicketLength)
//	POST /requests/{id}/approve             → 200 request (a customer principal)
//	POST /requests/{id}/dismiss             → 200 request
//	POST /requests/{id}/revoke              → 200 request
//	POST /requests/{id}/credentials         → 200 credentials (the requester; Cache-Control: no-store)
//	POST /accounts/{account}/pre-approval   {"maxDuration":"1h"} ("0s" removes it) → 200 pre-approval
//	GET  /audit?account=A | ?engineer=E [&since=&until= RFC 3339] → 200 JSON lines
//
// Every route acts as the principal caller returns (the server's sign-in); a caller error answers
// 401 with its message. A customer reads the audit of its own accounts only; a vendor principal
// reads any. Refusals are {"error": reason} with 400 (invalid), 401 (not signed in), 403
// (forbidden), 404 (no such request, or no account the caller can use: one answer for an unknown
// account, one not registered yet and another tenant's, and for another tenant's request the
// answer of an unknown one), 409 (the request's state does not allow it); failures are 500 and
// logged, never shown. Refused actions, audit reads included, are in the audit log.
//
// Handler panics if caller is nil: an API without sign-in is a bug.
func Handler(b *Broker, caller Caller) http.Handler {
	if caller == nil {
		panic("broker.Handler: no caller: the API needs the server's sign-in to know who calls")
	}
	withPrincipal := b.signedIn(caller)
	mux := http.NewServeMux()
	// malformed answers a request the broker never saw, and records the refusal like any other.
	malformed := func(w http.ResponseWriter, r *http.Request, ev Event, err error) {
		b.writeError(w, r, b.refused(r.Context(), err, ev))
	}
	mux.HandleFunc("POST /requests", withPrincipal(func(w http.ResponseWriter, r *http.Request, who string) {
		var in struct {
			Account       string `json:"account"`
			Ticket        string `json:"ticket"`
			Justification string `json:"justification"`
			Duration      string `json:"duration"`
		}
		ev := Event{Action: "request", Actor: who, Engineer: who}
		if err := decode(w, r, &in); err != nil {
			malformed(w, r, ev, err)
			return
		}
		d, err := time.ParseDuration(in.Duration)
		if err != nil {
			ev.Account, ev.Ticket = in.Account, in.Ticket
			malformed(w, r, ev, refuse(ErrInvalid, "duration %q is not a duration such as 30m or 1h", in.Duration))
			return
		}
		req, err := b.Request(r.Context(), who, in.Account, in.Ticket, in.Justification, d)
		b.reply(w, r, http.StatusCreated, req, err)
	}))
	for action, decide := range map[string]func(context.Context, string, string) (Request, error){
		"approve": b.Approve, "dismiss": b.Dismiss, "revoke": b.Revoke,
	} {
		mux.HandleFunc("POST /requests/{id}/"+action, withPrincipal(func(w http.ResponseWriter, r *http.Request, who string) {
			req, err := decide(r.Context(), who, r.PathValue("id"))
			b.reply(w, r, http.StatusOK, req, err)
		}))
	}
	mux.HandleFunc("POST /requests/{id}/credentials", withPrincipal(func(w http.ResponseWriter, r *http.Request, who string) {
		w.Header().Set("Cache-Control", "no-store")
		c, err := b.Credentials(r.Context(), who, r.PathValue("id"))
		b.reply(w, r, http.StatusOK, c, err)
	}))
	mux.HandleFunc("POST /accounts/{account}/pre-approval", withPrincipal(func(w http.ResponseWriter, r *http.Request, who string) {
		var in struct {
			MaxDuration string `json:"maxDuration"`
		}
		ev := Event{Action: "pre-approve", Actor: who}
		if accountPattern.MatchString(r.PathValue("account")) {
			ev.Account = r.PathValue("account")
		}
		if err := decode(w, r, &in); err != nil {
			malformed(w, r, ev, err)
			return
		}
		d, err := time.ParseDuration(in.MaxDuration)
		if err != nil {
			malformed(w, r, ev, refuse(ErrInvalid, "maxDuration %q is not a duration such as 30m or 1h", in.MaxDuration))
			return
		}
		p, err := b.PreApprove(r.Context(), who, r.PathValue("account"), d)
		b.reply(w, r, http.StatusOK, p, err)
	}))
	mux.HandleFunc("GET /audit", withPrincipal(func(w http.ResponseWriter, r *http.Request, who string) {
		q := r.URL.Query()
		f := Filter{Account: q.Get("account"), Engineer: q.Get("engineer")}
		for name, t := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
			if v := q.Get(name); v != "" {
				var err error
				if *t, err = time.Parse(time.RFC3339, v); err != nil {
					b.writeError(w, r, refuse(ErrInvalid, "%s %q is not an RFC 3339 time", name, v))
					return
				}
			}
		}
		if err := b.mayReadAudit(r, who, f); err != nil {
			ev := Event{Action: "read-audit", Actor: who}
			if accountPattern.MatchString(f.Account) {
				ev.Account = f.Account
			}
			b.writeError(w, r, b.refused(r.Context(), err, ev))
			return
		}
		if err := f.Check(); err != nil { // before the status line goes out
			b.writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Cache-Control", "no-store")
		if err := b.audit.Export(r.Context(), w, f); err != nil {
			// the status line may be out already: log, and cut the stream short
			b.cfg.Logger.ErrorContext(r.Context(), "exporting the audit log", "principal", who, "error", err)
		}
	}))
	return mux
}

// mayReadAudit: a customer reads only the audit of accounts its tenant owns; an account it cannot
// use answers as an unknown one does.
func (b *Broker) mayReadAudit(r *http.Request, who string, f Filter) error {
	if err := validatePrincipal(who); err != nil {
		return err
	}
	if !strings.HasPrefix(who, "tenant:") {
		return nil
	}
	tenant, _, ok := tenantPrincipal(who)
	if !ok || f.Account == "" {
		return refuse(ErrForbidden, "a customer can read the audit of its own accounts only (?account=)")
	}
	o, err := b.active(r.Context(), f.Account)
	if err != nil {
		return err
	}
	if o.Tenant != tenant {
		return noAccount(f.Account, "account %s belongs to tenant %q, not %q", f.Account, o.Tenant, tenant)
	}
	return nil
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

// decode reads the JSON body into v, refusing anything else (unknown fields, over 64 KiB).
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return refuse(ErrInvalid, "the request body is not the expected JSON: %v", err)
	}
	return nil
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
