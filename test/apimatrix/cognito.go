package apimatrix

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os/exec"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/supportaccess/gateway/test/moto"
)

// EngineerGroup is the vendor's engineers' group in the pool (OIDC_ENGINEER_GROUP).
const EngineerGroup = "doit-engineers"

// password is every user's permanent password.
const password = "Correct-Horse-9"

// Pool is a user pool on moto's Cognito with its first app client, the one the server accepts.
type Pool struct {
	client   *cip.Client
	ID       string // us-east-1_…
	ClientID string
	// JWKSURL is where moto serves the pool's keys (it serves no discovery document).
	JWKSURL string
}

// Issuer is the pool's iss, as Cognito (and moto) writes it.
func (p *Pool) Issuer() string {
	return "https://cognito-idp." + moto.Region + ".amazonaws.com/" + p.ID
}

// newPool creates a pool named name with an app client, and the engineer and tenant groups.
func newPool(ctx context.Context, srv *moto.Server, name string, groups ...string) (*Pool, error) {
	cfg, err := srv.Config(ctx, "")
	if err != nil {
		return nil, err
	}
	c := cip.NewFromConfig(cfg)
	out, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("creating user pool %s: %w", name, err)
	}
	p := &Pool{client: c, ID: aws.ToString(out.UserPool.Id)}
	p.JWKSURL = srv.URL() + "/" + p.ID + "/.well-known/jwks.json"
	if p.ClientID, err = p.AppClient(ctx, name+"-app"); err != nil {
		return nil, err
	}
	for _, g := range groups {
		if _, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: aws.String(p.ID), GroupName: aws.String(g)}); err != nil {
			return nil, fmt.Errorf("creating group %s in %s: %w", g, name, err)
		}
	}
	return p, nil
}

// AppClient adds an app client that signs in with the admin password flow and reads the e-mail.
func (p *Pool) AppClient(ctx context.Context, name string) (string, error) {
	out, err := p.client.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId: aws.String(p.ID), ClientName: aws.String(name),
		ExplicitAuthFlows: []ciptypes.ExplicitAuthFlowsType{ciptypes.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth},
		ReadAttributes:    []string{"email", "email_verified"},
	})
	if err != nil {
		return "", fmt.Errorf("creating app client %s in %s: %w", name, p.ID, err)
	}
	return aws.ToString(out.UserPoolClient.ClientId), nil
}

// User creates a user with a verified e-mail, a permanent password and groups.
func (p *Pool) User(ctx context.Context, username, email string, groups ...string) error {
	_, err := p.client.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: aws.String(p.ID), Username: aws.String(username), MessageAction: ciptypes.MessageActionTypeSuppress,
		UserAttributes: []ciptypes.AttributeType{
			{Name: aws.String("email"), Value: aws.String(email)},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
		},
	})
	if err != nil {
		return fmt.Errorf("creating user %s in %s: %w", username, p.ID, err)
	}
	_, err = p.client.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
		UserPoolId: aws.String(p.ID), Username: aws.String(username), Password: aws.String(password), Permanent: true,
	})
	if err != nil {
		return fmt.Errorf("setting the password of %s in %s: %w", username, p.ID, err)
	}
	for _, g := range groups {
		_, err := p.client.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{
			UserPoolId: aws.String(p.ID), Username: aws.String(username), GroupName: aws.String(g),
		})
		if err != nil {
			return fmt.Errorf("adding %s to %s in %s: %w", username, g, p.ID, err)
		}
	}
	return nil
}

// IDToken signs username in through clientID (AdminInitiateAuth, ADMIN_USER_PASSWORD_AUTH) and
// returns the ID token moto's Cognito issued.
func (p *Pool) IDToken(ctx context.Context, clientID, username string) (string, error) {
	out, err := p.client.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{
		UserPoolId: aws.String(p.ID), ClientId: aws.String(clientID), AuthFlow: ciptypes.AuthFlowTypeAdminUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": username, "PASSWORD": password},
	})
	if err != nil {
		return "", fmt.Errorf("signing %s in to %s: %w", username, p.ID, err)
	}
	if out.AuthenticationResult == nil {
		return "", fmt.Errorf("signing %s in to %s: a challenge (%s), not tokens", username, p.ID, out.ChallengeName)
	}
	return aws.ToString(out.AuthenticationResult.IdToken), nil
}

// MotoKey is the RSA key moto signs every pool's tokens with, read from the installed moto package
// (it has no API for it). Its key ID is the one in moto's JWKS and tokens.
type MotoKey struct {
	Key *rsa.PrivateKey
	ID  string
}

// readMotoKey loads moto's bundled signing key the way moto does, through python3.
func readMotoKey(ctx context.Context) (MotoKey, error) {
	const script = `import json; from moto.utilities.utils import load_resource; ` +
		`print(json.dumps(load_resource("moto.cognitoidp.models", "resources/jwks-private.json")))`
	out, err := exec.CommandContext(ctx, "python3", "-c", script).Output()
	if err != nil {
		detail := ""
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			detail = ": " + strings.TrimSpace(string(ee.Stderr))
		}
		return MotoKey{}, fmt.Errorf("reading moto's Cognito signing key with python3 (is moto installed for python3? pip install -r requirements.txt): %w%s", err, detail)
	}
	var jwk struct{ Kty, Kid, N, E, D string }
	if err := json.Unmarshal(out, &jwk); err != nil {
		return MotoKey{}, fmt.Errorf("decoding moto's Cognito signing key: %w", err)
	}
	if jwk.Kty != "RSA" || jwk.N == "" || jwk.E == "" || jwk.D == "" {
		return MotoKey{}, fmt.Errorf("moto's Cognito signing key is not an RSA private key (kty %q)", jwk.Kty)
	}
	var n, e, d big.Int
	for _, f := range []struct {
		v   *big.Int
		b64 string
	}{{&n, jwk.N}, {&e, jwk.E}, {&d, jwk.D}} {
		b, err := base64.RawURLEncoding.DecodeString(f.b64)
		if err != nil {
			return MotoKey{}, fmt.Errorf("decoding moto's Cognito signing key: %w", err)
		}
		f.v.SetBytes(b)
	}
	// moto's JWK has no primes: the key signs without the CRT
	return MotoKey{Key: &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: &n, E: int(e.Int64())}, D: &d}, ID: jwk.Kid}, nil
}

// Sign is a compact RS256 JWS of claims, with moto's header (its key ID), signed with moto's key.
func (k MotoKey) Sign(claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "kid": k.ID})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("signing with moto's key: %w", err)
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// Claims are a token's claims, unverified.
func Claims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("a token of %d parts, not 3", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("decoding a token's payload: %w", err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("decoding a token's claims: %w", err)
	}
	return c, nil
}

// Tamper returns token with one bit of its signature flipped (in the middle, where base64url has
// no spare bits): the same header and claims, a signature no key verifies.
func Tamper(token string) (string, error) {
	i := strings.LastIndexByte(token, '.')
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil || len(sig) == 0 {
		return "", fmt.Errorf("decoding a token's signature: %v", err)
	}
	sig[len(sig)/2] ^= 0x01
	return token[:i+1] + base64.RawURLEncoding.EncodeToString(sig), nil
}
