package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/supportaccess/gateway/internal/auth/localop"
)

// person is someone signed in at the OpenID Provider, calling the backend's API with their token:
// what supportctl login and supportctl broker do.
type person struct {
	user, email, api, token string
	http                    *http.Client
}

// signIn signs user in at the local provider (authorization code with PKCE, the program answering
// the sign-in form) and keeps the ID token, as supportctl login -user does.
func signIn(ctx context.Context, v *vendor, user string) (*person, error) {
	u := v.user(user)
	tok, err := localop.Login(ctx, v.op.Issuer(), v.op.ClientID(), user, u.Password)
	if err != nil {
		return nil, fmt.Errorf("signing %s in: %w", user, err)
	}
	id, _ := tok.Extra("id_token").(string)
	if id == "" {
		return nil, fmt.Errorf("signing %s in: the provider gave no ID token", user)
	}
	return &person{user: user, email: u.Email, api: v.apiURL, token: id, http: &http.Client{Timeout: 40 * time.Second}}, nil
}

// refusal is the API's answer when it is not 2xx: the status and the server's reason.
type refusal struct {
	status int
	reason string
}

func (r *refusal) Error() string {
	return fmt.Sprintf("%d %s: %s", r.status, http.StatusText(r.status), r.reason)
}

// call sends body (nil: none) as JSON to the API and decodes a 2xx answer into out (nil: ignored);
// any other answer is a *refusal.
func (p *person) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.api+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(raw))
		}
		return &refusal{status: resp.StatusCode, reason: e.Error}
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = raw
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: the answer %q: %w", method, path, raw, err)
	}
	return nil
}
