package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFiles embed.FS

// pageNames are the pages, each templates/<name>.html defining "content" inside templates/layout.html.
var pageNames = []string{"signin", "signedout", "error", "accounts", "requests", "request", "log", "configure", "organization"}

// pages are the parsed templates, by name.
type pages map[string]*template.Template

var funcs = template.FuncMap{
	// utc is the text of a time: UTC, to the minute. The markup puts iso in the datetime attribute.
	"utc": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	// zero reports whether a time is unset.
	"zero": func(t time.Time) bool { return t.IsZero() },
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	// seconds is a duration in seconds as people write it: 1h, 30m, 1h 30m.
	"seconds": func(s int64) string { return humanDuration(time.Duration(s) * time.Second) },
}

func loadPages() (pages, error) {
	p := pages{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parsing the %s page: %w", name, err)
		}
		p[name] = t
	}
	return p, nil
}

// view is what every page's template gets.
type view struct {
	Title  string
	Nav    string // which item of the navigation is the current page
	Vendor string
	Signed *signedIn // nil: nobody is signed in (or the page is not for them)
	Notice *notice
	Data   any // the page's own
}

// signedIn is the signed-in customer as the pages show them, and the forms' CSRF token.
type signedIn struct {
	Email, Tenant, CSRF string
}

// render writes page name with data, for session s (nil: none), with status. The page is rendered
// whole before anything is written, so a template error is a 500, never half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, status int, name, title, nav string, data any) {
	v := view{Title: title, Nav: nav, Vendor: c.cfg.Vendor.Name, Data: data}
	if s != nil {
		v.Signed = &signedIn{Email: s.email, Tenant: s.tenant, CSRF: s.csrf}
		v.Notice = c.sessions.takeNotice(s.id)
	}
	var b bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&b, "layout", v); err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "rendering a console page", "page", name, "error", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("internal error\n"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// errorPage is the error page's data.
type errorPage struct {
	Status  int
	Heading string
	Text    string
}

// headings are the error page's headings by status.
var headings = map[int]string{
	http.StatusBadRequest:          "That did not work",
	http.StatusUnauthorized:        "Not signed in",
	http.StatusForbidden:           "Not allowed",
	http.StatusNotFound:            "Not found",
	http.StatusConflict:            "That cannot be done now",
	http.StatusInternalServerError: "Something went wrong",
	http.StatusServiceUnavailable:  "Not available just now",
}

// fail answers with the error page: status, and text for the person who reads it.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, status int, text string) {
	heading, ok := headings[status]
	if !ok {
		heading = http.StatusText(status)
	}
	c.render(w, r, s, status, "error", heading, "", errorPage{Status: status, Heading: heading, Text: text})
}

// humanDuration writes d as people do: 1h, 30m, 1h 30m, 45s; whole seconds.
func humanDuration(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d <= 0 {
		return "0s"
	}
	var parts []string
	if days := d / (24 * time.Hour); days > 0 {
		parts = append(parts, fmt.Sprintf("%dd", days))
		d -= days * 24 * time.Hour
	}
	if h := d / time.Hour; h > 0 {
		parts = append(parts, fmt.Sprintf("%dh", h))
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		parts = append(parts, fmt.Sprintf("%dm", m))
		d -= m * time.Minute
	}
	if d > 0 && len(parts) < 2 {
		parts = append(parts, fmt.Sprintf("%ds", d/time.Second))
	}
	return strings.Join(parts, " ")
}
