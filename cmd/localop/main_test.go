package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/auth"
)

// TestServeAndToken: serve a users file, get a user's access token as the CLI would, and verify
// it as the API would.
func TestServeAndToken(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users.yaml")
	require.NoError(t, os.WriteFile(users, []byte("users:\n  - username: alice\n    email: alice@doit.com\n    password: pw\n    groups: [doit-engineers]\n"), 0o600))

	ctx, cancel := context.WithCancel(t.Context())
	r, w := io.Pipe()
	served := make(chan error, 1)
	go func() { served <- run(ctx, []string{"serve", "-users", users, "-addr", "127.0.0.1:0"}, noEnv, w) }()
	lines := bufio.NewScanner(r)
	require.True(t, lines.Scan())
	issuer, ok := strings.CutPrefix(lines.Text(), "issuer ")
	require.True(t, ok, lines.Text())
	require.True(t, lines.Scan())
	assert.Equal(t, "client supportaccess-local", lines.Text())

	var out strings.Builder
	env := func(k string) string { return map[string]string{"LOCALOP_PASSWORD": "pw"}[k] }
	require.NoError(t, run(ctx, []string{"token", "-issuer", issuer, "-user", "alice"}, env, &out))
	v, err := auth.NewVerifier(ctx, auth.Config{Issuer: issuer, Audience: "supportaccess-local", EngineerGroup: "doit-engineers"})
	require.NoError(t, err)
	id, err := v.Verify(ctx, strings.TrimSpace(out.String()))
	require.NoError(t, err)
	assert.Equal(t, "alice@doit.com", id.Principal())

	err = run(ctx, []string{"token", "-issuer", issuer, "-user", "alice"}, noEnv, io.Discard)
	require.ErrorContains(t, err, "wrong password")

	cancel()
	require.NoError(t, <-served)
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"serve"}, {"token", "-user", "a"}, {"serve", "-bogus"}} {
		err := run(t.Context(), args, noEnv, io.Discard)
		require.Error(t, err, args)
		assert.Contains(t, err.Error(), "usage: localop", args)
	}
}

func noEnv(string) string { return "" }
