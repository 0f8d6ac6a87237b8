package console

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/broker"
)

// maxListPages bounds how many of the broker's pages (broker.MaxListLimit requests each) one list
// on the requests page reads; past it the page says that it shows the newest only.
const maxListPages = 5

// requestRow is a request as the pages show it: with the time left before it expires (pending) or
// its access ends (approved).
type requestRow struct {
	broker.Request
	Left string
}

// requestsPage is the requests page's data.
type requestsPage struct {
	Pending, Approved []requestRow
	PendingMore       bool // there are more than the page shows
	ApprovedMore      bool
	PreApprovals      []broker.PreApproval
	MaxReason         int // the longest reason, in characters
	// Usable are the accounts a standing approval may be set for; Durations the choices of its
	// maximum duration.
	Usable    []Account
	Durations []choice
}

// choice is one option of a select: its value, and its text.
type choice struct{ Value, Text string }

// standingDurations are the maximum durations a standing approval may be set to (the broker
// refuses one over its own maximum, saying so): from the shortest session AWS issues up to an hour,
// the longest session the support role allows (MaxSessionDuration).
var standingDurations = []time.Duration{broker.MinSession, 30 * time.Minute, time.Hour}

// listState lists who's requests in state, newest first, at most maxListPages of them; more says
// there are others.
func (c *Console) listState(ctx context.Context, who string, state broker.State) (rows []requestRow, more bool, err error) {
	now := c.now()
	q := broker.ListQuery{State: state, Limit: broker.MaxListLimit}
	for range maxListPages {
		page, err := c.cfg.Broker.ListRequests(ctx, who, q)
		if err != nil {
			return nil, false, err
		}
		for _, r := range page.Requests {
			rows = append(rows, row(r, now))
		}
		if page.Next == "" {
			return rows, false, nil
		}
		q.Cursor = page.Next
	}
	return rows, true, nil
}

// row is r as the pages show it at now.
func row(r broker.Request, now time.Time) requestRow {
	out := requestRow{Request: r}
	switch r.State {
	case broker.Pending:
		out.Left = humanDuration(r.PendingUntil.Sub(now))
	case broker.Approved:
		out.Left = humanDuration(r.AccessUntil.Sub(now))
	}
	return out
}

// requests is the access requests page: pending requests to decide on, the standing approvals,
// and the approved requests whose access has not ended, each with its revoke.
func (c *Console) requests(w http.ResponseWriter, r *http.Request, s *session) {
	var p requestsPage
	var err error
	if p.Pending, p.PendingMore, err = c.listState(r.Context(), s.principal, broker.Pending); err != nil {
		c.failed(w, r, s, err)
		return
	}
	if p.Approved, p.ApprovedMore, err = c.listState(r.Context(), s.principal, broker.Approved); err != nil {
		c.failed(w, r, s, err)
		return
	}
	if p.PreApprovals, err = c.cfg.Broker.ListPreApprovals(r.Context(), s.principal, broker.PreApprovalQuery{}); err != nil {
		c.failed(w, r, s, err)
		return
	}
	accounts, err := c.tenantAccounts(r, s.tenant)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	for _, a := range accounts {
		if a.Usable() {
			p.Usable = append(p.Usable, a)
		}
	}
	for _, d := range standingDurations {
		p.Durations = append(p.Durations, choice{Value: strconv.FormatInt(int64(d/time.Second), 10), Text: "up to " + humanDuration(d)})
	}
	p.MaxReason = broker.MaxJustificationLength
	c.render(w, r, s, http.StatusOK, "requests", "Access requests", "requests", p)
}

