// Command supportd is the vendor's backend server: the broker's API behind OIDC sign-in, the
// issuer's discovery documents and JWKS, /healthz and /readyz (internal/api), over HTTP. The same
// handler tree runs in AWS Lambda as lambdas/api. Settings come from the environment
// (backend.ServerUsage); LISTEN_ADDR is where to listen (default 127.0.0.1:8080).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/supportaccess/gateway/internal/backend"
)

// shutdownGrace is how long requests in flight get to finish after SIGINT or SIGTERM.
const shutdownGrace = 20 * time.Second

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, log, nil, stop); err != nil {
		fmt.Fprintln(os.Stderr, "supportd:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down gracefully. ready, if not nil, receives the address
// the server listens on; restoreSignals, if not nil, is called when the shutdown starts, so that a
// second SIGINT or SIGTERM ends the process at once.
func run(ctx context.Context, getenv func(string) string, log *slog.Logger, ready chan<- string, restoreSignals func()) error {
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("AWS configuration: %w", err)
	}
	h, err := backend.Server(ctx, getenv, awsCfg, log)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, backend.ServerUsage)
	}
	addr := getenv("LISTEN_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := backend.HTTPServer(addr, h, log)
	log.Info("serving", "addr", ln.Addr().String())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	if restoreSignals != nil {
		restoreSignals()
	}
	log.Info("shutting down", "grace", shutdownGrace.String())
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
