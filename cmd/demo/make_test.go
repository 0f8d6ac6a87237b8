package main

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// make up stops everything it started when make alone gets SIGTERM, as a script's kill $! sends it
// (testdata/sigterm-make-up.sh says how it once failed).
func TestMakeUpStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs make up: not in -short")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is required (the README's requirements): %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "cmd/demo/testdata/sigterm-make-up.sh")
	cmd.Dir = "../.."
	cmd.Env = append(cmd.Environ(), "API_ADDR=127.0.0.1:28081", "OP_ADDR=127.0.0.1:29999")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}
