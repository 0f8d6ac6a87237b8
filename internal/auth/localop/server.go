package localop

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/supportaccess/gateway/internal/auth"
)

// Defaults of Config.
const (
	DefaultAddr     = "127.0.0.1:0"
	DefaultClientID = "supportaccess-local"
	// DefaultLifetime of access and ID tokens: Cognito's default for both.
	DefaultLifetime = time.Hour
)

// DefaultRedirectURIs: any port on the loopback addresses (RFC 8252 §7.3), path /callback (the CLI's
// and Login's) or /console/callback (the backend's web console, served under /console/).
var DefaultRedirectURIs = []string{"http://127.0.0.1/callback", "http://localhost/callback",
	"http://127.0.0.1/console/callback", "http://localhost/console/callback"}

// Config is a local provider's setup. Only Users is required.
type Config struct {
	// Addr is where to listen: a loopback IP and a port (0: any free one). Default DefaultAddr.
	Addr string
	// Users who can sign in (LoadUsers reads them from a file).
	Users []User
	// ClientID of the one (public) client. Default DefaultClientID.
	ClientID string
	// RedirectURIs registered for the client; loopback ones match any port. Default DefaultRedirectURIs.
	RedirectURIs []string
	// GroupsClaim is the claim that carries the user's groups in both tokens. Default
	// auth.DefaultGroupsClaim, so that a Verifier with its default reads it.
	GroupsClaim string
	// Lifetime of access and ID tokens. Default DefaultLifetime.
	Lifetime time.Duration
	// Logger for the HTTP server's errors. Default slog.Default().
	Logger *slog.Logger
}

// Server is a running local OpenID Provider.
type Server struct {
	issuer   string
	clientID string
	srv      *http.Server
	done     chan struct{}
	serveErr error
}

// Start listens on cfg.Addr and serves the provider: discovery at
// /.well-known/openid-configuration, the authorization endpoint (/authorize) with the sign-in form
// (/login), the token endpoint (/oauth/token), the JWKS (/keys) and userinfo (/userinfo). Its
// issuer is http://<addr>.
func Start(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := validateUsers(cfg.Users); err != nil {
		return nil, fmt.Errorf("localop: %w", err)
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("localop: address %q: %w", cfg.Addr, err)
	}
	// Users may have no password: nothing but this machine may reach the provider.
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("localop: address %q is not a loopback IP address (127.0.0.1, ::1)", cfg.Addr)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("localop: %w", err)
	}
	issuer := "http://" + ln.Addr().String()

	c := &client{id: cfg.ClientID, redirectURIs: cfg.RedirectURIs, lifetime: cfg.Lifetime}
	st, err := newStorage(cfg.Users, c, cfg.GroupsClaim, cfg.Lifetime)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("localop: signing key: %w", err)
	}
	var cryptoKey [32]byte // encrypts opaque tokens, which this provider does not issue; random anyway
	_, _ = rand.Read(cryptoKey[:])
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:          cryptoKey,
		CodeMethodS256:     true,
		SupportedUILocales: []language.Tag{language.English},
	}, st, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("localop: %w", err)
	}

	mux := http.NewServeMux()
	mux.Handle(loginPath, op.NewIssuerInterceptor(provider.IssuerFromRequest).Handler(
		&login{storage: st, callback: op.AuthCallbackURL(provider)}))
	mux.Handle("/", provider)

	s := &Server{
		issuer: issuer, clientID: cfg.ClientID, done: make(chan struct{}),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelError)},
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	return s, nil
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.RedirectURIs == nil {
		c.RedirectURIs = DefaultRedirectURIs
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = auth.DefaultGroupsClaim
	}
	if c.Lifetime == 0 {
		c.Lifetime = DefaultLifetime
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Issuer is the provider's issuer URL, http://127.0.0.1:<port>: a Verifier's Config.Issuer, and
// the base of its discovery document.
func (s *Server) Issuer() string { return s.issuer }

// ClientID is the client whose tokens the provider issues: a Verifier's Config.Audience.
func (s *Server) ClientID() string { return s.clientID }

// Close stops the server, waiting up to five seconds for requests in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	return errors.Join(err, s.serveErr)
}

// Wait blocks until the server stops, and says why if it failed.
func (s *Server) Wait() error {
	<-s.done
	return s.serveErr
}