// standing is the form that sets or removes an account's standing approval (max 0 removes it), as
// the session's principal: the broker decides whether it may, and audits either way.
func (c *Console) standing(w http.ResponseWriter, r *http.Request, s *session) {
	account := r.PostForm.Get("account")
	seconds, perr := strconv.ParseInt(r.PostForm.Get("max"), 10, 64)
	if perr != nil || seconds < 0 || seconds > int64(broker.MaxSession/time.Second) {
		c.refuse(r, s, "pre-approve", "a maximum duration the page does not offer", "account "+clip(account)+", max "+clip(r.PostForm.Get("max")))
		c.cfg.Logger.InfoContext(r.Context(), "console standing approval", "principal", s.principal, "account", auth.Clip(account, 64),
			"max_seconds", seconds, "refused", true)
		c.sessions.tell(s.id, notice{Error: true, Text: "Nothing was changed: choose a maximum duration from the list."})
		http.Redirect(w, r, Prefix+"requests#standing", http.StatusSeeOther)
		return
	}
	max := time.Duration(seconds) * time.Second
	_, err := c.cfg.Broker.PreApprove(r.Context(), s.principal, account, max)
	switch status := statusOf(err); {
	case err == nil && max == 0:
		c.sessions.tell(s.id, notice{Text: "Removed the standing approval of account " + account + ": every request waits for a decision."})
	case err == nil:
		c.sessions.tell(s.id, notice{Text: "Account " + account + " approves each request at once, for up to " + humanDuration(max) + "."})
	case status == http.StatusNotFound || status == http.StatusInternalServerError:
		c.failed(w, r, s, err)
		return
	default:
		c.sessions.tell(s.id, notice{Error: true, Text: "Nothing was changed: " + err.Error() + "."})
	}
	c.cfg.Logger.InfoContext(r.Context(), "console standing approval", "principal", s.principal, "account", auth.Clip(account, 64),
		"max_seconds", seconds, "refused", err != nil)
	http.Redirect(w, r, Prefix+"requests#standing", http.StatusSeeOther)
}

// requestPage is one request's page data.
type requestPage struct {
	Request   requestRow
	MaxReason int
}

// request is one request's page: another tenant's, or an unknown one, is 404 (the broker's answer).
func (c *Console) request(w http.ResponseWriter, r *http.Request, s *session) {
	req, err := c.cfg.Broker.ReadRequest(r.Context(), s.principal, r.PathValue("id"))
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.render(w, r, s, http.StatusOK, "request", "Access request "+req.ID, "requests",
		requestPage{Request: row(req, c.now()), MaxReason: broker.MaxJustificationLength})
}

// decide is the form of action (approve, dismiss, revoke) on request {id}, as the session's
// principal: the broker decides whether it may, and audits either way. A request the customer
// cannot see is 404; another refusal (a dismissal without a reason, a request decided meanwhile)
// comes back as the next page's notice, as does what was done.
func (c *Console) decide(action string) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		id, reason := r.PathValue("id"), strings.TrimSpace(r.PostForm.Get("reason"))
		var req broker.Request
		var err error
		switch action {
		case "approve":
			req, err = c.cfg.Broker.Approve(r.Context(), s.principal, id)
		case "dismiss":
			req, err = c.cfg.Broker.Dismiss(r.Context(), s.principal, id, reason)
		case "revoke":
			req, err = c.cfg.Broker.Revoke(r.Context(), s.principal, id, reason)
		}
		back := Prefix + "requests"
		if r.PostForm.Get("from") == "request" && broker.ValidRequestID(id) {
			back = Prefix + "requests/" + id
		}
		switch status := statusOf(err); {
		case err == nil:
			c.sessions.tell(s.id, notice{Text: done(action, req)})
		case status == http.StatusNotFound || status == http.StatusInternalServerError:
			c.failed(w, r, s, err)
			return
		default:
			c.sessions.tell(s.id, notice{Error: true, Text: "Nothing was changed: " + err.Error() + "."})
		}
		c.cfg.Logger.InfoContext(r.Context(), "console decision", "action", action, "principal", s.principal, "request", auth.Clip(id, 64),
			"refused", err != nil)
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}

// done says what action did to req.
func done(action string, req broker.Request) string {
	what := fmt.Sprintf("%s's request %s (ticket %s) for account %s", req.Engineer, req.ID, req.Ticket, req.Account)
	switch action {
	case "approve":
		return fmt.Sprintf("Approved %s: access until %s.", what, req.AccessUntil.UTC().Format("2006-01-02 15:04 UTC"))
	case "dismiss":
		return fmt.Sprintf("Dismissed %s.", what)
	}
	return fmt.Sprintf("Revoked %s: no new credentials from now on. A session already issued runs to its end.", what)
}
