package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	maxBody      = 64 << 20        // larger requests are refused (413); tests send kilobytes
	closeTimeout = 5 * time.Second // Close waits this long for calls in flight
)

// Proxy is a running fault-injecting proxy. Its methods are safe for concurrent use.
type Proxy struct {
	url       string
	target    string // e.g. http://127.0.0.1:40123, without a trailing slash
	srv       *http.Server
	transport *http.Transport
	ctx       context.Context // canceled by Close: releases held and delayed calls
	cancel    context.CancelFunc
	inflight  sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	mu     sync.Mutex
	closed bool
	rules  []*activeRule
	calls  []*Call
	nextID int // for request IDs of injected errors
}

// Start listens on 127.0.0.1 on a free port and forwards to target, the base
// URL of the real service (the moto server's URL).
func Start(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q is not an http(s) URL", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		url:    "http://" + ln.Addr().String(),
		target: strings.TrimSuffix(target, "/"),
		ctx:    ctx,
		cancel: cancel,
		transport: &http.Transport{
			Proxy:               nil, // never an HTTP_PROXY of the environment
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			DisableCompression:  true, // pass Accept-Encoding and bodies through as they are
		},
	}
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go func() { _ = p.srv.Serve(ln) }() // returns ErrServerClosed on Close
	return p, nil
}

// StartForTest starts a proxy to target for t and closes it when t ends.
// If t fails, the calls the proxy saw are logged.
func StartForTest(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := Start(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			var b strings.Builder
			for i, c := range p.Calls() {
				fmt.Fprintf(&b, "\n%3d %v", i, c)
			}
			t.Logf("faultproxy calls:%s", b.String())
		}
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// URL is the proxy's endpoint, e.g. http://127.0.0.1:40125: the value for
// AWS_ENDPOINT_URL or aws.Config.BaseEndpoint.
func (p *Proxy) URL() string { return p.url }

// Close stops the proxy: calls held by Timeout or delayed by Latency are
// dropped, and Close waits (boundedly) for calls in flight. Safe to call more than once.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true // no handler registers in inflight after this
		p.mu.Unlock()
		p.cancel()
		p.closeErr = p.srv.Close()
		done := make(chan struct{})
		go func() { p.inflight.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(closeTimeout):
			p.closeErr = errors.Join(p.closeErr, fmt.Errorf("faultproxy: calls still in flight %v after Close", closeTimeout))
		}
		p.transport.CloseIdleConnections()
	})
	return p.closeErr
}

// Inject replaces the active rules. Rules apply in order: a call gets the
// fault of the first rule that matches it and has not used up its Times or For;
// a rate rule that admits a call passes it on to the next rules. Rate rules
// start with full buckets. It panics on a rule with an unknown Fault, a
// negative limit or rate, or both Operation and Operations.
func (p *Proxy) Inject(rules ...Rule) {
	active := make([]*activeRule, len(rules))
	for i, r := range rules {
		if err := r.validate(); err != nil {
			panic(err)
		}
		active[i] = newActiveRule(r)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = active
}

// Clear removes all rules: every call is forwarded untouched.
func (p *Proxy) Clear() { p.Inject() }

// Calls returns the calls received so far, in order of arrival.
func (p *Proxy) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Call, len(p.calls))
	for i, c := range p.calls {
		out[i] = *c
	}
	return out
}

// ResetCalls forgets the calls received so far.
func (p *Proxy) ResetCalls() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = nil
}

// ServeHTTP handles one call: record it, pick its rule, inject or forward,
// complete the record, and only then answer, so that a client holding its
// answer finds its call complete in Calls.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		dropConnection(w, false)
		return
	}
	p.inflight.Add(1)
	p.mu.Unlock()
	defer p.inflight.Done()

	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return // the client is gone; there is nobody to answer
	}
	req := identify(r, body)
	call, rule, requestID := p.begin(req, start)
	ans := p.handle(r, body, req, rule, requestID)
	p.finish(call, ans.status)
	ans.deliver(w)
}

