package awscheck

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

const closeTimeout = 5 * time.Second // Close waits this long for calls in flight

// Config says where moto is and how to see what AWS would see.
type Config struct {
	// Moto is moto's base URL, e.g. http://127.0.0.1:40123.
	Moto string
	// Admin returns a configuration with full access to account on moto (tests pass
	// moto.Server.Config). The front end reads roles, OIDC providers and key policies with it; it
	// must point at moto itself, not at this front end.
	Admin func(ctx context.Context, account string) (aws.Config, error)
	// Principals maps static access key IDs to the principal ARN each stands for, e.g. the Lambda's
	// key to its execution role: "testing" -> "arn:aws:iam::123456789012:role/DoiT-Support-Gateway-Backend".
	Principals map[string]string
	// Fetch returns the body at an https URL of an identity provider, as STS would fetch it over the
	// internet (tests read it from where the issuer publishes). An error means STS cannot reach the
	// IdP; nil means no IdP can be reached.
	Fetch func(ctx context.Context, url string) ([]byte, error)
	// Now is the clock tokens are checked against; nil means time.Now.
	Now func() time.Time
	// MotoDigest verifies ES256 token signatures over SHA-256(SHA-256(signing input)) instead of
	// SHA-256(signing input). Set it when the issuer signs through moto's KMS with MessageType
	// DIGEST: moto ignores DIGEST and hashes the digest it is given once more, so its signatures are
	// over the double hash and would all be refused as invalid. Real KMS signs the digest as given.
	MotoDigest bool
}

// Decision is the verdict on one checked call.
type Decision struct {
	Service   string // "sts", "kms"
	Action    string // "AssumeRole", "AssumeRoleWithWebIdentity", "Sign", "GenerateMac", "VerifyMac"
	Principal string // the caller as AWS would name it (a session ARN, a static principal, an OIDC provider)
	Target    string // the role or key ARN
	Allowed   bool
	Reason    string
	At        time.Time
}

func (d Decision) String() string {
	verdict := "REFUSED"
	if d.Allowed {
		verdict = "allowed"
	}
	return fmt.Sprintf("%s %s:%s by %s on %s: %s", verdict, d.Service, d.Action, d.Principal, d.Target, d.Reason)
}

// Server is a running front end. Its methods are safe for concurrent use.
type Server struct {
	cfg       Config
	url       string
	srv       *http.Server
	proxy     *httputil.ReverseProxy
	transport *http.Transport
	cancel    context.CancelFunc // cancels calls in flight on Close

	closeOnce sync.Once
	closeErr  error

	mu        sync.Mutex
	sessions  map[string]caller // by access key ID: credentials STS handed out through this front end
	decisions []Decision
	nextID    int // for request IDs of refusals

	adminMu sync.Mutex
	admins  map[string]aws.Config // by account
}

// Start listens on 127.0.0.1 on a free port and forwards to cfg.Moto.
func Start(cfg Config) (*Server, error) {
	target, err := url.Parse(cfg.Moto)
	switch {
	case err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "":
		return nil, fmt.Errorf("awscheck: Moto %q is not an http(s) URL", cfg.Moto)
	case cfg.Admin == nil:
		return nil, errors.New("awscheck: Config.Admin is required")
	}
	if cfg.Fetch == nil {
		cfg.Fetch = func(context.Context, string) ([]byte, error) {
			return nil, errors.New("no Config.Fetch: identity providers are unreachable")
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("awscheck: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:      cfg,
		url:      "http://" + ln.Addr().String(),
		cancel:   cancel,
		sessions: map[string]caller{},
		admins:   map[string]aws.Config{},
		transport: &http.Transport{
			Proxy:               nil, // never an HTTP_PROXY of the environment
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			DisableCompression:  true, // pass Accept-Encoding and bodies through as they are
		},
	}
	s.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // as signed
		},
		Transport:      s.transport,
		ModifyResponse: s.noteCredentials,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client gave up, or the front end is closing
			}
			http.Error(w, "awscheck: forwarding to moto: "+err.Error(), http.StatusBadGateway)
		},
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go func() { _ = s.srv.Serve(ln) }() // returns ErrServerClosed on Close
	return s, nil
}

