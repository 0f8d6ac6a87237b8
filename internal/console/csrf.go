package console

import (
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/broker"
)

// maxFormBytes bounds a form's body: a reason of at most broker.MaxJustificationLength characters
// and a token, with room to spare.
const maxFormBytes = 16 << 10

// csrfField is the hidden field every form carries the session's CSRF token in.
const csrfField = "csrf"

// forgeryReason is what a refused form is told, and what the audit records.
const forgeryReason = "refused: the form did not come from this console's page in this session (its anti-forgery token is " +
	"missing or wrong, or another site sent it); nothing was changed"

// auditTimeout bounds the audit write of a refused form.
const auditTimeout = 10 * time.Second

// form wraps a state change, action: it runs only for a signed-in customer whose form carries the
// session's CSRF token and comes from the console itself. A request without a live session is
// refused (403) and logged; one with a session but without the token, with another, or from
// another origin, is refused (403), logged and audited under the session's principal.
func (c *Console) form(action string, h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		s, ok := c.session(r)
		if !ok {
			c.cfg.Logger.WarnContext(r.Context(), "console form refused", "action", action, "reason", "no session")
			c.fail(w, r, nil, http.StatusForbidden, "Your session has ended, so nothing was changed. Sign in again, and then try once more.")
			return
		}
		if why := c.forged(r, s); why != "" {
			c.refuseForgery(r, s, action, why)
			c.fail(w, r, s, http.StatusForbidden, "This form was "+forgeryReason+". Reload the page and try again.")
			return
		}
		h(w, r, s)
	}
}

// forged says why r is not a form of this console's page in session s, or "".
func (c *Console) forged(r *http.Request, s *session) string {
	// what a browser says of where the request comes from: absent from other clients, which the
	// token alone admits
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return "Sec-Fetch-Site " + auth.Clip(site, 64)
	}
	if origin := r.Header.Get("Origin"); origin != "" && origin != c.origin {
		return "Origin " + auth.Clip(origin, 128)
	}
	if err := r.ParseForm(); err != nil {
		return "the form does not parse"
	}
	token := r.PostForm.Get(csrfField)
	switch {
	case token == "":
		return "no CSRF token"
	case len(r.PostForm[csrfField]) > 1:
		return "the CSRF token is given more than once"
	case subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) != 1:
		return "a CSRF token that is not this session's"
	}
	return ""
}

// refuseForgery logs and audits a refused form: a REFUSED event of action "console <action>" by
// the session's principal, filed under that principal (never under an account: the request it
// names may be anyone's), the request it named if it has the broker's shape.
func (c *Console) refuseForgery(r *http.Request, s *session, action, why string) {
	c.cfg.Logger.WarnContext(r.Context(), "console form refused", "action", action, "principal", s.principal, "reason", why)
	e := broker.Event{Type: broker.EventRefused, Action: "console " + action, Actor: s.principal, Tenant: s.tenant,
		Reason: forgeryReason, Detail: why}
	if id := r.PathValue("id"); broker.ValidRequestID(id) {
		e.RequestID = id
	}
	c.audit(r, e)
}
