// Package registrytest gives tests a registry on a real DynamoDB stand-in (moto server): a fresh,
// uniquely named table per call.
package registrytest

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/test/moto"
)

var tables atomic.Int64

// New creates a registry table on srv, in moto's default account, and returns a Registry for it.
func New(t testing.TB, srv *moto.Server) *registry.Registry {
	t.Helper()
	cfg, err := srv.Config(t.Context(), "")
	if err != nil {
		t.Fatalf("moto config: %v", err)
	}
	db := dynamodb.NewFromConfig(cfg)
	name := fmt.Sprintf("registry-%d", tables.Add(1))
	if _, err := db.CreateTable(t.Context(), registry.TableInput(name)); err != nil {
		t.Fatalf("creating table %s: %v", name, err)
	}
	return &registry.Registry{DB: db, Table: name}
}

// Put writes records of account as they stand, whatever was there: for setting up a test's
// starting state without going through the hook's rules.
func Put(t testing.TB, r *registry.Registry, account string, w registry.Writes) registry.AccountState {
	t.Helper()
	st, err := r.Account(t.Context(), account)
	if err != nil {
		t.Fatalf("reading account %s: %v", account, err)
	}
	st, err = r.Save(t.Context(), st, w)
	if err != nil {
		t.Fatalf("writing account %s: %v", account, err)
	}
	return st
}
