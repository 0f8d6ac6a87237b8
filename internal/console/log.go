package console

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/supportaccess/gateway/internal/broker"
)

// EventTypes are the types the access log's filter offers, in the order of a request's life.
var EventTypes = []broker.EventType{broker.EventRequested, broker.EventApproved, broker.EventDismissed, broker.EventRevoked,
	broker.EventPreApproval, broker.EventTokenMinted, broker.EventSession, broker.EventRefused, broker.EventFailed, broker.EventConfigured}

// eventTypeText is each type as the page says it.
var eventTypeText = map[broker.EventType]string{
	broker.EventRequested:   "Requested",
	broker.EventApproved:    "Approved",
	broker.EventDismissed:   "Dismissed",
	broker.EventRevoked:     "Revoked",
	broker.EventPreApproval: "Standing approval",
	broker.EventTokenMinted: "Token minted",
	broker.EventSession:     "Session issued",
	broker.EventRefused:     "Refused",
	broker.EventFailed:      "Failed",
	broker.EventConfigured:  "Configured",
}

// logQuery is the access log's filter: all empty for every event of the tenant's accounts.
type logQuery struct {
	Account  string
	Engineer string
	Type     broker.EventType
}

// Encode is the filter as a query string ("" when it filters nothing), for the download links.
func (q logQuery) Encode() string {
	v := url.Values{}
	for k, s := range map[string]string{"account": q.Account, "engineer": q.Engineer, "type": string(q.Type)} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// parseLogQuery reads the filter from r's query: account, engineer and type, each at most once.
func parseLogQuery(r *http.Request) (logQuery, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return logQuery{}, fmt.Errorf("the filter does not parse")
	}
	for k, vals := range v {
		if k != "account" && k != "engineer" && k != "type" {
			return logQuery{}, fmt.Errorf("the log has no filter %q: filter by account, engineer or type", clip(k))
		}
		if len(vals) > 1 {
			return logQuery{}, fmt.Errorf("the filter %s is given %d times", k, len(vals))
		}
	}
	q := logQuery{Account: strings.TrimSpace(v.Get("account")), Engineer: strings.TrimSpace(v.Get("engineer")),
		Type: broker.EventType(v.Get("type"))}
	if q.Type != "" && !slices.Contains(EventTypes, q.Type) {
		return logQuery{}, fmt.Errorf("%q is not an event type", clip(string(q.Type)))
	}
	if len(q.Engineer) > broker.MaxPrincipalBytes {
		return logQuery{}, fmt.Errorf("the engineer is too long: at most %d bytes", broker.MaxPrincipalBytes)
	}
	return q, nil
}

// clip is text the caller sent, short enough to repeat in an answer.
func clip(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "") + "…"
	}
	return s
}

// logRows are the events q selects of the last LogWindow, newest first, as the broker lets s read
// them (its tenant's events of accounts it owns now), with the accounts the filter offers. The
// page and both downloads are these rows.
func (c *Console) logRows(r *http.Request, s *session, q logQuery) (events []broker.Event, accounts []Account, err error) {
	all, err := c.tenantAccounts(r, s.tenant)
	if err != nil {
		return nil, nil, err
	}
	for _, a := range all {
		if a.Usable() {
			accounts = append(accounts, a)
		}
	}
	read := make([]string, 0, len(accounts))
	if q.Account != "" {
		read = append(read, q.Account) // the broker says whether s may: another tenant's is 404, and audited
	} else {
		for _, a := range accounts {
			read = append(read, a.ID)
		}
	}
	since := c.now().Add(-LogWindow)
	engineer := broker.NormalizeIdentity(q.Engineer)
	filters := make([]broker.Filter, 0, len(read)+1)
	for _, account := range read {
		filters = append(filters, broker.Filter{Account: account, Since: since})
	}
	// the tenant's own configuration (tokens, links), which may name no account it owns yet
	filters = append(filters, broker.Filter{Configuration: s.tenant, Since: since})
	seen := map[string]bool{}
	for _, f := range filters {
		list, err := c.cfg.Broker.ReadAudit(r.Context(), s.principal, f)
		if err != nil {
			return nil, nil, err
		}
		for i := len(list) - 1; i >= 0; i-- { // newest first: events of one second stay in the order they happened
			e := list[i]
			if seen[e.ID] || (f.Configuration != "" && q.Account != "" && e.Account != q.Account) {
				continue
			}
			seen[e.ID] = true
			if (q.Type == "" || e.Type == q.Type) && (engineer == "" || broker.NormalizeIdentity(e.Engineer) == engineer) {
				events = append(events, e)
			}
		}
	}
	slices.SortStableFunc(events, func(a, b broker.Event) int { return b.Time.Compare(a.Time) })
	return events, accounts, nil
}

