package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/auth/localop"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/internal/registry/registrytest"
	"github.com/supportaccess/gateway/test/moto"
)

const (
	// vendorAccount is moto's default account: the tables and the issuer's keys are there.
	vendorAccount = moto.DefaultAccountID
	signerRole    = "arn:aws:iam::" + vendorAccount + ":role/DoiT-Support-Broker"
	// customerAccount is the account engineers ask for, once a test has onboarded it.
	customerAccount = "111122223333"
	engineerGroup   = "doit-engineers"
	password        = "pw"
)

// server is supportd as a platform team runs it (run, listening on a loopback port) against a
// moto server and the local OpenID Provider, with its two tables created and, when started with
// an issuer, the issuer's keys in moto's KMS and STS answering for credentials (moto does not
// check web-identity tokens).
type server struct {
	t      testing.TB
	base   string // http://127.0.0.1:port
	moto   *moto.Server
	db     *dynamodb.Client
	reg    *registry.Registry
	iss    *issuer.Issuer // nil without an issuer
	op     *localop.Server
	client *http.Client

	logs    bytes.Buffer // the server's log; read it after stop, when nothing writes it any more
	stopRun context.CancelFunc
	done    chan error
	stopped bool
	stopErr error

	mu     sync.Mutex
	tokens map[string]string // access tokens by username
}

// serverOptions are what startServer sets up beyond the tables.
type serverOptions struct {
	users  []localop.User
	issuer bool              // VENDOR_ACCOUNT_ID and SIGNER_ROLE_ARN set, and the subject key made
	env    map[string]string // more settings
}

// startServer starts supportd on srv. It sets the AWS SDK's variables for the test (run loads its
// configuration from the environment), so tests that use it cannot be parallel.
func startServer(t testing.TB, srv *moto.Server, o serverOptions) *server {
	t.Helper()
	ctx := t.Context()
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": srv.URL(), "AWS_REGION": moto.Region, "AWS_ACCESS_KEY_ID": "testing",
		"AWS_SECRET_ACCESS_KEY": "testing", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"} {
		t.Setenv(k, v)
	}
	cfg, err := srv.Config(ctx, "")
	require.NoError(t, err)
	s := &server{t: t, moto: srv, db: dynamodb.NewFromConfig(cfg), tokens: map[string]string{},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: time.Minute}}
	s.reg = &registry.Registry{DB: s.db, Table: "onboardings"}
	_, err = s.db.CreateTable(ctx, registry.TableInput(s.reg.Table))
	require.NoError(t, err)
	require.NoError(t, broker.CreateTable(ctx, s.db, "broker"))

	env := map[string]string{"REGISTRY_TABLE": s.reg.Table, "BROKER_TABLE": "broker", "LISTEN_ADDR": "127.0.0.1:0",
		"OIDC_ENGINEER_GROUP": engineerGroup}
	if o.issuer {
		env["VENDOR_ACCOUNT_ID"], env["SIGNER_ROLE_ARN"] = vendorAccount, signerRole
		// the keys are made as an operator makes them (supportctl), with the vendor account's credentials
		s.iss, err = issuer.New(issuer.Config{Vendor: policy.DefaultVendor(), Partition: "aws", VendorAccount: vendorAccount,
			SignerRoleARN: signerRole}, kms.NewFromConfig(cfg), &issuer.DynamoStore{DB: s.db, Table: s.reg.Table})
		require.NoError(t, err)
		_, err = s.iss.EnsureSubjectKey(ctx)
		require.NoError(t, err)
	}

	s.op, err = localop.Start(localop.Config{Users: o.users})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.op.Close() })
	env["OIDC_ISSUER"], env["OIDC_AUDIENCE"] = s.op.Issuer(), s.op.ClientID()
	for k, v := range o.env {
		env[k] = v
	}

	runCtx, stop := context.WithCancel(context.Background())
	s.stopRun, s.done = stop, make(chan error, 1)
	addr := make(chan string, 1)
	go func() {
		s.done <- run(runCtx, func(k string) string { return env[k] }, slog.New(slog.NewJSONHandler(&s.logs, nil)), addr, nil)
	}()
	select {
	case a := <-addr:
		s.base = "http://" + a
	case err := <-s.done:
		t.Fatalf("supportd did not start: %v\n%s", err, s.logs.String())
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// stop shuts the server down gracefully and returns run's error; it is safe to call more than once.
func (s *server) stop() error {
	if s.stopped {
		return s.stopErr
	}
	s.stopped = true
	s.stopRun()
	select {
	case s.stopErr = <-s.done:
	case <-time.After(shutdownGrace + 10*time.Second):
		s.stopErr = fmt.Errorf("supportd did not stop within %v", shutdownGrace+10*time.Second)
	}
	s.client.CloseIdleConnections()
	return s.stopErr
}

// emptyBrokerTable drops the broker's table and creates it again, empty: moto copies a whole table
// for each transaction, so a benchmark run on a table that earlier runs filled would be slower.
func (s *server) emptyBrokerTable() {
	s.t.Helper()
	_, err := s.db.DeleteTable(s.t.Context(), &dynamodb.DeleteTableInput{TableName: aws.String("broker")})
	require.NoError(s.t, err)
	require.NoError(s.t, broker.CreateTable(s.t.Context(), s.db, "broker"))
}

// onboard registers account for tenant as its management stack's onboarding would, and, with an
// issuer, makes the account's signing key.
func (s *server) onboard(account, tenant string) {
	s.t.Helper()
	registrytest.Put(s.t, s.reg, account, registry.Writes{Management: &registry.Onboarding{Status: registry.Registered,
		Tenant: tenant, ExternalID: "ext-" + account + "-supportd-test",
		RoleARN: "arn:aws:iam::" + account + ":role/DoiT_Management_Role_DO-NOT-DELETE"}})
	if s.iss != nil {
		_, err := s.iss.CreateAccountKey(s.t.Context(), account)
		require.NoError(s.t, err)
	}
}

// token is user's access token from the local OpenID Provider (signed in once, then kept).
func (s *server) token(user string) string {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok, ok := s.tokens[user]; ok {
		return tok
	}
	tok, err := localop.Login(s.t.Context(), s.op.Issuer(), s.op.ClientID(), user, password)
	require.NoError(s.t, err)
	s.tokens[user] = tok.AccessToken
	return tok.AccessToken
}

// answer is one of the server's answers.
type answer struct {
	status int
	header http.Header
	body   string
}

// do sends method path with the bearer token (none if ""), body and header pairs; safe from any goroutine.
func (s *server) do(ctx context.Context, method, path, bearer, body string, header ...string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}, nil
}

// call is do from the test's goroutine, failing the test if the server cannot be reached.
func (s *server) call(method, path, bearer, body string, header ...string) answer {
	s.t.Helper()
	a, err := s.do(s.t.Context(), method, path, bearer, body, header...)
	require.NoError(s.t, err)
	return a
}

// broker reads the server's table as the server's broker does (its requests and audit log).
func (s *server) broker() *broker.Broker {
	s.t.Helper()
	b, err := broker.New(broker.Config{}, s.reg, nil, nil, s.db, "broker")
	require.NoError(s.t, err)
	return b
}
