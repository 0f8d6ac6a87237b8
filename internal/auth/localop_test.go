package auth_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/auth/localop"
)

// startLocalOP serves the local OpenID Provider with one user per role.
func startLocalOP(t *testing.T) *localop.Server {
	t.Helper()
	s, err := localop.Start(localop.Config{Users: []localop.User{
		{Username: "Alice", Email: "Alice@DoiT.com", Password: "pw", Groups: []string{testEngineer}},
		{Username: "bob", Email: "bob@acme.example", Password: "pw", Groups: []string{"tenant:acme"}},
		{Username: "carol", Email: "carol@doit.com", Password: "pw", Groups: []string{"tenant:acme", testEngineer}},
		{Username: "dave", Email: "dave@example.com", Password: "pw"},
		{Username: "erin", Password: "pw", Groups: []string{"tenant:acme", "tenant:globex"}},
	}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// localVerifier is a Verifier for the provider as a deployment would configure it: issuer and
// client only; the keys come through discovery.
func localVerifier(t *testing.T, s *localop.Server, mutate ...func(*auth.Config)) *auth.Verifier {
	t.Helper()
	cfg := auth.Config{Issuer: s.Issuer(), Audience: s.ClientID(), EngineerGroup: testEngineer, Logger: testLogger(t)}
	for _, m := range mutate {
		m(&cfg)
	}
	v, err := auth.NewVerifier(t.Context(), cfg)
	require.NoError(t, err)
	return v
}

// TestLocalOPTokens: the local provider's access and ID tokens, signed in through the
// authorization-code flow with PKCE, to a principal or a refusal.
func TestLocalOPTokens(t *testing.T) {
	s := startLocalOP(t)
	v := localVerifier(t, s)
	cases := map[string]struct {
		principal string
		reason    auth.Reason
	}{
		"Alice": {principal: "alice@doit.com"},
		"bob":   {principal: "tenant:acme/bob@acme.example"},
		"carol": {principal: "carol@doit.com"}, // both roles: an engineer only
		"dave":  {reason: auth.NoRole},
		"erin":  {reason: auth.TenantAmbiguous},
	}
	for user, tc := range cases {
		tok, err := localop.Login(t.Context(), s.Issuer(), s.ClientID(), user, "pw")
		require.NoError(t, err)
		for kind, raw := range map[string]string{"access": tok.AccessToken, "id": tok.Extra("id_token").(string)} {
			t.Run(user+"/"+kind, func(t *testing.T) {
				id, err := v.Verify(t.Context(), raw)
				if tc.reason != "" {
					requireReason(t, tc.reason, err)
					assert.Equal(t, 403, err.(*auth.Error).Status())
					return
				}
				require.NoError(t, err)
				assert.Equal(t, tc.principal, id.Principal())
				assert.Equal(t, s.Issuer(), id.Issuer)
				assert.Equal(t, user, id.Subject)
				assert.Equal(t, user, id.Username)
				assert.Equal(t, tc.principal != "tenant:acme/bob@acme.example", id.Engineer)
			})
		}
	}
}

// TestLocalOPRefusals: the local provider's tokens refused for time, client and issuer.
func TestLocalOPRefusals(t *testing.T) {
	s := startLocalOP(t)
	tok, err := localop.Login(t.Context(), s.Issuer(), s.ClientID(), "Alice", "pw")
	require.NoError(t, err)

	later := localVerifier(t, s, func(c *auth.Config) { c.Now = func() time.Time { return time.Now().Add(localop.DefaultLifetime) } })
	_, err = later.Verify(t.Context(), tok.AccessToken)
	requireReason(t, auth.Expired, err)

	otherClient := localVerifier(t, s, func(c *auth.Config) { c.Audience = "another-client" })
	_, err = otherClient.Verify(t.Context(), tok.AccessToken)
	requireReason(t, auth.Audience, err)

	// Another run of the provider: another issuer (port) and another key.
	other := startLocalOP(t)
	otherVerifier := localVerifier(t, other)
	_, err = otherVerifier.Verify(t.Context(), tok.AccessToken)
	requireReason(t, auth.Issuer, err)
	// Its keys (other key IDs) do not verify this run's tokens, even under this run's issuer.
	_, err = localVerifier(t, s, func(c *auth.Config) { c.JWKSURL = otherVerifier.JWKSURL() }).Verify(t.Context(), tok.AccessToken)
	requireReason(t, auth.UnknownKey, err)

	_, err = localVerifier(t, s).Verify(t.Context(), flipSignatureByte(t, tok.AccessToken))
	requireReason(t, auth.Signature, err)
}
