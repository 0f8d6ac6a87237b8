package moto

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/supportaccess/gateway/test/internal/syncbuf"
)

const (
	// DefaultAccountID is the account moto uses for requests signed with keys it does not know.
	DefaultAccountID = "123456789012"
	// Region of the configurations returned by Config.
	Region = "us-east-1"
	// AssumedRoleName is the role Config assumes to enter another account (it need not exist in moto).
	AssumedRoleName = "moto-test-admin"
	// AccessKeyID and SecretAccessKey are the static test credentials of DefaultAccountID.
	AccessKeyID     = "AKIAMOTOTESTDEFAULT1"
	SecretAccessKey = "moto-test-secret"

	// StartTimeout bounds Start even when its context has no deadline.
	StartTimeout = 30 * time.Second
	stopGrace    = 5 * time.Second

	installHint = "is moto installed? Run: pip install -r requirements.txt"
)

// runningOn is how werkzeug (under moto_server), and serial_server.py in the same words, announce
// the port bound; we ask for port 0, so the kernel picks a free one and no other process can take it first.
var runningOn = regexp.MustCompile(`Running on (http://127\.0\.0\.1:\d+)`)

// Server is a running moto server.
type Server struct {
	url    string
	cmd    *exec.Cmd
	logs   *syncbuf.Buffer
	exited chan struct{} // closed once the process has exited

	closeOnce sync.Once
	closeErr  error

	mu     sync.Mutex
	caches []*aws.CredentialsCache // assumed-role credentials handed out by Config
}

// Start launches `moto_server -H 127.0.0.1 -p 0` (or `python3 -m moto.server`)
// and waits until it answers on /moto-api/, at most until ctx ends or StartTimeout passes.
func Start(ctx context.Context) (*Server, error) {
	argv, err := serverCommand()
	if err != nil {
		return nil, err
	}
	return start(ctx, argv)
}

// serialServer is serial_server.py: moto's application served one request at a time.
//
//go:embed serial_server.py
var serialServer string

// StartSerial launches moto's application on a single-threaded server (serial_server.py, run by
// python3), which answers one request at a time, so that DynamoDB conditional writes are atomic
// as in AWS: the server for race tests (see the package documentation). It is started, waited for
// and stopped as Start's is.
func StartSerial(ctx context.Context) (*Server, error) {
	python, err := exec.LookPath("python3")
	if err != nil {
		return nil, errors.New("moto: python3 is not on PATH; " + installHint)
	}
	return start(ctx, []string{python, "-c", serialServer})
}

// start runs argv with `-H 127.0.0.1 -p 0` and waits until the server it starts answers on
// /moto-api/, at most until ctx ends or StartTimeout passes.
func start(ctx context.Context, argv []string) (*Server, error) {
	s := &Server{logs: &syncbuf.Buffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(argv[0], append(argv[1:], "-H", "127.0.0.1", "-p", "0")...)
	s.cmd.Env = append(withoutVar(os.Environ(), "MOTO_ACCOUNT_ID"),
		"MOTO_IAM_LOAD_MANAGED_POLICIES=true",
		"PYTHONUNBUFFERED=1")
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	s.cmd.SysProcAttr = sysProcAttr()
	s.cmd.WaitDelay = time.Second
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("moto: start %s: %w; %s", argv[0], err, installHint)
	}
	go func() {
		_ = s.cmd.Wait() // the outcome is in cmd.ProcessState
		close(s.exited)
	}()

	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	if err := s.waitReady(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("%w\n--- moto output ---\n%s", err, s.Logs())
	}
	return s, nil
}

// StartForTest starts a server for t, fails t if it cannot (with the install hint),
// and stops it when t ends. On failure the end of moto's output is logged.
func StartForTest(t testing.TB) *Server {
	t.Helper()
	return startForTest(t, "moto server", Start)
}

// StartSerialForTest is StartForTest for StartSerial's server, the one race tests use.
func StartSerialForTest(t testing.TB) *Server {
	t.Helper()
	return startForTest(t, "serial moto server", StartSerial)
}

func startForTest(t testing.TB, name string, start func(context.Context) (*Server, error)) *Server {
	t.Helper()
	begin := time.Now()
	s, err := start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s at %s, ready in %v", name, s.URL(), time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output (tail):\n%s", name, tail(s.Logs(), 4096))
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// URL is the server's endpoint, e.g. http://127.0.0.1:40123.
func (s *Server) URL() string { return s.url }

// Logs returns the server's output so far (start-up messages and one line per request).
func (s *Server) Logs() string { return s.logs.String() }