// StartForTest starts a front end for t and closes it when t ends. If t failed, every decision is
// logged.
func StartForTest(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			var b strings.Builder
			for i, d := range s.Decisions() {
				fmt.Fprintf(&b, "\n%3d %v", i, d)
			}
			t.Logf("awscheck decisions:%s", b.String())
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// URL is the front end's endpoint, e.g. http://127.0.0.1:40125: the value for AWS_ENDPOINT_URL
// or aws.Config.BaseEndpoint.
func (s *Server) URL() string { return s.url }

// Close stops the front end, waiting boundedly for calls in flight. Safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.closeErr = fmt.Errorf("awscheck: calls still in flight after %v: %w", closeTimeout, err)
			_ = s.srv.Close()
		}
		s.cancel()
		s.transport.CloseIdleConnections()
	})
	return s.closeErr
}

// Decisions returns every checked call so far, in order.
func (s *Server) Decisions() []Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Decision(nil), s.decisions...)
}

// ruling is what a check decided about a call.
type ruling struct {
	decision Decision
	refusal  *apiError // nil: forward to moto
	// issued, for an admitted STS call, is the caller of the credentials moto will hand out.
	issued func(key, sessionARN string) caller
}

// ServeHTTP decides a checked call and refuses or forwards it; every other call is forwarded.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := identify(r)
	switch {
	case errors.Is(err, errBodyTooLarge):
		http.Error(w, "awscheck: request body too large", http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		return // the client is gone; nobody to answer
	case !c.checked():
		r.Body = http.MaxBytesReader(w, r.Body, maxForwardedBody)
		s.proxy.ServeHTTP(w, r)
		return
	}

	var v ruling
	switch c.service + ":" + c.action {
	case "sts:AssumeRole":
		v = s.checkAssumeRole(r.Context(), c, s.callerOf(c.key))
	case "sts:AssumeRoleWithWebIdentity":
		v = s.checkWebIdentity(r.Context(), c)
	default:
		v = s.checkKMS(r.Context(), c, s.callerOf(c.key))
	}
	v.decision.Service, v.decision.Action = c.service, c.action
	v.decision.Allowed = v.refusal == nil
	requestID := s.decide(v.decision)
	if v.refusal != nil {
		v.refusal.write(w, c.service, requestID)
		return
	}
	if v.issued != nil {
		r = r.WithContext(context.WithValue(r.Context(), issuedKey{}, v.issued))
	}
	s.proxy.ServeHTTP(w, r)
}

// decide records d and returns a request ID for its refusal.
func (s *Server) decide(d Decision) string {
	d.At = s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decisions = append(s.decisions, d)
	s.nextID++
	return fmt.Sprintf("awscheck-%08d", s.nextID)
}

// callerOf places an access key: a session STS handed out through this front end, a static
// principal, or nobody.
func (s *Server) callerOf(key string) caller {
	s.mu.Lock()
	c, ok := s.sessions[key]
	s.mu.Unlock()
	switch {
	case ok:
		return c
	case key != "" && s.cfg.Principals[key] != "":
		return staticCaller(key, s.cfg.Principals[key])
	}
	return unknownCaller(key)
}

type issuedKey struct{}

// stsCredentials is the part of moto's AssumeRole and AssumeRoleWithWebIdentity answers the front
// end remembers.
type stsCredentials struct {
	AccessKeyID string `xml:"Credentials>AccessKeyId"`
	SessionARN  string `xml:"AssumedRoleUser>Arn"`
}

// noteCredentials remembers the access key of the credentials moto hands out for an admitted call,
// so that later calls signed with it are recognised as the role's session.
func (s *Server) noteCredentials(resp *http.Response) error {
	issued, ok := resp.Request.Context().Value(issuedKey{}).(func(key, sessionARN string) caller)
	if !ok || resp.StatusCode != http.StatusOK {
		return nil
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
		return fmt.Errorf("STS answer is %s-encoded: cannot read the credentials it hands out", enc)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCheckedBody))
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading STS answer: %w", err)
	}
	var out struct {
		AssumeRole  stsCredentials `xml:"AssumeRoleResult"`
		WebIdentity stsCredentials `xml:"AssumeRoleWithWebIdentityResult"`
	}
	if err := xml.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("parsing STS answer: %w", err)
	}
	creds := out.AssumeRole
	if creds.AccessKeyID == "" {
		creds = out.WebIdentity
	}
	if creds.AccessKeyID == "" {
		return errors.New("STS answer holds no AccessKeyId")
	}
	c := issued(creds.AccessKeyID, creds.SessionARN)
	s.mu.Lock()
	s.sessions[creds.AccessKeyID] = c
	s.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return nil
}
