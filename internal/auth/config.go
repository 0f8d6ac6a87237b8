package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of Config.
const (
	// DefaultGroupsClaim is where Cognito puts a user's groups, in ID and access tokens alike.
	DefaultGroupsClaim = "cognito:groups"
	// DefaultTenantGroupPrefix: a group "tenant:acme" makes its members customers of tenant acme.
	DefaultTenantGroupPrefix = "tenant:"
	// DefaultLeeway is how far in the future nbf and iat may be: a verifier whose clock runs
	// behind the identity provider's still accepts a token the moment it is minted.
	DefaultLeeway = time.Minute
	// MaxLeeway bounds Config.Leeway.
	MaxLeeway = 5 * time.Minute
	// DefaultHTTPTimeout bounds each discovery or JWKS request when Config.HTTPClient is nil.
	DefaultHTTPTimeout = 10 * time.Second
	// DefaultJWKSRefetchInterval is the least time between two fetches of the issuer's JWKS.
	DefaultJWKSRefetchInterval = time.Minute
	// MinJWKSRefetchInterval and MaxJWKSRefetchInterval bound Config.JWKSRefetchInterval.
	MinJWKSRefetchInterval = time.Second
	MaxJWKSRefetchInterval = time.Hour
)

// Config says which tokens a Verifier accepts and how their claims map to roles.
type Config struct {
	// Issuer is the exact iss of accepted tokens, e.g.
	// https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123 (Cognito) or https://login.example.com.
	Issuer string
	// Audience is the app client ID: an accepted token's aud contains it or, for a token without
	// aud (a Cognito access token), its client_id equals it.
	Audience string
	// JWKSURL, when set, is where the issuer's keys are, and no discovery document is read.
	// When empty, the keys are found through Issuer + /.well-known/openid-configuration.
	JWKSURL string

	// GroupsClaim names the claim holding the user's groups: a list of strings, or one string.
	// Default DefaultGroupsClaim.
	GroupsClaim string
	// EngineerGroup is the group whose members are the vendor's engineers (e.g. doit-engineers). Required.
	EngineerGroup string
	// TenantGroupPrefix marks tenant groups: "<prefix><tenant>". Default DefaultTenantGroupPrefix.
	TenantGroupPrefix string

	// Leeway is how far in the future nbf and iat may be. exp has none. Default DefaultLeeway, at most MaxLeeway.
	Leeway time.Duration

	// JWKSRefetchInterval is the least time between two fetches of the JWKS. The keys are fetched
	// when a token names a key ID (kid) the verifier does not have (the first token, or the issuer
	// rotated its keys); within the interval after a fetch began, such a token is refused
	// (UnknownKey, 401, or KeysUnavailable, 503, if that fetch failed) without another: anyone can
	// send tokens with made-up kids, and each must not cost a request to the identity provider.
	// Requests that need a fetch while one is in flight wait for it. Default
	// DefaultJWKSRefetchInterval (1 minute), between MinJWKSRefetchInterval and MaxJWKSRefetchInterval.
	JWKSRefetchInterval time.Duration

	// HTTPClient fetches the discovery document and the JWKS. Default: a client with DefaultHTTPTimeout.
	HTTPClient *http.Client
	// Logger receives one line per refused request (Require). Default slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. For tests.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.GroupsClaim == "" {
		c.GroupsClaim = DefaultGroupsClaim
	}
	if c.TenantGroupPrefix == "" {
		c.TenantGroupPrefix = DefaultTenantGroupPrefix
	}
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.JWKSRefetchInterval == 0 {
		c.JWKSRefetchInterval = DefaultJWKSRefetchInterval
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// validate says every problem of the configuration at once.
func (c Config) validate() error {
	var errs []error
	if err := CheckURL("Issuer", c.Issuer); err != nil {
		errs = append(errs, err)
	}
	if c.JWKSURL != "" {
		if err := CheckURL("JWKSURL", c.JWKSURL); err != nil {
			errs = append(errs, err)
		}
	}
	if strings.TrimSpace(c.Audience) == "" {
		errs = append(errs, errors.New("Audience (the app client ID) is required"))
	}
	if strings.TrimSpace(c.EngineerGroup) == "" {
		errs = append(errs, errors.New("EngineerGroup is required"))
	}
	if strings.HasPrefix(c.EngineerGroup, c.TenantGroupPrefix) {
		errs = append(errs, fmt.Errorf("EngineerGroup %q must not start with the tenant group prefix %q", c.EngineerGroup, c.TenantGroupPrefix))
	}
	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		errs = append(errs, fmt.Errorf("Leeway %v must be between 0 and %v", c.Leeway, MaxLeeway))
	}
	if c.JWKSRefetchInterval < MinJWKSRefetchInterval || c.JWKSRefetchInterval > MaxJWKSRefetchInterval {
		errs = append(errs, fmt.Errorf("JWKSRefetchInterval %v must be between %v and %v", c.JWKSRefetchInterval, MinJWKSRefetchInterval, MaxJWKSRefetchInterval))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("auth: invalid configuration: %w", err)
	}
	return nil
}

// CheckURL says why raw, named field, is not an absolute https URL, or http only on a loopback
// address (a local OpenID Provider, moto, a local server), or nil: keys fetched, or tokens sent,
// over plain HTTP elsewhere could be anyone's.
func CheckURL(field, raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return fmt.Errorf("%s is required", field)
	case err != nil:
		return fmt.Errorf("%s %q is not a URL: %w", field, raw, err)
	case u.Host == "" || u.User != nil || u.Fragment != "" || u.RawQuery != "":
		return fmt.Errorf("%s %q must be an absolute URL without user, query or fragment", field, raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && IsLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%s %q must be https (http only on a loopback address)", field, raw)
}

// IsLoopback reports whether host is localhost or a loopback IP address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
