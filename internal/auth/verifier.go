package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// Algorithms is the allow-list of signature algorithms: RS256 (Cognito, most providers) and ES256.
// Everything else, "none" and the HMAC family (which would let a public key serve as a shared
// secret) included, is refused before any key is looked at.
var Algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// Verifier checks bearer tokens from one issuer for one client and maps them to an Identity.
//
// The JWT work is github.com/coreos/go-oidc/v3, a kept library: maintained and released
// steadily, relied on by Kubernetes' API server OIDC authenticator and oauth2-proxy, small (it
// brings only go-jose, which this module already uses, and golang.org/x/oauth2), and it does the
// parts that are easy to get wrong: the algorithm allow-list on parse, the signature, and the
// discovery document's issuer check. The JWKS is held here (jwks): go-oidc's RemoteKeySet fetches
// it again for every token no cached key verifies, so every forged token would cost a request to
// the identity provider; jwks fetches at most once per Config.JWKSRefetchInterval, and go-oidc
// verifies the signature with the keys it gives (a StaticKeySet).
//
// The claim checks are done here, for two reasons: Cognito access tokens have no aud (they carry
// client_id and token_use instead), which go-oidc's audience check cannot express; and each
// refusal needs its own typed Reason, which go-oidc's string errors do not give. They run before the
// signature is verified, on the claims as the token states them, only to say precisely why a
// token is refused and so that a token for another issuer, client or time costs no JWKS fetch;
// nothing is accepted until the signature verifies, and the Identity is built from the verified
// payload, checked again.
type Verifier struct {
	cfg    Config
	keys   *jwks
	oidc   *oidc.Config
	algSet []string
}

// NewVerifier checks cfg and, without JWKSURL, reads the issuer's discovery document (its issuer
// must equal cfg.Issuer) to find the JWKS. Keys are fetched when the first token needs them.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}

	url := cfg.JWKSURL
	if url == "" {
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, cfg.HTTPClient), cfg.Issuer)
		if err != nil {
			return nil, fmt.Errorf("auth: discovering %s: %w", cfg.Issuer, err)
		}
		var doc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := p.Claims(&doc); err != nil {
			return nil, fmt.Errorf("auth: reading %s's discovery document: %w", cfg.Issuer, err)
		}
		if err := CheckURL("the discovery document's jwks_uri", doc.JWKSURI); err != nil {
			return nil, fmt.Errorf("auth: %s: %w", cfg.Issuer, err)
		}
		url = doc.JWKSURI
	}

	algs := make([]string, len(Algorithms))
	for i, a := range Algorithms {
		algs[i] = string(a)
	}
	return &Verifier{
		cfg:  cfg,
		keys: &jwks{url: url, client: cfg.HTTPClient, every: cfg.JWKSRefetchInterval, now: cfg.Now},
		oidc: &oidc.Config{
			SupportedSigningAlgs: algs,
			// No aud in Cognito access tokens: the audience rule (aud, else client_id) is checkClaims'.
			SkipClientIDCheck: true,
			Now:               cfg.Now,
			// go-oidc checks iss and exp too (and nbf, with 5 minutes of leeway): the same verdicts as
			// checkClaims, which has already refused what they would.
		},
		algSet: algs,
	}, nil
}

// JWKSURL is where the verifier fetches the issuer's keys (configured, or from discovery).
func (v *Verifier) JWKSURL() string { return v.keys.url }

// Verify checks a raw token and returns the caller's Identity. Every error is an *Error.
func (v *Verifier) Verify(ctx context.Context, raw string) (Identity, error) {
	if len(raw) > MaxTokenLength {
		return Identity{}, refuse(Malformed, "longer than MaxTokenLength")
	}
	kid, err := v.checkHeader(raw)
	if err != nil {
		return Identity{}, err
	}
	jws, err := jose.ParseSigned(raw, Algorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return Identity{}, refuse(Malformed, "not a compact JWS with one signature")
	}
	stated, err := decodeClaims(jws.UnsafePayloadWithoutVerification(), v.cfg.GroupsClaim)
	if err != nil {
		return Identity{}, err
	}
	if err := v.checkClaims(stated); err != nil {
		return Identity{}, err
	}

	keys, err := v.keys.lookup(ctx, kid)
	if err != nil {
		return Identity{}, err
	}
	tok, err := oidc.NewVerifier(v.cfg.Issuer, &oidc.StaticKeySet{PublicKeys: keys}, v.oidc).Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return Identity{}, refuse(Expired, "exp "+expired.Expiry.UTC().Format(time.RFC3339))
		}
		return Identity{}, refuse(Signature, fmt.Sprintf("no key of %s verifies it (kid %q)", v.keys.url, kid))
	}

	var payload json.RawMessage
	if err := tok.Claims(&payload); err != nil {
		return Identity{}, refuse(Malformed, "the verified payload is not JSON")
	}
	verified, err := decodeClaims(payload, v.cfg.GroupsClaim)
	if err != nil {
		return Identity{}, err
	}
	if err := v.checkClaims(verified); err != nil {
		return Identity{}, err
	}
	return v.identity(verified)
}

