package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/auth"
)

// TestRequire: the middleware's answers, header by header, and the Identity it hands on.
func TestRequire(t *testing.T) {
	ti := newTestIssuer(t)
	var logs bytes.Buffer
	v := ti.verifier(t, func(c *auth.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	var got auth.Identity
	h := auth.Require(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := auth.FromContext(r.Context())
		require.True(t, ok)
		got = id
		_, _ = w.Write([]byte(id.Principal()))
	}))
	good := ti.token(t, nil)
	expired := ti.token(t, map[string]any{"exp": time.Now().Add(-time.Minute).Unix()})
	customer := ti.token(t, map[string]any{"cognito:username": "bob", "email": "bob@acme.example", "cognito:groups": []string{"tenant:acme"}})
	noRole := ti.token(t, map[string]any{"cognito:groups": []string{"staff"}})

	cases := map[string]struct {
		header    []string
		status    int
		challenge string
		body      string
	}{
		"engineer":             {[]string{"Bearer " + good}, 200, "", "alice@doit.com"},
		"scheme in lower case": {[]string{"bearer " + good}, 200, "", "alice@doit.com"},
		"customer":             {[]string{"Bearer " + customer}, 200, "", "tenant:acme/bob@acme.example"},
		"no header":            {nil, 401, "Bearer", `{"error":"sign in: send Authorization: Bearer <token>"}`},
		"Basic":                {[]string{"Basic YWxpY2U6cHc="}, 401, "Bearer", `{"error":"the Authorization header must use the Bearer scheme"}`},
		"Bearer without token": {[]string{"Bearer"}, 400, `Bearer error="invalid_request", error_description="send exactly one Authorization: Bearer <token> header"`, ""},
		"two headers":          {[]string{"Bearer " + good, "Bearer " + good}, 400, `Bearer error="invalid_request", error_description="send exactly one Authorization: Bearer <token> header"`, ""},
		"malformed":            {[]string{"Bearer abc.def"}, 401, `Bearer error="invalid_token", error_description="the token is not a signed JWT: sign in again"`, ""},
		"expired":              {[]string{"Bearer " + expired}, 401, `Bearer error="invalid_token", error_description="the token has expired: sign in again"`, ""},
		"tampered":             {[]string{"Bearer " + flipSignatureByte(t, good)}, 401, `Bearer error="invalid_token", error_description="the token signature does not verify with the issuer keys"`, ""},
		"signed in, no role":   {[]string{"Bearer " + noRole}, 403, `Bearer error="insufficient_scope", error_description="signed in, but not in the engineer group or a tenant group"`, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got = auth.Identity{}
			logs.Reset()
			r := httptest.NewRequest(http.MethodGet, "/requests", nil)
			for _, h := range tc.header {
				r.Header.Add("Authorization", h)
			}
			// Nothing else of the request names the caller.
			r.Header.Set("X-Support-Principal", "tenant:acme/mallory")
			r.Header.Set("X-Forwarded-User", "mallory")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tc.status, w.Code)
			assert.Equal(t, tc.challenge, w.Header().Get("WWW-Authenticate"))
			if tc.status == 200 {
				assert.Equal(t, tc.body, w.Body.String())
				assert.NotEqual(t, "mallory", got.Username)
				assert.Empty(t, logs.String(), "an accepted request is not logged here")
				return
			}
			assert.Zero(t, got, "the handler is not reached")
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
			var body map[string]string
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
			assert.NotEmpty(t, body["error"])
			if tc.body != "" {
				assert.JSONEq(t, tc.body, w.Body.String())
			}
			assert.Contains(t, logs.String(), `"msg":"request refused"`)
			for _, tok := range []string{good, expired, noRole} {
				assert.NotContains(t, logs.String(), tok, "the token is never logged")
				assert.NotContains(t, logs.String(), strings.Split(tok, ".")[2], "nor its signature")
			}
		})
	}
}

