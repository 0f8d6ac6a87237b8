package broker

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The federation endpoint (signin.aws.amazon.com) cannot be reached from here: a local stand-in
// answers as AWS documents it, and checks what the broker sends.
func TestBrokerConsoleSignInURL(t *testing.T) {
	creds := Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret/key+", SessionToken: "tok=="}
	var got url.Values
	fed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query()
		_ = json.NewEncoder(w).Encode(map[string]string{"SigninToken": "SIGNIN-123"})
	}))
	defer fed.Close()
	c := &Console{Endpoint: fed.URL, Issuer: "https://support.doit.com"}
	link, err := c.SignInURL(t.Context(), creds)
	require.NoError(t, err)

	assert.Equal(t, "getSigninToken", got.Get("Action"))
	var session map[string]string
	require.NoError(t, json.Unmarshal([]byte(got.Get("Session")), &session))
	assert.Equal(t, map[string]string{"sessionId": "ASIAEXAMPLE", "sessionKey": "secret/key+", "sessionToken": "tok=="}, session)

	u, err := url.Parse(link)
	require.NoError(t, err)
	assert.Equal(t, fed.URL, u.Scheme+"://"+u.Host)
	q := u.Query()
	assert.Equal(t, "login", q.Get("Action"))
	assert.Equal(t, "SIGNIN-123", q.Get("SigninToken"))
	assert.Equal(t, "https://console.aws.amazon.com/", q.Get("Destination"))
	assert.Equal(t, "https://support.doit.com", q.Get("Issuer"))
	assert.NotContains(t, link, "secret", "the login URL carries the sign-in token, not the session's keys")
}

func TestBrokerConsoleSignInFailuresNeverShowTheSecret(t *testing.T) {
	creds := Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "the-secret-key", SessionToken: "the-session-token"}
	for name, handler := range map[string]http.HandlerFunc{
		"refused":  func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusBadRequest) },
		"no token": func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{}`)) },
	} {
		t.Run(name, func(t *testing.T) {
			fed := httptest.NewServer(handler)
			defer fed.Close()
			_, err := (&Console{Endpoint: fed.URL}).SignInURL(t.Context(), creds)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "the-secret-key")
			assert.NotContains(t, err.Error(), "the-session-token")
		})
	}
	// unreachable endpoint: the *url.Error would carry the URL with the session in it
	_, err := (&Console{Endpoint: "http://127.0.0.1:1"}).SignInURL(t.Context(), creds)
	require.Error(t, err)
	assert.False(t, strings.Contains(err.Error(), "the-secret-key") || strings.Contains(err.Error(), "the-session-token"), err.Error())
}
