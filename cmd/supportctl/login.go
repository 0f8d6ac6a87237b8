package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/auth/localop"
	"golang.org/x/oauth2"
)

const loginUsage = `usage: supportctl login -issuer URL -client-id ID [-user U | -redirect URL]

Signs in at the OpenID Provider (the vendor's Cognito user pool, or the local provider) and caches
the token for the broker commands in SUPPORTCTL_TOKEN_FILE (default
$XDG_CONFIG_HOME/supportctl/token.json or ~/.config/supportctl/token.json), mode 0600.

  -user U        the local provider (cmd/localop): sign U in without a browser, the password from
                 SUPPORTCTL_PASSWORD (empty for a user without one)
  -redirect URL  otherwise a browser signs in (authorization code with PKCE): supportctl prints the
                 URL to open and waits for the provider's redirect on this loopback URL (default
                 http://127.0.0.1:0/callback, any free port; Cognito needs the exact URL registered
                 as a callback URL of its app client, e.g. http://localhost:8484/callback)

supportctl logout removes the cached token.`

// loginTimeout bounds how long login waits for the person at the browser.
const loginTimeout = 5 * time.Minute

// runLogin runs "supportctl login".
func runLogin(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	flags := flag.NewFlagSet("login", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	issuer := flags.String("issuer", "", "the OpenID Provider's issuer URL")
	clientID := flags.String("client-id", "", "the app client's ID")
	user := flags.String("user", "", "sign in at the local provider as this user")
	redirect := flags.String("redirect", "http://127.0.0.1:0/callback", "the loopback redirect URL")
	if err := flags.Parse(args); err != nil {
		return fmt.Errorf("login: %w\n%s", err, loginUsage)
	}
	if *issuer == "" || *clientID == "" || flags.NArg() > 0 {
		return errors.New(loginUsage)
	}
	if err := secureURL("-issuer", *issuer); err != nil {
		return err
	}
	path, err := tokenPath(getenv)
	if err != nil {
		return err
	}
	var tok *oauth2.Token
	if *user != "" {
		tok, err = localop.Login(ctx, *issuer, *clientID, *user, getenv("SUPPORTCTL_PASSWORD"))
	} else {
		tok, err = browserLogin(ctx, *issuer, *clientID, *redirect, out)
	}
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	bearer, _ := tok.Extra("id_token").(string)
	if bearer == "" {
		bearer = tok.AccessToken
	}
	if bearer == "" {
		return errors.New("login: the provider gave no token")
	}
	if err := saveToken(path, cachedToken{Issuer: *issuer, ClientID: *clientID, Token: bearer, Expiry: tok.Expiry}); err != nil {
		return err
	}
	until := ""
	if !tok.Expiry.IsZero() {
		until = " until " + tok.Expiry.UTC().Format(time.RFC3339)
	}
	_, err = fmt.Fprintf(out, "signed in at %s%s; token cached in %s\n", *issuer, until, path)
	return err
}

// runLogout runs "supportctl logout".
func runLogout(args []string, getenv func(string) string, out io.Writer) error {
	if len(args) > 0 {
		return errors.New("usage: supportctl logout")
	}
	path, err := tokenPath(getenv)
	if err != nil {
		return err
	}
	if err := removeToken(path); err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, "signed out: removed", path)
	return err
}

// browserLogin is the authorization-code flow with PKCE for a native app (RFC 8252): it listens
// on a loopback redirect URL, prints the authorization URL for the user to open, and exchanges the
// code the provider sends back, checking the state.
func browserLogin(ctx context.Context, issuer, clientID, redirect string, out io.Writer) (*oauth2.Token, error) {
	ru, err := url.Parse(redirect)
	if err != nil || ru.Scheme != "http" || ru.Port() == "" || ru.RawQuery != "" || ru.Fragment != "" {
		return nil, fmt.Errorf("-redirect %q: want http://<loopback address>:<port>/<path>", redirect)
	}
	if !auth.IsLoopback(ru.Hostname()) {
		return nil, fmt.Errorf("-redirect %q: the host must be localhost or a loopback IP address", redirect)
	}
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	ctx = oidc.ClientContext(ctx, &http.Client{Timeout: 30 * time.Second})
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("discovering %s: %w", issuer, err)
	}
	ln, err := net.Listen("tcp", ru.Host)
	if err != nil {
		return nil, fmt.Errorf("listening for the redirect: %w", err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ru.Host = net.JoinHostPort(ru.Hostname(), port) // port 0 became a real one
	if ru.Path == "" {
		ru.Path = "/"
	}
	conf := oauth2.Config{ClientID: clientID, Endpoint: p.Endpoint(), RedirectURL: ru.String(),
		Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
	verifier, state := oauth2.GenerateVerifier(), rand.Text()

	type result struct {
		code string
		err  error
	}
	got := make(chan result, 1)
	mux := http.NewServeMux()
	mux.HandleFunc(ru.Path, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var res result
		switch {
		case q.Get("state") != state:
			http.Error(w, "this is not the sign-in supportctl started", http.StatusBadRequest)
			return // not ours: keep waiting
		case q.Get("error") != "":
			res.err = fmt.Errorf("the provider refused the sign-in: %s: %s", q.Get("error"), q.Get("error_description"))
		case q.Get("code") == "":
			res.err = errors.New("the provider's redirect has no code")
		default:
			res.code = q.Get("code")
		}
		msg := "Signed in: you can close this window and return to supportctl."
		if res.err != nil {
			msg = "Sign-in failed: " + res.err.Error()
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprintf(w, "<!doctype html><title>supportctl</title><p>%s</p>\n", html.EscapeString(msg))
		select {
		case got <- res:
		default:
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
	if _, err := fmt.Fprintf(out, "Open this URL in a browser to sign in:\n\n  %s\n\nwaiting for the sign-in (at most %s)…\n", authURL, loginTimeout); err != nil {
		return nil, err
	}
	var res result
	select {
	case res = <-got:
	case <-ctx.Done():
		return nil, fmt.Errorf("no sign-in within %s: %w", loginTimeout, ctx.Err())
	}
	if res.err != nil {
		return nil, res.err
	}
	tok, err := conf.Exchange(ctx, res.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("exchanging the code: %w", err)
	}
	return tok, nil
}