// TestAuthenticateIgnoresQueryAndForm: a token anywhere but the Authorization header is no token
// (RFC 6750 also allows a form field or a query parameter; they leak into logs, so not here).
func TestAuthenticateIgnoresQueryAndForm(t *testing.T) {
	ti := newTestIssuer(t)
	v := ti.verifier(t)
	tok := ti.token(t, nil)
	r := httptest.NewRequest(http.MethodPost, "/requests?access_token="+tok, strings.NewReader("access_token="+tok))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(&http.Cookie{Name: "access_token", Value: tok})
	_, err := v.Authenticate(r)
	requireReason(t, auth.NoToken, err)
}

// TestChallengesAreRFC6750: every reason's description is a valid error_description (RFC 6750 §3:
// %x20-21 / %x23-5B / %x5D-7E), and the status classes are as documented.
func TestChallengesAreRFC6750(t *testing.T) {
	valid := regexp.MustCompile(`^[\x20-\x21\x23-\x5B\x5D-\x7E]+$`)
	all := []auth.Reason{auth.NoToken, auth.WrongScheme, auth.BadRequest, auth.Malformed, auth.Algorithm, auth.Claims,
		auth.Issuer, auth.TokenUse, auth.Audience, auth.Expired, auth.NotYetValid, auth.Signature, auth.UnknownKey, auth.KeysUnavailable,
		auth.NoUser, auth.NoRole, auth.TenantAmbiguous, auth.TenantInvalid}
	challenge := regexp.MustCompile(`^Bearer( error="(invalid_request|invalid_token|insufficient_scope)", error_description="[^"\\]+")?$`)
	for _, r := range all {
		assert.Regexp(t, valid, r.Description(), r)
		e := &auth.Error{Reason: r}
		switch r.Status() {
		case 503:
			assert.Empty(t, e.Challenge(), r)
		case 400, 401, 403:
			assert.Regexp(t, challenge, e.Challenge(), r)
		default:
			t.Errorf("%s: status %d", r, r.Status())
		}
	}
	assert.Equal(t, 403, auth.NoRole.Status())
	assert.Equal(t, 401, auth.Expired.Status())
}

// TestRefusalLogsAreClipped: what a caller chose (a claim's value, the kid, the groups, the path)
// reaches the refusal's log line clipped to auth.MaxDetailBytes, marked as clipped, and never the
// token or its signature: a 16 KiB token does not make a 16 KiB log line.
func TestRefusalLogsAreClipped(t *testing.T) {
	ti := newTestIssuer(t)
	var logs bytes.Buffer
	v := ti.verifier(t, func(c *auth.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	h := auth.Require(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("let through") }))
	long := strings.Repeat("A", 10<<10)
	many := make([]string, 400)
	for i := range many {
		many[i] = "staff-group-" + strings.Repeat("g", 10)
	}
	cases := map[string]struct {
		token  string
		path   string
		status int
	}{
		"a long iss":            {ti.token(t, map[string]any{"iss": "https://" + long}), "/requests", 401},
		"a long aud":            {ti.token(t, map[string]any{"aud": []string{long, "x"}}), "/requests", 401},
		"a long token_use":      {ti.token(t, map[string]any{"token_use": long}), "/requests", 401},
		"a long kid":            {sign(t, jose.RS256, ti.rsa, long, ti.claims(nil)), "/requests", 401},
		"many groups, no role":  {ti.token(t, map[string]any{"cognito:groups": many}), "/requests", 403},
		"a long path":           {ti.token(t, map[string]any{"iss": "https://evil.example"}), "/" + long, 401},
		"a long tenant":         {ti.token(t, map[string]any{"cognito:groups": []string{"tenant:" + long + "/x"}}), "/requests", 403},
		"a long algorithm name": {signRS256(t, ti.rsa, []byte(`{"alg":"`+long+`","kid":"rsa-1"}`), mustJSON(t, ti.claims(nil))), "/requests", 401},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			require.LessOrEqual(t, len(tc.token), auth.MaxTokenLength)
			logs.Reset()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.URL.Path = tc.path
			r.Header.Set("Authorization", "Bearer "+tc.token)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			require.Equal(t, tc.status, w.Code, "%s", w.Body)

			var line map[string]any
			require.NoError(t, json.Unmarshal(logs.Bytes(), &line), "one JSON line: %s", logs.String())
			assert.Equal(t, "request refused", line["msg"])
			detail, _ := line["detail"].(string)
			path, _ := line["path"].(string)
			assert.LessOrEqual(t, len(detail), auth.MaxDetailBytes+40, "the detail is clipped")
			assert.LessOrEqual(t, len(path), auth.MaxDetailBytes+40, "the path is clipped")
			assert.Contains(t, detail+path, "[clipped", "and says so")
			assert.Less(t, logs.Len(), 1200, "one short line")
			parts := strings.Split(tc.token, ".")
			assert.NotContains(t, logs.String(), parts[2][:32], "no signature text")
			assert.NotContains(t, logs.String(), parts[1][:32], "no payload text")
		})
	}
}

