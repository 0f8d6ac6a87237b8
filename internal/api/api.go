// Package api is the vendor backend's one http.Handler tree: the broker's API under /v1/, the
// issuer's discovery documents and JWKS, the health routes, and the customers' web console under
// /console/ when it is configured, with what every route gets (a body
// limit, panic recovery, a JSON access log without tokens or credentials). The same tree is served
// over HTTP (cmd/supportd) and in AWS Lambda behind API Gateway (lambdas/api). It holds no business
// rule and no sign-in of its own: who the caller is, is the broker handler's question, answered
// by the sign-in package it is built with.
package api

import (
	_ "embed"

	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/issuer"
)

// MaxBodyBytes is the largest request body any route reads (64 KiB): more is 413.
const MaxBodyBytes = 64 << 10

// Config is what the tree serves.
type Config struct {
	// Broker is the broker's API (broker.Handler), served under /v1/ with the prefix stripped.
	Broker http.Handler
	// Issuer serves GET /accounts/{account}/.well-known/{openid-configuration,jwks.json}
	// (issuer.Issuer.Handler); nil: those paths are 404.
	Issuer http.Handler
	// Console is the customers' web console (console.Console), served under ConsolePrefix with the
	// path kept ("/console" redirects there); nil: those paths are 404. Its pages are not part of the
	// API, so Routes and openapi.yaml leave them out.
	Console http.Handler
	// Ready reports whether the server's dependencies answer (GET /readyz: 200 or 503).
	Ready func(context.Context) error
	// Logger gets one access-log line per request; slog.Default() if nil.
	Logger *slog.Logger
}

// BrokerPrefix is where the broker's API is mounted: each of its routes is served below it, with
// the prefix stripped before the broker sees the request.
const BrokerPrefix = "/v1"

// ConsolePrefix is where the console is mounted (console.Prefix): its pages and forms are below it.
const ConsolePrefix = "/console/"

// issuerMount is where the issuer's documents are mounted: each of the issuer's routes is below it.
const issuerMount = "GET /accounts/{account}/.well-known/"

// OpenAPIDocument is openapi.yaml, the OpenAPI 3 description of every route Handler serves
// (Routes), for tests that hold real answers to it.
//
//go:embed openapi.yaml
var OpenAPIDocument []byte

// Handler returns the tree:
//
//	GET  /healthz                          200 "ok": the process serves
//	GET  /readyz                           200 {"status":"ready"}, or 503 {"status":"not ready"} (the reason logged)
//	     /v1/…                             the broker's API (Config.Broker)
//	GET  /accounts/{account}/.well-known/… the issuer's documents (Config.Issuer)
//	     /console/…                        the customers' web console (Config.Console)
//
// Anything else is 404. Routes lists every route; openapi.yaml describes them.
func Handler(c Config) http.Handler {
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	mux := http.NewServeMux()
	c.routes(log, mux.HandleFunc)
	if c.Broker != nil {
		mux.Handle(BrokerPrefix+"/", http.StripPrefix(BrokerPrefix, c.Broker))
	}
	if c.Issuer != nil {
		mux.Handle(issuerMount, c.Issuer)
	}
	if c.Console != nil {
		mux.Handle(ConsolePrefix, c.Console)
		mux.Handle(strings.TrimSuffix(ConsolePrefix, "/"), c.Console)
	}
	return accessLog(log, recoverPanics(log, limitBodies(mux)))
}

// Routes are the patterns the whole tree serves ("GET /healthz", "POST /v1/requests", …), sorted:
// its own routes as Handler registers them, the broker's (broker.Routes) below BrokerPrefix, and
// the issuer's (issuer.Routes). The OpenAPI document, openapi.yaml, has exactly these.
func Routes() []string {
	var patterns []string
	Config{}.routes(slog.Default(), func(pattern string, _ func(http.ResponseWriter, *http.Request)) {
		patterns = append(patterns, pattern)
	})
	for _, p := range broker.Routes() {
		method, path, _ := strings.Cut(p, " ")
		patterns = append(patterns, method+" "+BrokerPrefix+path)
	}
	patterns = append(patterns, issuer.Routes()...)
	slices.Sort(patterns)
	return patterns
}

