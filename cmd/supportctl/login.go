package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/auth/localop"
	"golang.org/x/oauth2"
)

// loginTimeout bounds how long login waits for the person at the browser.
const loginTimeout = 5 * time.Minute

// tokenEnv is where the token is cached.
var tokenEnv = envVar{"SUPPORTCTL_TOKEN_FILE", "where the token is cached (default $XDG_CONFIG_HOME/supportctl/token.json or ~/.config/supportctl/token.json)"}

func loginCommand() *command {
	return &command{
		name: "login", synopsis: "-issuer URL -client-id ID [-user U | -redirect URL]", section: people,
		summary: "sign in and cache the token the broker's commands send",
		about: `Signs in at the OpenID Provider (the vendor's Cognito user pool, or the local provider) and caches
the token for the broker's commands, mode 0600 in a directory of mode 0700. With -user, the local
provider (cmd/localop) signs U in without a browser, the password from SUPPORTCTL_PASSWORD.
Otherwise a browser signs in (authorization code with PKCE): supportctl prints the URL to open and
waits for the provider's redirect on the loopback -redirect URL (Cognito needs the exact URL
registered as a callback URL of its app client, e.g. http://localhost:8484/callback).`,
		env: []envVar{tokenEnv, {"SUPPORTCTL_PASSWORD", "with -user: the password (empty for a user without one); never a flag"}},
		examples: []string{"supportctl login -issuer https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123 -client-id 1example23456789",
			"SUPPORTCTL_PASSWORD=alice-local supportctl login -issuer http://127.0.0.1:9998 -client-id supportaccess-local -user alice"},
		flags: func(f *flagSet) action {
			issuer := f.text("issuer", "URL", "the OpenID Provider's issuer URL: https, or http on a loopback address", required, checkSecureURL)
			clientID := f.text("client-id", "ID", "the app client's ID", required, nil)
			user := f.text("user", "U", "sign in at the local provider as this user, without a browser", optional, nil)
			redirect := f.textDefault("redirect", "URL", defaultRedirect, "the loopback URL the browser is sent back to; port 0: any free one", checkRedirect)
			return func(ctx context.Context, x *invocation) error {
				return login(ctx, x, *issuer, *clientID, *user, *redirect)
			}
		},
	}
}

// defaultRedirect is where the browser comes back to: any free port on the loopback address.
const defaultRedirect = "http://127.0.0.1:0/callback"

// checkRedirect says why raw is not a loopback redirect URL: http://<loopback address>:<port>/<path>.
func checkRedirect(raw string) error {
	ru, err := url.Parse(raw)
	if err != nil || ru.Scheme != "http" || ru.Port() == "" || ru.RawQuery != "" || ru.Fragment != "" {
		return errors.New("want http://<loopback address>:<port>/<path>, e.g. " + defaultRedirect)
	}
	if !auth.IsLoopback(ru.Hostname()) {
		return errors.New("the host must be localhost or a loopback IP address")
	}
	return nil
}

// login signs in and caches the token.
func login(ctx context.Context, x *invocation, issuer, clientID, user, redirect string) error {
	path, err := tokenPath(x.getenv)
	if err != nil {
		return &usageError{err: fmt.Errorf("login: %w", err)}
	}
	var tok *oauth2.Token
	// never replace what is not a token cache (SUPPORTCTL_TOKEN_FILE=~/.aws/credentials)
	previous, err := readCache(path, os.Getuid(), false)
	if err != nil && !errors.Is(err, errNoCache) {
		return fmt.Errorf("login: %w", err)
	}
	if user != "" {
		password := x.getenv("SUPPORTCTL_PASSWORD")
		tok, err = localop.Login(ctx, issuer, clientID, user, password)
		if err != nil && password == "" {
			err = fmt.Errorf("%w (SUPPORTCTL_PASSWORD is empty: it holds the password of -user %s)", err, user)
		}
	} else {
		tok, err = browserLogin(ctx, issuer, clientID, redirect, x.out)
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
	if err := saveToken(path, cachedToken{Issuer: issuer, ClientID: clientID, Token: bearer, Expiry: tok.Expiry}); err != nil {
		return err
	}
	until, who := "", ""
	if !tok.Expiry.IsZero() {
		until = " until " + tok.Expiry.UTC().Format(time.RFC3339)
	}
	if e := tokenEmail(bearer); e != "" {
		who = " as " + e
	}
	if was := tokenEmail(previous.Token); was != "" && who != " as "+was {
		// one cache holds one person: say whose token went (two people on one machine: one
		// SUPPORTCTL_TOKEN_FILE each)
		x.note("replaced the token of %s in %s (keep one SUPPORTCTL_TOKEN_FILE per person)", was, path)
	}
	_, err = fmt.Fprintf(x.out, "signed in%s at %s%s; token cached in %s\n", who, issuer, until, path)
	return err
}

func logoutCommand() *command {
	return &command{
		name: "logout", section: people,
		summary:  "remove the cached token",
		env:      []envVar{tokenEnv},
		examples: []string{"supportctl logout"},
		flags: func(f *flagSet) action {
			return func(ctx context.Context, x *invocation) error {
				path, err := tokenPath(x.getenv)
				if err != nil {
					return &usageError{err: fmt.Errorf("logout: %w", err)}
				}
				t, err := removeToken(path)
				if errors.Is(err, errNoCache) {
					_, err = fmt.Fprintln(x.out, "not signed in: no token cached in", path)
					return err
				}
				if err != nil {
					return err
				}
				who := ""
				if e := tokenEmail(t.Token); e != "" {
					who = " " + e
				}
				_, err = fmt.Fprintf(x.out, "signed out%s: removed %s\n", who, path)
				return err
			}
		},
	}
}

// browserLogin is the authorization-code flow with PKCE for a native app (RFC 8252): it listens
// on a loopback redirect URL, prints the authorization URL for the user to open, and exchanges the
// code the provider sends back, checking the state.
func browserLogin(ctx context.Context, issuer, clientID, redirect string, out io.Writer) (*oauth2.Token, error) {
	if err := checkRedirect(redirect); err != nil {
		return nil, fmt.Errorf("-redirect %s: %w", shown(redirect), err)
	}
	ru, _ := url.Parse(redirect)
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