// TestRequireOnForbidden: OnForbidden's function gets each refusal of a verified caller without a
// role (403), named by their verified e-mail address or else their sub, and nothing for a request
// whose token does not verify (401, 400) or cannot be checked (503); its error changes no answer.
func TestRequireOnForbidden(t *testing.T) {
	ti := newTestIssuer(t)
	v := ti.verifier(t)
	var got []auth.Forbidden
	fail := false
	h := auth.Require(v, auth.OnForbidden(func(ctx context.Context, f auth.Forbidden) error {
		got = append(got, f)
		if fail {
			return errors.New("the table is gone")
		}
		return nil
	}))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	cases := map[string]struct {
		header string
		status int
		want   []auth.Forbidden
	}{
		"engineer": {"Bearer " + ti.token(t, nil), 200, nil},
		"no role": {"Bearer " + ti.token(t, map[string]any{"cognito:groups": []string{"staff"}}), 403,
			[]auth.Forbidden{{Principal: "alice@doit.com", Reason: auth.NoRole, Detail: `groups ["staff"] have neither "doit-engineers" nor a "tenant:<tenant>" group`}}},
		"two tenants, no verified e-mail": {"Bearer " + ti.token(t, map[string]any{"cognito:groups": []string{"tenant:a", "tenant:b"}, "email_verified": false}), 403,
			[]auth.Forbidden{{Principal: "sub:0f1e2d3c-user-alice", Reason: auth.TenantAmbiguous, Detail: `tenant groups for ["a" "b"]`}}},
		"no token":           {"", 401, nil},
		"not b64token":       {"Bearer a, Bearer b", 400, nil},
		"expired":            {"Bearer " + ti.token(t, map[string]any{"exp": time.Now().Add(-time.Minute).Unix(), "cognito:groups": []string{"staff"}}), 401, nil},
		"forged, no role":    {"Bearer " + sign(t, jose.RS256, rsaKey(t), "rsa-1", ti.claims(map[string]any{"cognito:groups": []string{"staff"}})), 401, nil},
		"made-up kid":        {"Bearer " + sign(t, jose.RS256, rsaKey(t), "nope", ti.claims(map[string]any{"cognito:groups": []string{"staff"}})), 401, nil},
		"engineer, no email": {"Bearer " + ti.token(t, map[string]any{"email_verified": false}), 401, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got = nil
			r := httptest.NewRequest(http.MethodGet, "/requests", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tc.status, w.Code)
			assert.Equal(t, tc.want, got)
		})
	}
	t.Run("the function fails", func(t *testing.T) {
		fail, got = true, nil
		r := httptest.NewRequest(http.MethodGet, "/requests", nil)
		r.Header.Set("Authorization", "Bearer "+ti.token(t, map[string]any{"cognito:groups": []string{"staff"}}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		assert.Equal(t, http.StatusForbidden, w.Code)
		assert.Len(t, got, 1)
	})
}