// logPage is the access log page's data.
type logPage struct {
	Query    logQuery
	Accounts []Account
	Types    []broker.EventType
	Events   []broker.Event
	Since    time.Time
}

// TypeText is an event type as the page says it.
func (logPage) TypeText(t broker.EventType) string {
	if s, ok := eventTypeText[t]; ok {
		return s
	}
	return string(t)
}

// log is the access log page: the last 30 days of the tenant's accounts, filtered.
func (c *Console) log(w http.ResponseWriter, r *http.Request, s *session) {
	q, err := parseLogQuery(r)
	if err != nil {
		c.fail(w, r, s, http.StatusBadRequest, err.Error()+".")
		return
	}
	events, accounts, err := c.logRows(r, s, q)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	c.render(w, r, s, http.StatusOK, "log", "Access log", "log",
		logPage{Query: q, Accounts: accounts, Types: EventTypes, Events: events, Since: c.now().Add(-LogWindow)})
}

// CSVHeader is the first row of the CSV download: one column per field of an event a customer reads.
var CSVHeader = []string{"id", "time", "type", "action", "actor", "account", "engineer", "request_id", "ticket", "reason",
	"duration_seconds", "token_id", "token_expiry", "subject", "role_arn", "session_name", "access_key_last4", "session_expiry"}

// CSVRow is e as a row of the CSV download, in CSVHeader's order. A cell that a spreadsheet would
// read as a formula (it starts with =, +, -, @, a tab or a carriage return: text an engineer or a
// prober wrote, such as a justification) starts with an apostrophe.
func CSVRow(e broker.Event) []string {
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	duration := ""
	if e.DurationSeconds != 0 {
		duration = strconv.FormatInt(e.DurationSeconds, 10)
	}
	row := []string{e.ID, at(e.Time), string(e.Type), e.Action, e.Actor, e.Account, e.Engineer, e.RequestID, e.Ticket, e.Reason,
		duration, e.TokenID, at(e.TokenExpiry), e.Subject, e.RoleARN, e.SessionName, e.AccessKeyLast, at(e.SessionExpiry)}
	for i, cell := range row {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			row[i] = "'" + cell
		}
	}
	return row
}

// download answers the log's rows for q as a file named name.ext of contentType, written by write.
func (c *Console) download(w http.ResponseWriter, r *http.Request, s *session, ext, contentType string,
	write func(http.ResponseWriter, []broker.Event) error) {
	q, err := parseLogQuery(r)
	if err != nil {
		c.fail(w, r, s, http.StatusBadRequest, err.Error()+".")
		return
	}
	events, _, err := c.logRows(r, s, q)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="access-log-%s.%s"`, c.now().Format("2006-01-02"), ext))
	if err := write(w, events); err != nil {
		// the status line is out: log, and cut the file short
		c.cfg.Logger.ErrorContext(r.Context(), "writing the access log download", "principal", s.principal, "error", err)
	}
}

// logCSV is the log's rows as CSV (CSVHeader, CSVRow).
func (c *Console) logCSV(w http.ResponseWriter, r *http.Request, s *session) {
	c.download(w, r, s, "csv", "text/csv; charset=utf-8", func(w http.ResponseWriter, events []broker.Event) error {
		out := csv.NewWriter(w)
		_ = out.Write(CSVHeader)
		for _, e := range events {
			_ = out.Write(CSVRow(e))
		}
		out.Flush()
		return out.Error()
	})
}

// logJSONLines is the log's rows as JSON lines, each event as GET /v1/audit writes it.
func (c *Console) logJSONLines(w http.ResponseWriter, r *http.Request, s *session) {
	c.download(w, r, s, "jsonl", "application/x-ndjson", func(w http.ResponseWriter, events []broker.Event) error {
		enc := json.NewEncoder(w)
		for _, e := range events {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	})
}