// routes registers the tree's own routes, the health checks, with handle (http.ServeMux.HandleFunc).
func (c Config) routes(log *slog.Logger, handle func(pattern string, h func(http.ResponseWriter, *http.Request))) {
	handle("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	handle("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if c.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			if err := c.Ready(ctx); err != nil {
				// the reason goes to the log: AWS's errors name accounts, roles and tables, and /readyz is public
				log.WarnContext(r.Context(), "not ready", "error", err)
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

// limitBodies refuses a body over MaxBodyBytes: a declared Content-Length at once (413), a longer
// stream when the handler reads past the limit.
func limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "the request body is over 65536 bytes"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// recoverPanics answers 500 for a handler that panicked, and logs the panic with its stack.
func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// accessLog writes one JSON line per request: method, path (each clipped to auth.MaxDetailBytes:
// the caller's text; never the query, which may carry secrets), status, bytes, duration and the client address. Headers are never logged, so neither
// is a bearer token; bodies are never logged, so neither are credentials.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.InfoContext(r.Context(), "request", "method", auth.Clip(r.Method, auth.MaxDetailBytes),
			"path", auth.Clip(r.URL.Path, auth.MaxDetailBytes), "status", rec.status,
			"bytes", rec.bytes, "duration_ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
	})
}

type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
	wrote  bool
}

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// SignedIn serves the broker's API to signed-in callers only: the bearer token is verified first
// (auth.Require: 401/403 with an RFC 6750 challenge otherwise), and the broker's caller is the
// verified token's principal, never anything else of the request.
//
// A caller whose token verifies but who has no role (403) is recorded in the broker's audit log, a
// REFUSED event of action "sign-in" under the principal the token proves. A request without a
// verified token (401) is not: its caller is unproven, and anyone could make each such request a
// DynamoDB write; auth.Require's log line (reason, clipped detail, never the token) is its record.
func SignedIn(b *broker.Broker, v *auth.Verifier) http.Handler {
	caller := func(r *http.Request) (string, error) {
		id, ok := auth.FromContext(r.Context())
		if !ok {
			return "", broker.ErrNotSignedIn
		}
		return id.Principal(), nil
	}
	recent := &recentRefusals{seen: map[string]time.Time{}}
	audit := func(ctx context.Context, f auth.Forbidden) error {
		if !recent.first(f.Principal, time.Now()) {
			return nil // recorded within the last RefusalAuditInterval: the log line is the record
		}
		// recorded even if the caller hangs up: the refusal happened
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
		defer cancel()
		return b.Audit().Record(ctx, broker.Event{Type: broker.EventRefused, Action: "sign-in", Actor: f.Principal,
			Reason: f.Reason.Description(), Detail: string(f.Reason) + ": " + f.Detail})
	}
	return auth.Require(v, auth.OnForbidden(audit))(broker.Handler(b, caller))
}

// auditTimeout bounds the audit write of a refused sign-in.
const auditTimeout = 10 * time.Second

// RefusalAuditInterval is how often one principal's refused sign-ins (403) are written to the audit
// log, per server process: the first, then at most one an interval (each is logged). Anyone an
// external provider lets sign up could otherwise turn every request into a DynamoDB write.
const RefusalAuditInterval = time.Minute

// maxRecentRefusals bounds recentRefusals' memory: past it, the oldest half is forgotten (those
// principals may be recorded once more, early).
const maxRecentRefusals = 10000

// recentRefusals remembers when each principal's refused sign-in was last recorded.
type recentRefusals struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// first reports whether principal's refusal at now is the first in RefusalAuditInterval, and
// remembers it if so.
func (r *recentRefusals) first(principal string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if last, ok := r.seen[principal]; ok && now.Sub(last) < RefusalAuditInterval {
		return false
	}
	if len(r.seen) >= maxRecentRefusals {
		for p, t := range r.seen {
			if now.Sub(t) >= RefusalAuditInterval || len(r.seen) > maxRecentRefusals/2 {
				delete(r.seen, p)
			}
		}
	}
	r.seen[principal] = now
	return true
}
