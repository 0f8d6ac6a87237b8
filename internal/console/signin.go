package console

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/supportaccess/gateway/internal/auth"
)

// signInTimeout bounds the calls to the OpenID Provider of one sign-in step.
const signInTimeout = 15 * time.Second

// provider is the OpenID Provider's endpoints, read from its discovery document at the first
// sign-in and kept (a failure is not kept: the next sign-in asks again).
type provider struct {
	issuer string
	client *http.Client

	mu       sync.Mutex
	endpoint *oauth2.Endpoint
}

func (p *provider) get(ctx context.Context) (oauth2.Endpoint, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.endpoint != nil {
		return *p.endpoint, nil
	}
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, p.client), p.issuer)
	if err != nil {
		return oauth2.Endpoint{}, fmt.Errorf("discovering %s: %w", p.issuer, err)
	}
	e := op.Endpoint()
	for name, u := range map[string]string{"authorization_endpoint": e.AuthURL, "token_endpoint": e.TokenURL} {
		if err := auth.CheckURL("the discovery document's "+name, u); err != nil {
			return oauth2.Endpoint{}, fmt.Errorf("%s: %w", p.issuer, err)
		}
	}
	e.AuthStyle = oauth2.AuthStyleInParams // a public client: its ID in the form, no secret
	p.endpoint = &e
	return e, nil
}

// oauth is the client's configuration for endpoint.
func (c *Console) oauth(endpoint oauth2.Endpoint) oauth2.Config {
	return oauth2.Config{ClientID: c.cfg.ClientID, Endpoint: endpoint, RedirectURL: c.base.String() + "callback",
		Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
}

// signIn starts the authorization-code flow: the state, PKCE verifier and nonce stay here, the
// state also in a cookie of this browser, and the browser goes to the provider.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), signInTimeout)
	defer cancel()
	endpoint, err := c.provider.get(ctx)
	if err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "console sign-in: the OpenID Provider does not answer", "error", err)
		c.fail(w, r, nil, http.StatusServiceUnavailable, "The sign-in service does not answer just now. Try again in a minute.")
		return
	}
	p := pendingSignIn{verifier: oauth2.GenerateVerifier(), nonce: randomToken(), next: returnPath(r.URL.Query().Get("next"))}
	state := c.sessions.begin(p, c.now())
	http.SetCookie(w, c.cookie(signInCookie, state, int(pendingLifetime/time.Second)))
	conf := c.oauth(endpoint)
	http.Redirect(w, r, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(p.verifier), oidc.Nonce(p.nonce)), http.StatusSeeOther)
}

// returnPath is next if it is a page of the console (a path below Prefix, nothing that leaves
// it), else the accounts page.
func returnPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || strings.ContainsAny(next, "\\\r\n\t") ||
		!strings.HasPrefix(u.Path, Prefix) || path.Clean(u.Path) != strings.TrimSuffix(u.Path, "/") {
		return Prefix + "accounts"
	}
	return u.RequestURI()
}