// handle decides the answer to a call.
func (p *Proxy) handle(r *http.Request, body []byte, req request, rule *Rule, requestID string) answer {
	switch {
	case len(body) > maxBody:
		return textAnswer(http.StatusRequestEntityTooLarge, "faultproxy: request body too large")
	case rule == nil:
		return p.forward(r, body)
	case !sleep(r.Context(), rule.Latency):
		return answer{} // the client gave up or the proxy is closing
	}
	switch rule.fault() {
	case Throttle:
		if rule.Rate > 0 {
			return rateAnswer(req, requestID)
		}
		return errorAnswer(req, Throttle, requestID)
	case Latency:
		return p.forward(r, body)
	case Reset:
		return answer{reset: true}
	case Timeout:
		if rule.Hold > 0 {
			sleep(r.Context(), rule.Hold)
		} else {
			<-r.Context().Done() // the client hung up, or Close
		}
		return answer{}
	default:
		return errorAnswer(req, rule.fault(), requestID)
	}
}

// begin records a call and picks the rule that handles it (nil: none).
func (p *Proxy) begin(req request, start time.Time) (*Call, *Rule, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	call := &Call{Service: req.service, Operation: req.operation, Path: req.path, Start: start}
	p.calls = append(p.calls, call)
	for _, a := range p.rules {
		switch a.take(req.service, req.operation, req.path, start) {
		case admitted:
			call.Rate = RateAdmitted
		case handled:
			call.Fault = a.fault().String()
			if a.Rate > 0 {
				call.Rate = RateThrottled
			}
			p.nextID++
			rule := a.Rule
			return call, &rule, fmt.Sprintf("faultproxy-%08d", p.nextID)
		}
	}
	return call, nil, ""
}

func (p *Proxy) finish(call *Call, status int) {
	end := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	call.End, call.Status = end, status
}

// hopHeaders are meaningful for one connection only (RFC 9110, section 7.6.1), and Expect is
// answered by this proxy's server.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect",
}

func removeHopHeaders(h http.Header) {
	for _, name := range h.Values("Connection") {
		for f := range strings.SplitSeq(name, ",") {
			h.Del(strings.TrimSpace(f))
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// forward sends the call, unchanged, to the target and reads the answer.
func (p *Proxy) forward(r *http.Request, body []byte) answer {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return textAnswer(http.StatusBadGateway, "faultproxy: "+err.Error())
	}
	out.Header = r.Header.Clone()
	removeHopHeaders(out.Header)
	out.Host = r.Host // as signed
	resp, err := p.transport.RoundTrip(out)
	if err == nil {
		defer resp.Body.Close()
		var respBody []byte
		if respBody, err = io.ReadAll(resp.Body); err == nil {
			removeHopHeaders(resp.Header)
			return answer{status: resp.StatusCode, header: resp.Header, body: respBody}
		}
	}
	if r.Context().Err() != nil {
		return answer{} // the client gave up, or the proxy is closing
	}
	return textAnswer(http.StatusBadGateway, "faultproxy: forward: "+err.Error())
}

// answer is what the client gets: a response, or (status 0) a dropped connection.
type answer struct {
	status int
	header http.Header
	body   []byte
	reset  bool // with status 0: drop with a RST rather than a FIN
}

func textAnswer(status int, text string) answer {
	return answer{status: status, header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, body: []byte(text + "\n")}
}

func (a answer) deliver(w http.ResponseWriter) {
	if a.status == 0 {
		dropConnection(w, a.reset)
		return
	}
	for k, v := range a.header {
		w.Header()[k] = v
	}
	if w.Header().Get("Content-Length") == "" { // moto's stays: a HEAD answer has one but no body
		w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body) // the client may be gone; its problem
}

// sleep waits d, or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// dropConnection closes the client's connection without a response: with a
// RST if reset (the client reads "connection reset by peer"), else with a FIN
// (the client reads EOF).
func dropConnection(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // net/http closes the connection, silently
	}
	if tcp, ok := conn.(*net.TCPConn); ok && reset {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}
