package localop

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// authRequestLifetime bounds a sign-in, from the authorization request to the code's exchange.
const authRequestLifetime = 10 * time.Minute

// storage is op.Storage in memory: the users, the one client, the pending authorization requests
// and their codes, and the signing key. Tokens are JWTs, so none is stored; there are no refresh
// tokens and no sessions (each sign-in asks for the password again).
type storage struct {
	users       map[string]User // by lower-cased username
	client      *client
	groupsClaim string
	lifetime    time.Duration
	key         signingKey

	mu       sync.Mutex
	requests map[string]*authRequest // by ID
	codes    map[string]string       // code → request ID
}

var _ op.Storage = (*storage)(nil)
var _ op.CanSetUserinfoFromRequest = (*storage)(nil)

func newStorage(users []User, c *client, groupsClaim string, lifetime time.Duration) (*storage, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	s := &storage{
		users: map[string]User{}, client: c, groupsClaim: groupsClaim, lifetime: lifetime,
		key:      signingKey{id: rand.Text(), key: k},
		requests: map[string]*authRequest{}, codes: map[string]string{},
	}
	for _, u := range users {
		s.users[strings.ToLower(u.Username)] = u
	}
	return s, nil
}

// errNotFound is what the library expects for an unknown client, request or code.
var errNotFound = errors.New("not found")

// checkLogin completes request id for username if the password is theirs (or they have none).
func (s *storage) checkLogin(id, username, password string) error {
	u, ok := s.users[strings.ToLower(strings.TrimSpace(username))]
	if !ok || (u.Password != "" && subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) != 1) {
		return errors.New("unknown user or wrong password")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[id]
	if !ok || r.expired() {
		return errors.New("this sign-in has expired: start again from the application")
	}
	if r.done {
		return errors.New("this sign-in is already complete")
	}
	r.userID, r.done, r.authTime = u.Username, true, time.Now().UTC()
	return nil
}

func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired() // no sessions: a sign-in always shows the form
	}
	// The library takes "plain" and no challenge for a confidential client; this client is public,
	// and only S256 protects a code intercepted on its way to a loopback redirect.
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method=S256 is required")
	}
	r := &authRequest{
		id: rand.Text(), created: time.Now(), clientID: req.ClientID, redirectURI: req.RedirectURI,
		state: req.State, nonce: req.Nonce, scopes: req.Scopes, responseType: req.ResponseType,
		responseMode: req.ResponseMode, challenge: &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropExpired()
	s.requests[r.id] = r
	return r, nil
}

// dropExpired forgets sign-ins older than authRequestLifetime. Called with mu held.
func (s *storage) dropExpired() {
	for id, r := range s.requests {
		if r.expired() {
			delete(s.requests, id)
		}
	}
	for code, id := range s.codes {
		if _, ok := s.requests[id]; !ok {
			delete(s.codes, code)
		}
	}
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[id]
	if !ok || r.expired() {
		return nil, errNotFound
	}
	return r, nil
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, errNotFound
	}
	return s.AuthRequestByID(ctx, id)
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest is called once the code has been exchanged: the code works once.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
	return nil
}

func (s *storage) CreateAccessToken(context.Context, op.TokenRequest) (string, time.Time, error) {
	return rand.Text(), time.Now().UTC().Add(s.lifetime), nil
}

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("no refresh tokens: sign in again")
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

func (s *storage) RevokeToken(context.Context, string, string, string) *oidc.Error {
	return nil // JWTs live until they expire; RFC 7009 answers 200 for a token it cannot revoke
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return &s.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) { return []op.Key{publicKey{&s.key}}, nil }

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != s.client.id {
		return nil, errNotFound
	}
	return s.client, nil
}

func (s *storage) AuthorizeClientIDSecret(context.Context, string, string) error {
	return errors.New("the client is public: it has no secret")
}

// SetUserinfoFromScopes is deprecated in the library; SetUserinfoFromRequest does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, _ []string) error {
	return s.setUserinfo(info, req.GetSubject())
}

// SetUserinfoFromToken answers the userinfo endpoint.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, _, subject, _ string) error {
	return s.setUserinfo(info, subject)
}

func (s *storage) setUserinfo(info *oidc.UserInfo, subject string) error {
	u, ok := s.users[strings.ToLower(subject)]
	if !ok {
		return fmt.Errorf("no user %q", subject)
	}
	info.Subject = u.Username
	info.PreferredUsername = u.Username
	if u.Email != "" {
		info.Email, info.EmailVerified = u.Email, true
	}
	info.AppendClaims(s.groupsClaim, groupsOf(u))
	return nil
}

func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errors.New("no introspection: the tokens are JWTs, verify them with the JWKS")
}

// GetPrivateClaimsFromScopes is what the access token (a JWT) says of the user besides sub: the
// same names and groups as the ID token, so the API reads either alike.
func (s *storage) GetPrivateClaimsFromScopes(_ context.Context, userID, _ string, _ []string) (map[string]any, error) {
	u, ok := s.users[strings.ToLower(userID)]
	if !ok {
		return nil, fmt.Errorf("no user %q", userID)
	}
	c := map[string]any{"preferred_username": u.Username, s.groupsClaim: groupsOf(u)}
	if u.Email != "" {
		c["email"], c["email_verified"] = u.Email, true
	}
	return c, nil
}

func groupsOf(u User) []string {
	if u.Groups == nil {
		return []string{}
	}
	return u.Groups
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("no JWT profile grant")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("no JWT profile grant")
}

func (s *storage) Health(context.Context) error { return nil }

// signingKey is the provider's one RSA key, made at start: tokens of an earlier run do not verify.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ *signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.signingKey.key.PublicKey }

// authRequest is one sign-in in progress (op.AuthRequest).
type authRequest struct {
	id, clientID, redirectURI, state, nonce string
	scopes                                  []string
	responseType                            oidc.ResponseType
	responseMode                            oidc.ResponseMode
	challenge                               *oidc.CodeChallenge
	created                                 time.Time

	userID   string
	done     bool
	authTime time.Time
}

func (r *authRequest) expired() bool { return time.Since(r.created) > authRequestLifetime }

func (r *authRequest) GetID() string                         { return r.id }
func (r *authRequest) GetACR() string                        { return "" }
func (r *authRequest) GetAudience() []string                 { return []string{r.clientID} }
func (r *authRequest) GetAuthTime() time.Time                { return r.authTime }
func (r *authRequest) GetClientID() string                   { return r.clientID }
func (r *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return r.challenge }
func (r *authRequest) GetNonce() string                      { return r.nonce }
func (r *authRequest) GetRedirectURI() string                { return r.redirectURI }
func (r *authRequest) GetResponseType() oidc.ResponseType    { return r.responseType }
func (r *authRequest) GetResponseMode() oidc.ResponseMode    { return r.responseMode }
func (r *authRequest) GetScopes() []string                   { return r.scopes }
func (r *authRequest) GetState() string                      { return r.state }
func (r *authRequest) GetSubject() string                    { return r.userID }
func (r *authRequest) Done() bool                            { return r.done }

func (r *authRequest) GetAMR() []string {
	if r.done {
		return []string{"pwd"}
	}
	return nil
}