// callback completes a sign-in started in this browser: the code is exchanged with the PKCE
// verifier, the ID token verified as the API verifies tokens, its nonce checked; a customer gets
// a new session, anyone else a page that says why not.
func (c *Console) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	bound := c.cookieValue(r, signInCookie)
	http.SetCookie(w, c.cookie(signInCookie, "", -1))
	if state == "" || bound == "" || subtle.ConstantTimeCompare([]byte(state), []byte(bound)) != 1 {
		c.cfg.Logger.WarnContext(r.Context(), "console sign-in refused", "reason", "the state is not this browser's")
		c.fail(w, r, nil, http.StatusBadRequest, "This sign-in was not started in this browser, or has expired. Sign in again.")
		return
	}
	p, ok := c.sessions.finish(state, c.now())
	if !ok {
		c.fail(w, r, nil, http.StatusBadRequest, "This sign-in has expired, or was already completed. Sign in again.")
		return
	}
	if e := q.Get("error"); e != "" {
		c.cfg.Logger.WarnContext(r.Context(), "console sign-in refused by the provider", "error", auth.Clip(e, auth.MaxDetailBytes),
			"description", auth.Clip(q.Get("error_description"), auth.MaxDetailBytes))
		c.fail(w, r, nil, http.StatusUnauthorized, "The sign-in service did not sign you in ("+auth.Clip(e, 64)+"). Sign in again.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), signInTimeout)
	defer cancel()
	endpoint, err := c.provider.get(ctx)
	if err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "console sign-in: the OpenID Provider does not answer", "error", err)
		c.fail(w, r, nil, http.StatusServiceUnavailable, "The sign-in service does not answer just now. Try again in a minute.")
		return
	}
	conf := c.oauth(endpoint)
	tok, err := conf.Exchange(oidc.ClientContext(ctx, c.cfg.HTTPClient), q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		c.cfg.Logger.WarnContext(r.Context(), "console sign-in: exchanging the code failed", "error", err)
		c.fail(w, r, nil, http.StatusUnauthorized, "The sign-in could not be completed. Sign in again.")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	id, exp, err := c.verify(ctx, raw, p.nonce)
	if err != nil {
		status, text := http.StatusUnauthorized, "The sign-in could not be verified. Sign in again."
		var aerr *auth.Error
		if errors.As(err, &aerr) {
			status = aerr.Reason.Status()
			if status == http.StatusForbidden {
				text = "You are signed in, but your account has no role in the support console: it is not in a group of your organization. Ask your administrator."
			}
		}
		c.cfg.Logger.WarnContext(r.Context(), "console sign-in refused", "status", status, "error", err)
		c.fail(w, r, nil, status, text)
		return
	}
	if id.Engineer || id.Tenant == "" {
		c.cfg.Logger.WarnContext(r.Context(), "console sign-in refused", "status", http.StatusForbidden,
			"principal", id.Principal(), "reason", "not a customer")
		c.fail(w, r, nil, http.StatusForbidden, fmt.Sprintf("This console is for %s's customers, who decide on access to their accounts. "+
			"You are signed in as %s, an engineer: request access with supportctl (supportctl broker request), and a person of the customer approves it here.",
			c.cfg.Vendor.Name, id.Principal()))
		return
	}
	if old := c.cookieValue(r, sessionCookie); old != "" {
		c.sessions.end(old)
	}
	now := c.now()
	expires := now.Add(MaxSessionLifetime)
	if exp.Before(expires) {
		expires = exp
	}
	s := c.sessions.start(session{principal: id.Principal(), tenant: id.Tenant, email: strings.ToLower(id.Email), expires: expires}, now)
	http.SetCookie(w, c.cookie(sessionCookie, s.id, 0))
	c.cfg.Logger.InfoContext(r.Context(), "console sign-in", "principal", s.principal, "expires", expires.Format(time.RFC3339))
	http.Redirect(w, r, p.next, http.StatusSeeOther)
}

// verify checks raw, an ID token, with the API's verifier and then its nonce (the verifier knows
// no nonce: the API's tokens have none), and returns the caller and the token's expiry.
func (c *Console) verify(ctx context.Context, raw, nonce string) (auth.Identity, time.Time, error) {
	if raw == "" {
		return auth.Identity{}, time.Time{}, errors.New("the token response has no ID token")
	}
	id, err := c.cfg.Verifier.Verify(ctx, raw)
	if err != nil {
		return auth.Identity{}, time.Time{}, err
	}
	// the payload verified: read its nonce and exp by their exact names (the verifier refused a
	// payload that has a name twice, or in two cases)
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return auth.Identity{}, time.Time{}, fmt.Errorf("the ID token's payload: %w", err)
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		return auth.Identity{}, time.Time{}, fmt.Errorf("the ID token's payload: %w", err)
	}
	var got string
	var exp float64
	if json.Unmarshal(claims["nonce"], &got) != nil || subtle.ConstantTimeCompare([]byte(got), []byte(nonce)) != 1 {
		return auth.Identity{}, time.Time{}, errors.New("the ID token's nonce is not this sign-in's")
	}
	if err := json.Unmarshal(claims["exp"], &exp); err != nil {
		return auth.Identity{}, time.Time{}, fmt.Errorf("the ID token's exp: %w", err)
	}
	return id, time.Unix(int64(exp), 0).UTC(), nil
}

// signOut ends the session here. The provider's own session, if it keeps one, is the provider's:
// the page says so.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.end(s.id)
	http.SetCookie(w, c.cookie(sessionCookie, "", -1))
	c.cfg.Logger.InfoContext(r.Context(), "console sign-out", "principal", s.principal)
	http.Redirect(w, r, Prefix+"signedout", http.StatusSeeOther) // post/redirect/get: a reload asks nothing again
}
