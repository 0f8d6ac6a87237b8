package auth_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/auth"
)

// payload is a JSON object written member by member, in order, as the test gives them: a map
// would sort the names and fold duplicates.
func payload(t *testing.T, members ...any) []byte {
	t.Helper()
	require.Zero(t, len(members)%2, "name, value pairs")
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < len(members); i += 2 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(members[i].(string)) // written as is: a test may escape it
		b.WriteString(":")
		b.Write(mustJSON(t, members[i+1]))
	}
	b.WriteString("}")
	return []byte(b.String())
}

// members are the valid engineer token's claims (testIssuer.claims) as name, value pairs, with the
// names quoted, for payload; drop leaves out those named.
func (ti *testIssuer) members(t *testing.T, drop ...string) []any {
	var out []any
	for name, v := range ti.claims(nil) {
		if !slices.Contains(drop, name) {
			out = append(out, string(mustJSON(t, name)), v)
		}
	}
	return out
}

// signRS256 signs header and payload as written (go-jose would write its own header) with key.
func signRS256(t *testing.T, key *rsa.PrivateKey, header, payload []byte) string {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	require.NoError(t, err)
	return input + "." + b64(sig)
}

// TestClaimNamesAreExact: claims are read by their exact names, as JWT (RFC 7519 §4) has them, not
// case-insensitively as encoding/json matches struct fields: a claim named "ISS" or
// "Email_Verified" does not stand in for the real one. A payload or header that names one member
// twice, or in two cases ("email" and "EMAIL", which encoding/json, and go-oidc with it, would read
// as one), is refused: which of the two counts would be the parser's choice.
func TestClaimNamesAreExact(t *testing.T) {
	ti := newTestIssuer(t)
	v := ti.verifier(t)
	good := ti.claims(nil)
	cases := map[string]struct {
		payload   []byte
		want      auth.Reason // "" accepted
		principal string
	}{
		"ISS instead of iss": {
			payload: payload(t, append(ti.members(t, "iss"), `"ISS"`, ti.url())...),
			want:    auth.Issuer,
		},
		"Iss beside iss": {
			payload: payload(t, append(ti.members(t), `"Iss"`, "https://evil.example")...),
			want:    auth.Claims,
		},
		"AUD instead of aud": {
			payload: payload(t, append(ti.members(t, "aud"), `"AUD"`, testClient)...),
			want:    auth.Audience,
		},
		"Email_Verified instead of email_verified": {
			payload: payload(t, append(ti.members(t, "email_verified"), `"Email_Verified"`, true)...),
			want:    auth.EngineerWithoutEmail,
		},
		"EMAIL beside email": {
			payload: payload(t, append(ti.members(t), `"EMAIL"`, "mallory@doit.com")...),
			want:    auth.Claims,
		},
		"Email_Verified false beside email_verified": {
			payload: payload(t, append(ti.members(t), `"Email_Verified"`, false)...),
			want:    auth.Claims,
		},
		"sub with a long s (U+017F, which folds to s) beside sub": {
			payload: payload(t, append(ti.members(t), `"\u017fub"`, "someone-else")...),
			want:    auth.Claims,
		},
		"an unknown claim in two cases": {
			payload: payload(t, append(ti.members(t), `"x-Tenant"`, "acme", `"X-TENANT"`, "globex")...),
			want:    auth.Claims,
		},
		"an unknown claim": {
			payload:   payload(t, append(ti.members(t), `"x-tenant"`, "acme")...),
			principal: "alice@doit.com",
		},
		"EXP instead of exp": {
			payload: payload(t, append(ti.members(t, "exp"), `"EXP"`, good["exp"])...),
			want:    auth.Claims,
		},
		"SUB instead of sub": {
			payload: payload(t, append(ti.members(t, "sub"), `"SUB"`, "someone")...),
			want:    auth.Claims,
		},
		"COGNITO:GROUPS instead of cognito:groups": {
			payload: payload(t, append(ti.members(t, "cognito:groups"), `"COGNITO:GROUPS"`, []string{testEngineer})...),
			want:    auth.NoRole,
		},
		"Cognito:Username instead of cognito:username, no verified e-mail": {
			payload: payload(t, append(ti.members(t, "cognito:username", "email_verified", "cognito:groups"),
				`"Cognito:Username"`, "bob", `"cognito:groups"`, []string{"tenant:acme"})...),
			want: auth.NoUser,
		},
		"sub twice": {
			payload: payload(t, append(ti.members(t), `"sub"`, "someone-else")...),
			want:    auth.Claims,
		},
		"email twice, once escaped": {
			payload: payload(t, append(ti.members(t), `"em\u0061il"`, "mallory@doit.com")...),
			want:    auth.Claims,
		},
		"cognito:groups twice": {
			payload: payload(t, append(ti.members(t), `"cognito:groups"`, []string{"tenant:acme"})...),
			want:    auth.Claims,
		},
		"an unknown claim twice": {
			payload: payload(t, append(ti.members(t), `"x"`, 1, `"x"`, 2)...),
			want:    auth.Claims,
		},
		"text after the object": {
			payload: append(payload(t, ti.members(t)...), []byte(` {}`)...),
			want:    auth.Malformed,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			id, err := v.Verify(t.Context(), sign(t, jose.RS256, ti.rsa, "rsa-1", tc.payload))
			if tc.want != "" {
				requireReason(t, tc.want, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.principal, id.Principal())
		})
	}

	body := payload(t, ti.members(t)...)
	headers := map[string]struct {
		header string
		want   auth.Reason
	}{
		"as go-jose writes it":   {`{"alg":"RS256","kid":"rsa-1","typ":"JWT"}`, ""},
		"kid twice":              {`{"alg":"RS256","kid":"rsa-1","kid":"rsa-2"}`, auth.Malformed},
		"alg twice":              {`{"alg":"RS256","alg":"RS256","kid":"rsa-1"}`, auth.Malformed},
		"ALG instead of alg":     {`{"ALG":"RS256","kid":"rsa-1"}`, auth.Algorithm},
		"ALG none beside alg":    {`{"alg":"RS256","ALG":"none","kid":"rsa-1"}`, auth.Malformed},
		"KID beside kid":         {`{"alg":"RS256","kid":"rsa-1","KID":"rsa-2"}`, auth.Malformed},
		"text after the header":  {`{"alg":"RS256","kid":"rsa-1"} x`, auth.Malformed},
		"the header not a value": {`["alg","RS256"]`, auth.Malformed},
	}
	for name, tc := range headers {
		t.Run("header "+name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), signRS256(t, ti.rsa, []byte(tc.header), body))
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			requireReason(t, tc.want, err)
		})
	}
}
