package lambdaruntime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/supportaccess/gateway/test/internal/syncbuf"
)

// Defaults of the simulated function; any of the variables can be overridden through Config.Env.
const (
	DefaultFunctionName = "test-function"
	DefaultRegion       = "us-east-1"
	DefaultAccountID    = "123456789012" // moto's default account, so ARNs line up in end-to-end tests

	defaultInitTimeout = 10 * time.Second // Lambda's limit for the init phase
	defaultStopGrace   = 2 * time.Second
	// lambdaPath is the PATH of the provided.al2023 runtime.
	lambdaPath = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
)

var (
	// ErrInit reports a function that did not finish its init phase: it exited,
	// posted to /runtime/init/error, or did not ask for an invocation in time.
	ErrInit = errors.New("lambdaruntime: function failed to initialize")
	// ErrExited reports that the function's process is gone (crash, panic,
	// timeout, Close). The execution environment is not restarted.
	ErrExited = errors.New("lambdaruntime: function process exited")
	// ErrTimeout reports an invocation that got no answer before its deadline.
	ErrTimeout = errors.New("lambdaruntime: task timed out")
)

// Config describes the function to run.
type Config struct {
	// Binary is the compiled function, e.g. built with
	// GOOS=linux CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap.
	Binary string
	// Env holds extra KEY=VALUE variables. They override the defaults (function
	// name, region, ...), but not AWS_LAMBDA_RUNTIME_API.
	Env []string
	// Stdout and Stderr, if set, also receive the process's output as it is written.
	// The output is always captured for Logs.
	Stdout, Stderr io.Writer
	// InitTimeout bounds the init phase (0: 10s, as in Lambda).
	InitTimeout time.Duration
	// StopGrace is how long Close waits after SIGTERM before SIGKILL (0: 2s).
	StopGrace time.Duration
}

// Invocation is the outcome of one Invoke.
type Invocation struct {
	RequestID string
	// Response is the body the function posted to .../response (nil if Error is set).
	Response []byte
	// Error is set when the function reported an error (.../error), including panics.
	Error *FunctionError
	// Duration runs from handing the event to the function to receiving its answer.
	Duration time.Duration
}

// Runtime is one execution environment: a Runtime API server and the function's process.
type Runtime struct {
	cfg         Config
	functionARN string
	srv         *http.Server
	cmd         *exec.Cmd
	logs        *syncbuf.Buffer
	started     time.Time

	queue      chan *invocation // unbuffered: an Invoke waits here until GET /next takes its event
	ready      chan struct{}    // closed by the first GET /next
	initFailed chan struct{}    // closed by POST /runtime/init/error; initErr is set before
	exited     chan struct{}    // closed once the process has exited and its output is drained
	closing    chan struct{}    // closed by Close, releases pending long polls

	readyOnce, initFailOnce, closeOnce sync.Once
	initErr                            *FunctionError
	closeErr                           error

	mu         sync.Mutex
	firstNext  time.Time
	inflight   map[string]*invocation
	stopReason string
}