// Config returns an SDK configuration for accountID ("" means DefaultAccountID)
// in Region, pointed at the server. It is built by hand, not by
// config.LoadDefaultConfig, so that no AWS_* variable or ~/.aws file of the
// developer's machine can redirect tests to a real account.
// For any account but DefaultAccountID, credentials come from STS AssumeRole;
// they are fetched once here, so a broken server fails now rather than later.
func (s *Server) Config(ctx context.Context, accountID string) (aws.Config, error) {
	cfg := aws.Config{
		Region:       Region,
		BaseEndpoint: aws.String(s.url),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
	}
	if accountID == "" || accountID == DefaultAccountID {
		return cfg, nil
	}
	if !accountIDPattern.MatchString(accountID) {
		return aws.Config{}, fmt.Errorf("moto: account ID %q is not 12 digits", accountID)
	}
	roleARN := "arn:aws:iam::" + accountID + ":role/" + AssumedRoleName
	creds := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleARN,
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "moto-test" }))
	if _, err := creds.Retrieve(ctx); err != nil {
		return aws.Config{}, fmt.Errorf("moto: assume %s: %w", roleARN, err)
	}
	s.mu.Lock()
	s.caches = append(s.caches, creds)
	s.mu.Unlock()
	cfg.Credentials = creds
	return cfg, nil
}

var accountIDPattern = regexp.MustCompile(`^\d{12}$`)

// PathStyle is the s3 client option for this server:
// s3.NewFromConfig(cfg, moto.PathStyle). 127.0.0.1 has no bucket subdomains.
func PathStyle(o *s3.Options) { o.UsePathStyle = true }

// Reset forgets all state of all accounts (POST /moto-api/reset). Configurations
// from Config stay valid: they re-assume their role on their next request.
func (s *Server) Reset(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("moto: reset: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto: reset: %s: %s", resp.Status, body)
	}
	// The keys of assumed roles are gone with the rest of IAM's state; moto would now
	// map them to DefaultAccountID. Make every cache assume its role again.
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.caches {
		c.Invalidate()
	}
	return nil
}

// Close stops the server: SIGTERM, then SIGKILL if it is still running after a grace period.
// It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.signal(syscall.SIGTERM)
		select {
		case <-s.exited:
			return
		case <-time.After(stopGrace):
		}
		s.signal(syscall.SIGKILL)
		select {
		case <-s.exited:
		case <-time.After(stopGrace):
			s.closeErr = fmt.Errorf("moto: server (pid %d) still running after SIGKILL", s.cmd.Process.Pid)
		}
	})
	return s.closeErr
}

// waitReady polls until the server has said where it listens and answers there.
func (s *Server) waitReady(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.url == "" {
			if m := runningOn.FindStringSubmatch(s.logs.String()); m != nil {
				s.url = m[1]
			}
		}
		if s.url != "" && Ping(ctx, s.url) == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("moto: server exited during start (%v); %s", s.cmd.ProcessState, installHint)
		case <-ctx.Done():
			return fmt.Errorf("moto: server did not answer on /moto-api/ (url %q): %w", s.url, ctx.Err())
		case <-tick.C:
		}
	}
}

// Ping reports whether a moto server answers at url.
func Ping(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/moto-api/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}

// signal sends sig to the server's process group unless it has exited (its ID may be reused).
func (s *Server) signal(sig syscall.Signal) {
	select {
	case <-s.exited:
	default:
		_ = syscall.Kill(-s.cmd.Process.Pid, sig)
	}
}

// serverCommand finds moto: the moto_server script, else the module through python3.
func serverCommand() ([]string, error) {
	if p, err := exec.LookPath("moto_server"); err == nil {
		return []string{p}, nil
	}
	if p, err := exec.LookPath("python3"); err == nil {
		return []string{p, "-m", "moto.server"}, nil
	}
	return nil, errors.New("moto: neither moto_server nor python3 is on PATH; " + installHint)
}

func withoutVar(env []string, key string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return out
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// Shared is one server for a whole test binary: started on first use, closed by the package's
// TestMain (Run, or Close), so packages with many tests pay moto's start-up once.
type Shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Server returns the shared server, starting it if needed; it fails t if moto cannot start.
func (s *Shared) Server(t testing.TB) *Server {
	t.Helper()
	s.once.Do(func() { s.srv, s.err = Start(context.Background()) })
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.srv
}

// Run runs the package's tests and then stops the server: a package's whole TestMain is
// os.Exit(shared.Run(m)).
func (s *Shared) Run(m *testing.M) int {
	code := m.Run()
	_ = s.Close()
	return code
}

// Close stops the server if it was started.
func (s *Shared) Close() error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Close()
}
