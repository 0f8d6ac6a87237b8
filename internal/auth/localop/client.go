package localop

import (
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// client is the one OAuth client: public (no secret, so PKCE is what protects its codes), native
// (a loopback redirect URI matches whatever port the application listens on, RFC 8252 §7.3), with
// the authorization-code flow only, and JWT access tokens (the API verifies them with the JWKS, as
// it does Cognito's).
type client struct {
	id           string
	redirectURIs []string
	lifetime     time.Duration
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirectURIs }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeNative }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodNone }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string {
	return loginPath + "?authRequestID=" + url.QueryEscape(id)
}
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration      { return c.lifetime }
func (c *client) DevMode() bool                       { return false }
func (c *client) IsScopeAllowed(string) bool          { return false }
func (c *client) ClockSkew() time.Duration            { return 0 }

// IDTokenUserinfoClaimsAssertion: the ID token carries the user's claims (names, e-mail, groups)
// even when an access token is issued alongside, as Cognito's does.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