// Start serves the Runtime API, starts cfg.Binary and waits until the function
// asks for its first invocation. ctx bounds that wait only; the process runs until Close.
func Start(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.Binary == "" {
		return nil, errors.New("lambdaruntime: Config.Binary is empty")
	}
	bin, err := filepath.Abs(cfg.Binary)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("lambdaruntime: function binary: %w", err)
	}
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = defaultInitTimeout
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = defaultStopGrace
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambdaruntime: listen: %w", err)
	}
	name := lookupEnv(cfg.Env, "AWS_LAMBDA_FUNCTION_NAME", DefaultFunctionName)
	region := lookupEnv(cfg.Env, "AWS_REGION", DefaultRegion)
	r := &Runtime{
		cfg:         cfg,
		functionARN: fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, DefaultAccountID, name),
		logs:        &syncbuf.Buffer{},
		queue:       make(chan *invocation),
		ready:       make(chan struct{}),
		initFailed:  make(chan struct{}),
		exited:      make(chan struct{}),
		closing:     make(chan struct{}),
		inflight:    make(map[string]*invocation),
	}
	r.srv = &http.Server{Handler: r.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }() // returns ErrServerClosed after Close

	env := append([]string{
		"PATH=" + lambdaPath,
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"LAMBDA_TASK_ROOT=" + filepath.Dir(bin),
		"_HANDLER=bootstrap",
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + randomHex(16),
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
	}, cfg.Env...)
	// exec.Cmd keeps the last value of a duplicated key, so cfg.Env overrides the defaults above.
	env = append(env, "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())

	r.cmd = exec.Command(bin)
	r.cmd.Dir = filepath.Dir(bin)
	r.cmd.Env = env
	r.cmd.Stdout = teeTo(r.logs, cfg.Stdout)
	r.cmd.Stderr = teeTo(r.logs, cfg.Stderr)
	r.cmd.SysProcAttr = sysProcAttr()
	r.cmd.WaitDelay = time.Second // do not hang on output pipes held open by a grandchild

	r.started = time.Now()
	if err := r.cmd.Start(); err != nil {
		_ = r.srv.Close()
		return nil, fmt.Errorf("lambdaruntime: start %s: %w", bin, err)
	}
	go func() {
		_ = r.cmd.Wait() // the outcome is in cmd.ProcessState
		close(r.exited)
	}()

	timer := time.NewTimer(cfg.InitTimeout)
	defer timer.Stop()
	select {
	case <-r.ready:
		return r, nil
	case <-r.initFailed:
		err = fmt.Errorf("%w: %v", ErrInit, r.initErr)
	case <-r.exited:
		err = fmt.Errorf("%w: the process exited during init (%v)", ErrInit, r.cmd.ProcessState)
	case <-timer.C:
		err = fmt.Errorf("%w: no GET /runtime/invocation/next within %v", ErrInit, cfg.InitTimeout)
	case <-ctx.Done():
		err = fmt.Errorf("lambdaruntime: waiting for init: %w", ctx.Err())
	}
	_ = r.Close()
	return nil, fmt.Errorf("%w\n%s", err, r.logTail())
}

// Invoke hands payload to the function with a deadline of now+timeout and
// waits for its answer. The timeout covers the whole call, including time spent
// queued behind other invocations. If the function is still running at the
// deadline, its process is stopped, as Lambda does, and ErrTimeout returned.
// A cancelled ctx returns at once and leaves the function running.
func (r *Runtime) Invoke(ctx context.Context, payload []byte, timeout time.Duration) (Invocation, error) {
	if timeout <= 0 {
		return Invocation{}, errors.New("lambdaruntime: Invoke timeout must be positive")
	}
	inv := &invocation{
		id:       newRequestID(),
		payload:  payload,
		deadline: time.Now().Add(timeout),
		done:     make(chan struct{}),
	}
	out := Invocation{RequestID: inv.id}
	timer := time.NewTimer(timeout)
	defer timer.Stop()

	select {
	case r.queue <- inv:
	case <-timer.C:
		return out, fmt.Errorf("%w after %v: request %s was still queued behind other invocations", ErrTimeout, timeout, inv.id)
	case <-ctx.Done():
		return out, ctx.Err()
	case <-r.exited:
		return out, r.exitError()
	}

	select {
	case <-inv.done:
		return inv.result, nil
	case <-timer.C:
		r.kill(fmt.Sprintf("request %s ran past its %v timeout", inv.id, timeout))
		return out, fmt.Errorf("%w after %v: request %s got no answer; the process was stopped\n%s",
			ErrTimeout, timeout, inv.id, r.logTail())
	case <-ctx.Done():
		return out, ctx.Err()
	case <-r.exited:
		select {
		case <-inv.done: // answered, then exited (a panic does that)
			return inv.result, nil
		default:
			return out, r.exitError()
		}
	}
}

// ColdStart is the time from starting the process to its first GET /next, i.e. the init phase.
func (r *Runtime) ColdStart() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstNext.Sub(r.started)
}

