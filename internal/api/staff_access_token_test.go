package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/supportaccess/gateway/internal/api"
	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/registry"
)

// staffRegistry: one account, 111122223333, acme's.
type staffRegistry struct{}

func (staffRegistry) Account(_ context.Context, account string) (registry.AccountState, error) {
	st := registry.AccountState{AccountID: account}
	if account == "111122223333" {
		st.Management = &registry.Onboarding{AccountID: account, Kind: registry.Management, Tenant: "acme", Status: registry.Registered}
	}
	return st, nil
}

// The staff rule (a customer principal whose address is at a staff domain never decides) reads the
// verified e-mail. The same staff member's Cognito access token (same pool, client and groups, no
// e-mail claim) once named them tenant:acme/sub:<sub>, which the rule cannot recognise, and they
// approved for the customer (found in review). A customer's token without a verified e-mail is now
// refused at sign-in: the request stays pending.
func TestStaffCannotApproveWithAnAccessToken(t *testing.T) {
	cfg, err := motoSrv.Server(t).Config(t.Context(), "")
	require.NoError(t, err)
	client := dynamodb.NewFromConfig(cfg)
	require.NoError(t, broker.CreateTable(t.Context(), client, "broker-staff-access-token"))
	b, err := broker.New(broker.Config{}, staffRegistry{}, nil, nil, client, "broker-staff-access-token")
	require.NoError(t, err)

	p := newIDP(t)
	v, err := auth.NewVerifier(t.Context(), auth.Config{Issuer: oidcIssuer, Audience: oidcClient, JWKSURL: p.jwks.URL,
		EngineerGroup: "doit-engineers", Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	require.NoError(t, err)
	h := api.SignedIn(b, v)
	do := func(method, path, token, body string) (int, string) {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}

	// the engineer asks
	code, body := do("POST", "/requests", p.token(t, p.key, "k1", "alice@doit.com", "doit-engineers"),
		`{"account":"111122223333","ticket":"SUP-1","justification":"slow queries","duration":"30m"}`)
	require.Equal(t, http.StatusCreated, code, body)
	var req struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(body), &req))

	// carol is the vendor's staff (carol@doit.com), also put in acme's group
	now := time.Now()
	idToken := signClaims(t, p.key, "k1", map[string]any{"iss": oidcIssuer, "aud": oidcClient, "sub": "sub-carol", "token_use": "id",
		"exp": now.Add(time.Hour).Unix(), "email": "carol@doit.com", "email_verified": true,
		"cognito:username": "carol", "cognito:groups": []string{"tenant:acme"}})
	code, body = do("POST", "/requests/"+req.ID+"/approve", idToken, "")
	require.Equal(t, http.StatusForbidden, code, "with the ID token the staff rule holds: %s", body)

	// Cognito's access token of the same sign-in: no aud, client_id, no e-mail
	accessToken := signClaims(t, p.key, "k1", map[string]any{"iss": oidcIssuer, "client_id": oidcClient, "sub": "sub-carol",
		"token_use": "access", "exp": now.Add(time.Hour).Unix(), "username": "carol", "cognito:groups": []string{"tenant:acme"}})
	code, body = do("POST", "/requests/"+req.ID+"/approve", accessToken, "")
	assert.Equal(t, http.StatusUnauthorized, code, "a customer's token names them by a verified e-mail, or not at all: %s", body)
	assert.Contains(t, body, "a customer token must carry a verified e-mail: send the ID token")
	r, err := b.Get(t.Context(), req.ID)
	require.NoError(t, err)
	assert.Equal(t, broker.Pending, r.State, "nobody approved")
}
