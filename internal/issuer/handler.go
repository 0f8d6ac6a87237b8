package issuer

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
)

// Cache lifetimes of the served documents. The JWKS is short: a verifier must see a rotated-in key
// soon after it starts signing. The discovery document changes only with the configuration.
const (
	JWKSMaxAge      = 60
	DiscoveryMaxAge = 3600
)

// Handler serves every account's discovery document and JWKS, on both issuer hosts:
//
//	GET /accounts/{account}/.well-known/openid-configuration
//	GET /accounts/{account}/.well-known/jwks.json
//
// The Host header chooses the issuer host; an unknown host, an unknown or offboarded account, and
// any other path are 404.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	i.routes(mux.HandleFunc)
	return mux
}

// Routes are the patterns Handler registers, sorted, read from the registration itself.
func Routes() []string {
	var patterns []string
	(&Issuer{}).routes(func(pattern string, _ func(http.ResponseWriter, *http.Request)) { patterns = append(patterns, pattern) })
	slices.Sort(patterns)
	return patterns
}

// routes registers each route of Handler with handle (http.ServeMux.HandleFunc).
func (i *Issuer) routes(handle func(pattern string, h func(http.ResponseWriter, *http.Request))) {
	handle("GET /accounts/{account}/"+discoveryPath, i.serve(func(r *http.Request, account string, host int) (any, int, error) {
		if _, err := i.accountKeys(r.Context(), account); err != nil {
			return nil, 0, err
		}
		d, err := i.Discovery(account, host)
		return d, DiscoveryMaxAge, err
	}))
	handle("GET /accounts/{account}/"+jwksPath, i.serve(func(r *http.Request, account string, _ int) (any, int, error) {
		set, err := i.JWKS(r.Context(), account)
		return set, JWKSMaxAge, err
	}))
}

func (i *Issuer) serve(doc func(r *http.Request, account string, host int) (any, int, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		host, ok := i.hostIndex(r.Host)
		if !ok {
			http.NotFound(w, r)
			return
		}
		account := r.PathValue("account")
		v, maxAge, err := doc(r, account, host)
		switch {
		case errors.Is(err, ErrUnknownAccount) || errors.Is(err, ErrOffboarded):
			w.Header().Set("Cache-Control", "no-store")
			http.NotFound(w, r)
			return
		case err != nil:
			slog.ErrorContext(r.Context(), "serving issuer document", "account", account, "path", r.URL.Path, "error", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		body, err := json.Marshal(v)
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(maxAge))
		_, _ = w.Write(body)
	}
}

// hostIndex maps a Host header (a port is ignored) to the issuer host it names.
func (i *Issuer) hostIndex(hostport string) (int, bool) {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	for j, h := range i.vendor.IssuerHosts {
		if h == host {
			return j, true
		}
	}
	return 0, false
}