// PeakRSS is the process's peak resident set size in bytes (VmHWM in
// /proc/<pid>/status; after the process exited, the maximum RSS from wait4).
func (r *Runtime) PeakRSS() (int64, error) {
	if rss, ok := r.exitedMaxRSS(); ok {
		return rss, nil
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.cmd.Process.Pid))
	for line := range strings.Lines(string(status)) {
		fields := strings.Fields(line)
		if len(fields) == 3 && fields[0] == "VmHWM:" && fields[2] == "kB" {
			kb, perr := strconv.ParseInt(fields[1], 10, 64)
			if perr != nil {
				return 0, fmt.Errorf("lambdaruntime: parse %q: %w", line, perr)
			}
			return kb * 1024, nil
		}
	}
	if rss, ok := r.exitedMaxRSS(); ok { // it exited while we were reading
		return rss, nil
	}
	return 0, fmt.Errorf("lambdaruntime: no VmHWM for process %d (%v)", r.cmd.Process.Pid, err)
}

// PID is the process ID of the function.
func (r *Runtime) PID() int { return r.cmd.Process.Pid }

// Exited is closed once the function's process has exited.
func (r *Runtime) Exited() <-chan struct{} { return r.exited }

// FunctionARN is the ARN the function sees in Lambda-Runtime-Invoked-Function-Arn.
func (r *Runtime) FunctionARN() string { return r.functionARN }

// Logs returns everything the process wrote to stdout and stderr so far.
// Output travels through a pipe, so a line written just before a response may
// not be here yet when Invoke returns; once Exited is closed (e.g. after Close), Logs is complete.
func (r *Runtime) Logs() string { return r.logs.String() }

// Close stops the process (SIGTERM, then SIGKILL after Config.StopGrace) and the server.
// It is safe to call more than once.
func (r *Runtime) Close() error {
	r.closeOnce.Do(func() { r.closeErr = r.shutdown() })
	return r.closeErr
}

func (r *Runtime) shutdown() error {
	var errs []error
	select {
	case <-r.exited: // it ended on its own; keep that story for exitError
	default:
		r.setStopReason("the runtime was closed")
	}
	r.signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(r.cfg.StopGrace):
		r.signal(syscall.SIGKILL)
		select {
		case <-r.exited:
		case <-time.After(5 * time.Second):
			errs = append(errs, fmt.Errorf("lambdaruntime: process %d still running after SIGKILL", r.cmd.Process.Pid))
		}
	}
	close(r.closing)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil {
		_ = r.srv.Close()
		errs = append(errs, fmt.Errorf("lambdaruntime: stop server: %w", err))
	}
	return errors.Join(errs...)
}

// kill stops the process at once, as Lambda does with a function that timed out.
func (r *Runtime) kill(reason string) {
	r.setStopReason(reason)
	r.signal(syscall.SIGKILL)
}

func (r *Runtime) setStopReason(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopReason == "" {
		r.stopReason = reason
	}
}

// signal sends sig to the function's process group, unless the process has exited
// (its PID, and so the group ID, may have been reused).
func (r *Runtime) signal(sig syscall.Signal) {
	select {
	case <-r.exited:
	default:
		_ = syscall.Kill(-r.cmd.Process.Pid, sig)
	}
}

func (r *Runtime) exitedMaxRSS() (int64, bool) {
	select {
	case <-r.exited:
		if ru, ok := r.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			return ru.Maxrss * 1024, true // kB on Linux
		}
	default:
	}
	return 0, false
}

// exitError describes the process's end; call it only after r.exited is closed.
func (r *Runtime) exitError() error {
	r.mu.Lock()
	reason := r.stopReason
	r.mu.Unlock()
	how := r.cmd.ProcessState.String()
	if reason != "" {
		how += "; " + reason
	}
	return fmt.Errorf("%w (%s)\n%s", ErrExited, how, r.logTail())
}

func (r *Runtime) logTail() string {
	const max = 2048
	s := r.logs.String()
	if len(s) > max {
		s = s[len(s)-max:]
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	return "--- last output of the function ---\n" + s
}

// lookupEnv returns the last value of key in env, or def.
func lookupEnv(env []string, key, def string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return def
}

func teeTo(buf *syncbuf.Buffer, w io.Writer) io.Writer {
	if w == nil {
		return buf
	}
	return io.MultiWriter(buf, w)
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b) // never fails on Linux
	return hex.EncodeToString(b)
}

// newRequestID returns a random UUID, the form of Lambda's request IDs.
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
