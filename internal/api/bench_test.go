package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/api"
	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/auth/localop"
	"github.com/supportaccess/gateway/internal/broker"
)

// emptyTable answers the broker's reads with nothing, at once: the broker's own work, not
// DynamoDB's, is what the benchmark's route costs. Writes are not expected (a refusal would write
// its audit event): they fail the request.
type emptyTable struct{ broker.DynamoAPI }

func (emptyTable) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return &dynamodb.QueryOutput{}, nil
}

// BenchmarkSignIn is what the sign-in costs each request: the same cheap route (an engineer reads
// their audit log, empty, GET /v1/audit?engineer=…) through the whole tree, without sign-in (the
// caller given) and signed in (api.SignedIn: auth.Require verifies an RS256 access token of the
// local OpenID Provider against its JWKS, fetched once and cached). In process, no network on
// the request path. The ratio of the two ns/op is the sign-in's share; compare medians of -count runs.
func BenchmarkSignIn(b *testing.B) {
	const engineer = "alice@doit.com"
	op, err := localop.Start(localop.Config{Users: []localop.User{
		{Username: "alice", Email: engineer, Password: "pw", Groups: []string{"doit-engineers"}}}})
	require.NoError(b, err)
	b.Cleanup(func() { _ = op.Close() })
	tok, err := localop.Login(b.Context(), op.Issuer(), op.ClientID(), "alice", "pw")
	require.NoError(b, err)
	discard := slog.New(slog.DiscardHandler)
	verifier, err := auth.NewVerifier(b.Context(), auth.Config{Issuer: op.Issuer(), Audience: op.ClientID(),
		EngineerGroup: "doit-engineers", Logger: discard})
	require.NoError(b, err)
	brk, err := broker.New(broker.Config{Logger: discard}, nil, nil, nil, emptyTable{}, "broker")
	require.NoError(b, err)

	for _, c := range []struct {
		name    string
		handler http.Handler
	}{
		{"without-sign-in", broker.Handler(brk, func(*http.Request) (string, error) { return engineer, nil })},
		{"signed-in", api.SignedIn(brk, verifier)},
	} {
		h := api.Handler(api.Config{Broker: c.handler, Logger: discard})
		serve := func() *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodGet, "/v1/audit?engineer="+engineer, nil)
			r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		b.Run(c.name, func(b *testing.B) {
			w := serve() // and the JWKS is fetched, before the clock runs
			require.Equal(b, http.StatusOK, w.Code, w.Body.String())
			b.ReportAllocs()
			for b.Loop() {
				if w := serve(); w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body.String())
				}
			}
		})
	}
}
