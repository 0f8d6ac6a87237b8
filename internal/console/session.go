package console

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// Bounds of what the sessions hold in memory. Anyone can start a sign-in, so pending ones are few
// and short-lived; past a bound the entry closest to its end is dropped (that person signs in
// again).
const (
	maxSessions     = 10000
	maxPending      = 1000
	pendingLifetime = 10 * time.Minute
)

// session is one signed-in customer.
type session struct {
	id        string
	principal string // tenant:<tenant>/<email>, as the broker knows the person
	tenant    string
	email     string
	csrf      string // the forms' token: 256 random bits, made with the session
	expires   time.Time
	notice    *notice // shown once, on the next page
}

// notice is a line for the next page: what an action did, or why it was refused.
type notice struct {
	Error bool
	Text  string
}

// pendingSignIn is a sign-in between /console/signin and /console/callback, under its state.
type pendingSignIn struct {
	verifier string // PKCE
	nonce    string
	next     string // the page to return to
	expires  time.Time
}

// sessions holds the signed-in customers and the sign-ins in progress, in memory (doc.go says why).
type sessions struct {
	mu      sync.Mutex
	byID    map[string]*session
	pending map[string]*pendingSignIn // by state
}

func newSessions() *sessions {
	return &sessions{byID: map[string]*session{}, pending: map[string]*pendingSignIn{}}
}

// randomToken is 256 random bits, base64url: a session ID, a CSRF token, a state, a nonce.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// start stores a new session for s (its ID and CSRF token made here) and returns a copy.
func (ss *sessions) start(s session, now time.Time) session {
	s.id, s.csrf = randomToken(), randomToken()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	evict(ss.byID, now, maxSessions, func(s *session) time.Time { return s.expires })
	ss.byID[s.id] = &s
	return s
}

// get returns a copy of the live session id, if there is one.
func (ss *sessions) get(id string, now time.Time) (session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byID[id]
	if !ok {
		return session{}, false
	}
	if !now.Before(s.expires) {
		delete(ss.byID, id)
		return session{}, false
	}
	return *s, true
}

// end forgets session id.
func (ss *sessions) end(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, id)
}

// tell leaves n for session id's next page.
func (ss *sessions) tell(id string, n notice) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s, ok := ss.byID[id]; ok {
		s.notice = &n
	}
}

// takeNotice returns session id's notice, if any, and forgets it.
func (ss *sessions) takeNotice(id string) *notice {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byID[id]
	if !ok {
		return nil
	}
	n := s.notice
	s.notice = nil
	return n
}

// begin stores a sign-in in progress and returns its state.
func (ss *sessions) begin(p pendingSignIn, now time.Time) string {
	state := randomToken()
	p.expires = now.Add(pendingLifetime)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	evict(ss.pending, now, maxPending, func(p *pendingSignIn) time.Time { return p.expires })
	ss.pending[state] = &p
	return state
}

// finish takes the sign-in in progress under state, if it has not expired: once only.
func (ss *sessions) finish(state string, now time.Time) (pendingSignIn, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	p, ok := ss.pending[state]
	delete(ss.pending, state)
	if !ok || !now.Before(p.expires) {
		return pendingSignIn{}, false
	}
	return *p, true
}

// evict makes room for one more entry in m: it drops those expired by now and, if m is still
// full, the one that would expire first.
func evict[V any](m map[string]V, now time.Time, limit int, expires func(V) time.Time) {
	if len(m) < limit {
		return
	}
	var first string
	var firstAt time.Time
	for k, v := range m {
		at := expires(v)
		if !now.Before(at) {
			delete(m, k)
			continue
		}
		if first == "" || at.Before(firstAt) {
			first, firstAt = k, at
		}
	}
	if len(m) >= limit {
		delete(m, first)
	}
}

// Cookies: the session's, and the one that binds a sign-in in progress to the browser that
// started it. Served over https they are __Host- cookies (Secure, Path=/, no Domain: no other
// host, a sibling subdomain included, can set them); over http on a loopback address they cannot
// be Secure, and are scoped to Prefix instead.
const (
	sessionCookie = "console-session"
	signInCookie  = "console-signin"
)

// cookie is the named cookie as the console sets it, with value, for maxAge seconds (0: the
// browser's session; negative: delete it).
func (c *Console) cookie(name, value string, maxAge int) *http.Cookie {
	k := &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if c.secure {
		k.Name, k.Path, k.Secure = "__Host-"+name, "/", true
	}
	return k
}

// cookieValue is the value of the named cookie (as cookie names it) on r, or "".
func (c *Console) cookieValue(r *http.Request, name string) string {
	k, err := r.Cookie(c.cookie(name, "", 0).Name)
	if err != nil {
		return ""
	}
	return k.Value
}

// session is r's live session, if it has one.
func (c *Console) session(r *http.Request) (*session, bool) {
	id := c.cookieValue(r, sessionCookie)
	if id == "" {
		return nil, false
	}
	s, ok := c.sessions.get(id, c.now())
	if !ok {
		return nil, false
	}
	return &s, true
}
