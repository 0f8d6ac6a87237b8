package lambdaruntime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/test/lambdaruntime"
)

const invokeTimeout = 10 * time.Second

// TestRuntime builds testdata/echo once, the way a Lambda is built for
// provided.al2023 (but for this machine's architecture), and runs it in each subtest.
func TestRuntime(t *testing.T) {
	bin := buildEcho(t)

	t.Run("echoes the event and measures the function", func(t *testing.T) {
		t.Parallel()
		r := start(t, lambdaruntime.Config{Binary: bin})

		inv, err := r.Invoke(context.Background(), []byte(`{"hello":"world"}`), invokeTimeout)
		require.NoError(t, err)
		assert.Nil(t, inv.Error)
		assert.JSONEq(t, `{"hello":"world"}`, string(inv.Response))
		assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, inv.RequestID)
		assert.Positive(t, inv.Duration)
		assert.Positive(t, r.ColdStart())
		rss, err := r.PeakRSS()
		require.NoError(t, err)
		assert.Greater(t, rss, int64(1<<20), "a Go binary uses more than 1 MiB")
		t.Logf("cold start %v, first invocation %v, peak RSS %.1f MiB", r.ColdStart(), inv.Duration, float64(rss)/(1<<20))

		require.NoError(t, r.Close()) // the output is complete once the process has exited
		assert.Contains(t, r.Logs(), "echo: init done, region us-east-1")
		assert.Contains(t, r.Logs(), "echo: request "+inv.RequestID+", 17 bytes, function "+r.FunctionARN())
		rssAfterExit, err := r.PeakRSS()
		require.NoError(t, err)
		assert.GreaterOrEqual(t, rssAfterExit, int64(1<<20), "from wait4 once /proc/<pid> is gone")
	})

	t.Run("runs the function with Lambda's environment, not the test's", func(t *testing.T) {
		t.Parallel()
		r := start(t, lambdaruntime.Config{Binary: bin, Env: []string{"AWS_LAMBDA_FUNCTION_NAME=hook", "TABLE=registry"}})

		inv, err := r.Invoke(context.Background(), []byte(`{"env":true}`), invokeTimeout)
		require.NoError(t, err)
		require.Nil(t, inv.Error)
		var list []string
		require.NoError(t, json.Unmarshal(inv.Response, &list))
		env := map[string]string{}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		assert.Equal(t, "hook", env["AWS_LAMBDA_FUNCTION_NAME"])
		assert.Equal(t, "registry", env["TABLE"])
		assert.Equal(t, "$LATEST", env["AWS_LAMBDA_FUNCTION_VERSION"])
		assert.Equal(t, "128", env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
		assert.Equal(t, "/aws/lambda/hook", env["AWS_LAMBDA_LOG_GROUP_NAME"])
		assert.NotEmpty(t, env["AWS_LAMBDA_LOG_STREAM_NAME"])
		assert.Equal(t, "bootstrap", env["_HANDLER"])
		assert.Equal(t, "us-east-1", env["AWS_REGION"])
		assert.Equal(t, "us-east-1", env["AWS_DEFAULT_REGION"])
		assert.Regexp(t, `^127\.0\.0\.1:\d+$`, env["AWS_LAMBDA_RUNTIME_API"])
		assert.Equal(t, "/usr/local/bin:/usr/bin/:/bin:/opt/bin", env["PATH"])
		assert.NotEmpty(t, env["_X_AMZN_TRACE_ID"], "aws-lambda-go sets it from Lambda-Runtime-Trace-Id")
		for _, leaked := range []string{"HOME", "GOPATH", "GOROOT", "GOFLAGS", "USER"} {
			assert.NotContains(t, env, leaked, "the test's environment must not leak into the function")
		}
		assert.Equal(t, "arn:aws:lambda:us-east-1:123456789012:function:hook", r.FunctionARN())
	})

	t.Run("reports a function error and keeps running", func(t *testing.T) {
		t.Parallel()
		r := start(t, lambdaruntime.Config{Binary: bin})

		inv, err := r.Invoke(context.Background(), []byte(`{"fail":true}`), invokeTimeout)
		require.NoError(t, err, "a function error is an outcome, not a harness error")
		require.NotNil(t, inv.Error)
		assert.Nil(t, inv.Response)
		assert.Equal(t, "errorString", inv.Error.Type)
		assert.Equal(t, "echo: asked to fail", inv.Error.Message)
		assert.JSONEq(t, `{"errorType":"errorString","errorMessage":"echo: asked to fail"}`, string(inv.Error.Payload))

		inv, err = r.Invoke(context.Background(), []byte(`"still here"`), invokeTimeout)
		require.NoError(t, err)
		assert.Equal(t, `"still here"`, string(inv.Response))
	})

	t.Run("reports an error in a streamed response", func(t *testing.T) {
		t.Parallel()
		r := start(t, lambdaruntime.Config{Binary: bin})

		inv, err := r.Invoke(context.Background(), []byte(`{"brokenStream":true}`), invokeTimeout)
		require.NoError(t, err)
		require.NotNil(t, inv.Error, "the error arrives in the HTTP trailers")
		assert.Equal(t, "errorString", inv.Error.Type)
		assert.Equal(t, "echo: stream broke", inv.Error.Message)
	})

	t.Run("reports a panic, after which the process exits", func(t *testing.T) {
		t.Parallel()
		r := start(t, lambdaruntime.Config{Binary: bin})

		inv, err := r.Invoke(context.Background(), []byte(`{"panic":true}`), invokeTimeout)
		require.NoError(t, err)
		require.NotNil(t, inv.Error)
		assert.Equal(t, "string", inv.Error.Type, "aws-lambda-go names the panic value's type")
		assert.Equal(t, "echo: asked to panic", inv.Error.Message)
		assert.Contains(t, string(inv.Error.StackTrace), "main.go")

		waitExited(t, r)
		_, err = r.Invoke(context.Background(), []byte(`{}`), invokeTimeout)
		require.ErrorIs(t, err, lambdaruntime.ErrExited)
		assert.Contains(t, err.Error(), "exit status 1")
		assert.Contains(t, err.Error(), "calling the handler function resulted in a panic", "the error carries the logs' tail")
	})

	t.Run("stops a function that runs past its deadline", func(t *testing.T) {
		t.Parallel()
		r := start(t, lambdaruntime.Config{Binary: bin})

		const timeout = 500 * time.Millisecond
		begin := time.Now()
		inv, err := r.Invoke(context.Background(), []byte(`{"sleep":true}`), timeout)
		elapsed := time.Since(begin)
		require.ErrorIs(t, err, lambdaruntime.ErrTimeout)
		assert.Contains(t, err.Error(), inv.RequestID)
		assert.GreaterOrEqual(t, elapsed, timeout)
		assert.Less(t, elapsed, timeout+3*time.Second)

		waitExited(t, r)
		_, err = r.Invoke(context.Background(), []byte(`{}`), invokeTimeout)
		require.ErrorIs(t, err, lambdaruntime.ErrExited)
		assert.Contains(t, err.Error(), "signal: killed")
		assert.Contains(t, err.Error(), "ran past its 500ms timeout")
	})

	t.Run("a cancelled context returns at once and leaves the function running", func(t *testing.T) {
		t.Parallel()
		r := start(t, lambdaruntime.Config{Binary: bin})

		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := r.Invoke(ctx, []byte(`{"sleep":true}`), invokeTimeout)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		select {
		case <-r.Exited():
			t.Fatal("the process must keep running when the caller gives up")
		default:
		}
	})

	t.Run("queues concurrent invocations", func(t *testing.T) {
		t.Parallel()
		r := start(t, lambdaruntime.Config{Binary: bin})

		const n = 8
		var wg sync.WaitGroup
		results := make([]lambdaruntime.Invocation, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				results[i], errs[i] = r.Invoke(context.Background(), fmt.Appendf(nil, `{"n":%d}`, i), invokeTimeout)
			})
		}
		wg.Wait()
		ids := map[string]bool{}
		for i := range n {
			require.NoError(t, errs[i])
			assert.JSONEq(t, fmt.Sprintf(`{"n":%d}`, i), string(results[i].Response))
			ids[results[i].RequestID] = true
		}
		assert.Len(t, ids, n, "request IDs are unique")
		require.NoError(t, r.Close())
		assert.Equal(t, n, strings.Count(r.Logs(), "echo: request "), "every event reached the function")
	})

	t.Run("init failures are returned by Start", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name, mode  string
			initTimeout time.Duration
			want        []string
		}{
			{"exit", "exit", 0, []string{"exited during init (exit status 1)", "echo: init failed: missing configuration"}},
			{"init error", "report", 0, []string{"Init.Config: echo: bad configuration"}},
			{"no request for an invocation", "hang", 300 * time.Millisecond, []string{"no GET /runtime/invocation/next within 300ms"}},
		} {
			_, err := lambdaruntime.Start(context.Background(), lambdaruntime.Config{
				Binary: bin, Env: []string{"ECHO_INIT=" + tc.mode}, InitTimeout: tc.initTimeout,
			})
			require.ErrorIs(t, err, lambdaruntime.ErrInit, tc.name)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want, tc.name)
			}
		}
	})

	t.Run("Close stops the process", func(t *testing.T) {
		t.Parallel()
		r := start(t, lambdaruntime.Config{Binary: bin})
		pid := r.PID()

		require.NoError(t, r.Close())
		assertGone(t, r, pid)
		_, err := r.Invoke(context.Background(), []byte(`{}`), invokeTimeout)
		require.ErrorIs(t, err, lambdaruntime.ErrExited)
		assert.Contains(t, err.Error(), "the runtime was closed")
		require.NoError(t, r.Close(), "Close is idempotent")
	})

	t.Run("Close kills a process that ignores SIGTERM", func(t *testing.T) {
		t.Parallel()
		const grace = 300 * time.Millisecond
		r := start(t, lambdaruntime.Config{Binary: bin, Env: []string{"ECHO_IGNORE_SIGTERM=1"}, StopGrace: grace})
		pid := r.PID()

		begin := time.Now()
		require.NoError(t, r.Close())
		assert.GreaterOrEqual(t, time.Since(begin), grace)
		assertGone(t, r, pid)
	})
}

func start(t *testing.T, cfg lambdaruntime.Config) *lambdaruntime.Runtime {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := lambdaruntime.Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if t.Failed() {
			t.Logf("function output:\n%s", r.Logs())
		}
	})
	return r
}

func waitExited(t *testing.T, r *lambdaruntime.Runtime) {
	t.Helper()
	select {
	case <-r.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("the function process did not exit")
	}
}

func assertGone(t *testing.T, r *lambdaruntime.Runtime, pid int) {
	t.Helper()
	waitExited(t, r)
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "process %d must be gone", pid)
}

// buildEcho compiles testdata/echo as a Lambda "bootstrap" into t.TempDir().
func buildEcho(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", out, "./testdata/echo")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	begin := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/echo: %v\n%s", err, b)
	}
	t.Logf("built %s in %v", out, time.Since(begin).Round(time.Millisecond))
	if _, err := os.Stat(out); errors.Is(err, os.ErrNotExist) {
		t.Fatalf("go build produced no %s", out)
	}
	return out
}
