package localop

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Login signs username in without a person at a browser and returns the tokens (the access token,
// and the ID token in Extra("id_token")): what a CLI or a test does against the local provider.
//
// It is the authorization-code flow with PKCE (S256), exactly as the web console runs it, with the
// program answering the sign-in form (the POST documented at loginPath) instead of a person, and
// reading the code from the redirect to the loopback redirect URI instead of listening there.
// zitadel's op package has no resource-owner password grant (the OAuth 2.0 Security BCP forbids
// it), and this keeps the CLI on the one flow the real providers support too.
//
// clientID is the provider's client (DefaultClientID unless configured); password is empty for a
// user without one.
func Login(ctx context.Context, issuer, clientID, username, password string) (*oauth2.Token, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	ctx = oidc.ClientContext(ctx, hc)
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("localop: discovering %s: %w", issuer, err)
	}
	conf := oauth2.Config{
		ClientID:    clientID,
		Endpoint:    p.Endpoint(),
		RedirectURL: DefaultRedirectURIs[0],
		Scopes:      []string{oidc.ScopeOpenID, "profile", "email"},
	}
	verifier, state := oauth2.GenerateVerifier(), rand.Text()

	// Follow redirects on the provider; stop at the redirect URI, which nothing needs to serve.
	browser := &http.Client{Timeout: hc.Timeout, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), conf.RedirectURL) {
			return http.ErrUseLastResponse
		}
		return nil
	}}

	// 1. The authorization request: the provider redirects to its sign-in form.
	resp, err := get(ctx, browser, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		return nil, err
	}
	id := resp.Request.URL.Query().Get("authRequestID")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != loginPath || id == "" {
		return nil, fmt.Errorf("localop: the authorization request ended at %s (%s), not at the sign-in form", resp.Request.URL.Redacted(), resp.Status)
	}

	// 2. The sign-in form: on success, redirects through the callback to the redirect URI with the code.
	form := url.Values{"authRequestID": {id}, "username": {username}, "password": {password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(issuer, "/")+loginPath, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = do(browser, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, fmt.Errorf("localop: %s could not sign in: unknown user or wrong password", username)
	}
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), conf.RedirectURL) {
		return nil, fmt.Errorf("localop: signing in answered %s, not a redirect to %s", resp.Status, conf.RedirectURL)
	}
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		return nil, fmt.Errorf("localop: the provider refused the sign-in: %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != state || q.Get("code") == "" {
		return nil, errors.New("localop: the redirect has no code, or another state")
	}

	// 3. The token request, with the PKCE verifier.
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("localop: exchanging the code: %w", err)
	}
	return tok, nil
}

func get(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return do(c, req)
}

// do sends req and drains and closes the body: Login needs only status, headers and final URL.
func do(c *http.Client, req *http.Request) (*http.Response, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("localop: %s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	return resp, nil
}
