//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/test/docs"
)

// The addresses make up listens on by default, which the documents' commands name. The test's
// backend listens on free ports instead (make up may be running on this machine), and the commands
// are given its addresses in their place.
const (
	defaultIssuer = "http://127.0.0.1:9998"
	defaultAPI    = "http://127.0.0.1:8080"
)

// What the README says works, works: its quickstart, pasted into bash after the export block make up
// prints, exits 0 and prints what the README shows it printing; and so does every block the
// documents mark <!-- test: with make up -->, with supportctl on PATH as docs/README.md's
// conventions say. The backend is make up's (run -up), on free ports.
func TestDocsRunAgainstMakeUp(t *testing.T) {
	bash := lookPath(t, "bash")
	goTool := lookPath(t, "go")
	root, err := docs.Root()
	require.NoError(t, err)
	all, err := docs.ReadAll(root)
	require.NoError(t, err)
	quickstart, output := docs.Marked(all, docs.MarkQuickstart), docs.Marked(all, docs.MarkQuickstartOutput)
	require.Len(t, quickstart, 1, "README.md's quickstart: one sh block after <!-- quickstart -->")
	require.Len(t, output, 1, "what it prints: one text block after <!-- quickstart output -->")
	require.Contains(t, quickstart[0].Text, defaultIssuer, "the quickstart signs in at make up's provider")

	// what `go run` needs from the environment, kept while HOME moves to a directory of the test's
	goEnv := map[string]string{}
	out, err := exec.Command(goTool, "env", "-json", "GOENV", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(out, &goEnv))
	bin := t.TempDir()
	build := exec.Command(goTool, "build", "-o", bin+string(filepath.Separator), "./cmd/supportctl", "./cmd/supportd", "./cmd/localop")
	build.Dir = root
	out, err = build.CombinedOutput()
	require.NoError(t, err, "building the commands: %s", out)

	printed, stop := startUp(t)
	defer stop()
	issuer := submatch(t, `OpenID Provider \(sign-in\)\s+(\S+)`, printed)
	api := submatch(t, `(?m)^export SUPPORT_API_URL=(\S+)$`, printed)
	var exports []string
	for _, line := range strings.Split(printed, "\n") {
		if strings.HasPrefix(line, "export ") {
			exports = append(exports, line)
		}
	}
	require.NotEmpty(t, exports)
	moved := strings.NewReplacer(defaultIssuer, issuer, defaultAPI, api)

	// each person's token cache under a HOME of the test's; nothing of the caller's supportctl or
	// AWS settings (the export block sets what the commands need)
	env := []string{"HOME=" + t.TempDir()}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != "HOME" && name != "XDG_CONFIG_HOME" && !strings.HasPrefix(name, "SUPPORTCTL_") &&
			!strings.HasPrefix(name, "SUPPORT_") && !strings.HasPrefix(name, "AWS_") {
			env = append(env, kv)
		}
	}
	for name, value := range goEnv {
		env = append(env, name+"="+value)
	}

	t.Run("README quickstart", func(t *testing.T) {
		// from the repository's root, as the README says: its supportctl is go run ./cmd/supportctl
		got := runBash(t, bash, root, env, strings.Join(exports, "\n")+"\n"+moved.Replace(quickstart[0].Text))
		rest := got
		for _, line := range strings.Split(strings.TrimSpace(output[0].Text), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			loc := docs.Pattern(moved.Replace(line)).FindStringIndex(rest)
			if !assert.NotNil(t, loc, "%s: the quickstart did not print %q (after the lines before it); it printed:\n%s", output[0], line, got) {
				return
			}
			rest = rest[loc[1]:]
		}
	})
	for _, b := range docs.Marked(all, docs.MarkWithMakeUp) {
		t.Run(b.String(), func(t *testing.T) {
			// in a directory of the test's: supportctl issuer render -dir site writes there
			pathEnv := append(without(env, "PATH"), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			runBash(t, bash, t.TempDir(), pathEnv, strings.Join(exports, "\n")+"\n"+moved.Replace(b.Text))
		})
	}
}

// startUp runs make up's program (run -up) on free ports until the test ends, and returns what it
// printed once it was ready, and a stop that ends it and waits for it.
func startUp(t *testing.T) (printed string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-up", "-api-addr", "127.0.0.1:0", "-op-addr", "127.0.0.1:0"}, &out) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "make up's program")
		case <-time.After(time.Minute):
			t.Error("make up's program did not stop within a minute of the interrupt")
		}
	}
	deadline := time.After(3 * time.Minute)
	for !strings.Contains(out.String(), "Ctrl-C stops everything.") {
		select {
		case err := <-done:
			stopped = true
			cancel()
			t.Fatalf("make up's program ended before it was ready: %v\n%s", err, out.String())
		case <-deadline:
			stop()
			t.Fatalf("make up's program was not ready within 3 minutes:\n%s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return out.String(), stop
}

// runBash runs script with bash -euo pipefail in dir and returns what it printed, stdout and
// stderr together; it fails the test unless bash exits 0. Everything the script started is killed
// when it ends (its own process group), also on timeout.
func runBash(t *testing.T, bash, dir string, env []string, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "-euo", "pipefail", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if cmd.Process != nil {
		if kerr := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); kerr != nil && !errors.Is(kerr, syscall.ESRCH) {
			t.Errorf("stopping what the script started: %v", kerr)
		}
	}
	require.NoError(t, err, "the script:\n%s\nprinted:\n%s", script, out.String())
	return out.String()
}

func lookPath(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	require.NoError(t, err, "%s is required to run the documents' commands", tool)
	return p
}

func submatch(t *testing.T, pattern, s string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	require.Len(t, m, 2, "%s in:\n%s", pattern, s)
	return m[1]
}

// without is env without the variable name.
func without(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
