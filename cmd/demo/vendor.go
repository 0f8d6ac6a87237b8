package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/supportaccess/gateway/internal/auth/localop"
	"github.com/supportaccess/gateway/internal/backend"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/console"
	"github.com/supportaccess/gateway/test/sim"
)

const (
	brokerTable   = "broker"
	engineerGroup = "doit-engineers"
)

// vendor is the vendor's backend as it runs locally: the local OpenID Provider, and supportd's
// handler tree (backend.Server, what cmd/supportd serves: the API and the customers' console) on
// HTTP, acting as the backend role through the checking front end.
type vendor struct {
	op         *localop.Server
	users      []localop.User
	apiURL     string
	consoleURL string // the customers' web console, served by the same handler tree
	srv        *http.Server
	served     chan error
	env        map[string]string // the server's settings, as supportd reads them from its environment
}

// startVendor does the operator's once-per-account setup (the broker's table, the pairwise-subject
// key), then starts the provider on opAddr and the API on apiAddr (port 0: any free one).
func startVendor(ctx context.Context, a *sim.AWS, users []localop.User, opAddr, apiAddr string, log *slog.Logger) (v *vendor, err error) {
	v = &vendor{users: users}
	defer func() {
		if err != nil {
			_ = v.Close()
		}
	}()
	v.env = map[string]string{"REGISTRY_TABLE": sim.RegistryTable, "BROKER_TABLE": brokerTable,
		"VENDOR_ACCOUNT_ID": sim.VendorAccount, "SIGNER_ROLE_ARN": sim.SignerRoleARN, "OIDC_ENGINEER_GROUP": engineerGroup,
		// the console's quick-create links: the templates test/sim deploys (sim.Published)
		"HOOK_TOPIC_ARN": sim.HookTopic, "MANAGEMENT_TEMPLATE_URL": managementLinkURL}
	getenv := func(k string) string { return v.env[k] }

	// the operator, with the vendor account's own access: supportctl broker create-table, supportctl
	// issuer create-subject-key
	db := dynamodb.NewFromConfig(a.Vendor())
	if err := broker.CreateTable(ctx, db, brokerTable); err != nil {
		return v, fmt.Errorf("creating the broker table: %w", err)
	}
	iss, err := backend.NewIssuer(getenv, a.Vendor(), a.Registry(), db, nil)
	if err != nil {
		return v, err
	}
	if _, err := iss.EnsureSubjectKey(ctx); err != nil {
		return v, err
	}

	if v.op, err = localop.Start(localop.Config{Addr: opAddr, Users: users, Logger: log}); err != nil {
		return v, err
	}
	v.env["OIDC_ISSUER"], v.env["OIDC_AUDIENCE"] = v.op.Issuer(), v.op.ClientID()
	// listen first: the console's URL (its sign-in callback) names the port
	ln, err := net.Listen("tcp", apiAddr)
	if err != nil {
		return v, fmt.Errorf("the API's address: %w", err)
	}
	v.apiURL = "http://" + ln.Addr().String()
	v.consoleURL = v.apiURL + console.Prefix
	v.env["CONSOLE_URL"] = v.consoleURL
	h, err := backend.Server(ctx, getenv, a.Backend(), log)
	if err != nil {
		_ = ln.Close()
		return v, err
	}
	v.srv = backend.HTTPServer(ln.Addr().String(), h, log)
	v.served = make(chan error, 1)
	go func() { v.served <- v.srv.Serve(ln) }()
	return v, nil
}

// user is the users file's entry for name (its password "" for a user without one).
func (v *vendor) user(name string) localop.User {
	for _, u := range v.users {
		if u.Username == name {
			return u
		}
	}
	return localop.User{Username: name}
}

// Close stops the API (requests in flight get five seconds) and the provider.
func (v *vendor) Close() error {
	var errs []error
	if v.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		errs = append(errs, v.srv.Shutdown(ctx))
		if err := <-v.served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if v.op != nil {
		errs = append(errs, v.op.Close())
	}
	return errors.Join(errs...)
}