// checkHeader reads the protected header as stated, so that a token signed with a refused algorithm
// ("none" included, which go-jose will not even parse) is called that, and returns its kid.
func (v *Verifier) checkHeader(raw string) (kid string, err error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", refuse(Malformed, fmt.Sprintf("%d dot-separated parts, not 3", len(parts)))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return "", refuse(Malformed, "the header is not base64url")
	}
	// by exact names, each once and in one case (objectMembers), as go-jose reads them
	members, err := objectMembers(b)
	if err != nil {
		return "", refuse(Malformed, "the header is not a JSON object with each member once")
	}
	var alg string
	for name, dst := range map[string]*string{"alg": &alg, "kid": &kid} {
		if raw, ok := members[name]; ok && json.Unmarshal(raw, dst) != nil {
			return "", refuse(Malformed, fmt.Sprintf("the header's %s is not a string", name))
		}
	}
	if !slices.Contains(v.algSet, alg) {
		return "", refuse(Algorithm, fmt.Sprintf("alg %q", alg))
	}
	return kid, nil
}

// checkClaims applies the issuer, audience and time rules:
//
//   - iss equals Config.Issuer exactly (for Cognito, the only thing that tells pools apart);
//   - token_use, when present (Cognito), is "id" or "access";
//   - aud, when present, contains Config.Audience; a token without aud must have client_id equal to
//     it (Cognito access tokens);
//   - azp, when present, equals Config.Audience, and a token with several audiences must have it
//     (OpenID Connect Core 1.0 §3.1.3.7, items 4 and 5: the client it was issued to);
//   - exp is present and in the future, with no leeway (a clock running ahead refuses a token a
//     little early, and the client signs in again);
//   - nbf and iat, when present, are at most Config.Leeway in the future (a clock running behind
//     still accepts a token the moment it is minted);
//   - sub is present.
func (v *Verifier) checkClaims(c claims) error {
	now := v.cfg.Now()
	switch {
	case c.Issuer != v.cfg.Issuer:
		return refuse(Issuer, fmt.Sprintf("iss %q, want %q", c.Issuer, v.cfg.Issuer))
	case c.TokenUse != "" && c.TokenUse != "id" && c.TokenUse != "access":
		return refuse(TokenUse, fmt.Sprintf("token_use %q", c.TokenUse))
	case len(c.Audience) > 0 && !c.Audience.contains(v.cfg.Audience):
		return refuse(Audience, fmt.Sprintf("aud %q, want %q", []string(c.Audience), v.cfg.Audience))
	case len(c.Audience) == 0 && c.TokenUse != "access":
		// only a Cognito access token names its client by client_id; any other (an ID token) has aud
		return refuse(Audience, fmt.Sprintf("no aud in a token that is not an access token (token_use %q)", c.TokenUse))
	case len(c.Audience) == 0 && c.ClientID != v.cfg.Audience:
		return refuse(Audience, fmt.Sprintf("no aud, client_id %q, want %q", c.ClientID, v.cfg.Audience))
	case c.AuthorizedParty != nil && *c.AuthorizedParty != v.cfg.Audience:
		return refuse(Audience, fmt.Sprintf("azp %q, want %q", *c.AuthorizedParty, v.cfg.Audience))
	case len(c.Audience) > 1 && c.AuthorizedParty == nil:
		return refuse(Audience, fmt.Sprintf("%d audiences and no azp", len(c.Audience)))
	case c.Expiry == nil:
		return refuse(Claims, "no exp")
	case !now.Before(c.Expiry.Time):
		return refuse(Expired, "exp "+c.Expiry.UTC().Format(time.RFC3339))
	case c.NotBefore != nil && c.NotBefore.After(now.Add(v.cfg.Leeway)):
		return refuse(NotYetValid, "nbf "+c.NotBefore.UTC().Format(time.RFC3339))
	case c.IssuedAt != nil && c.IssuedAt.After(now.Add(v.cfg.Leeway)):
		return refuse(NotYetValid, "iat "+c.IssuedAt.UTC().Format(time.RFC3339))
	case strings.TrimSpace(c.Subject) == "":
		return refuse(Claims, "no sub")
	}
	return nil
}
