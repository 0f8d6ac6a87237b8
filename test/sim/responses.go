package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Delivery is one custom-resource request as CloudFormation sent it and heard back: the
// notifications the hook got for it (SNS delivers at least once) and every answer PUT to its
// ResponseURL. CloudFormation acts on the first answer and ignores the others.
type Delivery struct {
	RequestID, RequestType, LogicalResourceID, StackID string
	ServiceTimeout                                     time.Duration // how long CloudFormation waits for the answer
	Sent                                               time.Time     // when CloudFormation published the request
	Notifications                                      int           // deliveries to the hook: 2 for a duplicate
	Answers                                            []Answer      // in the order they arrived
	// Errors are the invocations that failed (the function's error, or the runtime harness's).
	Errors []string
}

// Answer is one response PUT to a request's ResponseURL, as S3 accepted it.
type Answer struct {
	At       time.Time
	Response Response
}

// Latency is how long CloudFormation waited: from sending the request to its first answer (0 if
// none came).
func (d Delivery) Latency() time.Duration {
	if len(d.Answers) == 0 {
		return 0
	}
	return d.Answers[0].At.Sub(d.Sent)
}

// delivery is a Delivery being made: what Send waits on.
type delivery struct {
	Delivery
	answered chan struct{} // closed at the first answer
	ended    chan struct{} // closed once every notification's invocation has ended
	running  int           // notifications not yet ended
}

// responses is CloudFormation's side of the pre-signed ResponseURLs: an endpoint the URLs name,
// which hands each PUT on to S3 (moto) and, once S3 has taken it, records it as an answer to its
// request (the object key is the request ID). The hook is told the endpoint's host is allowed
// (RESPONSE_URL_EXTRA_HOSTS), as the harness's other hosts are.
type responses struct {
	url   string
	srv   *http.Server
	proxy *httputil.ReverseProxy

	mu    sync.Mutex
	byID  map[string]*delivery
	order []*delivery
}

func startResponses(s3Endpoint string) (*responses, error) {
	target, err := url.Parse(s3Endpoint)
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("the response endpoint: %q is not a URL", s3Endpoint)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("the response endpoint: %w", err)
	}
	r := &responses{url: "http://" + ln.Addr().String(), byID: map[string]*delivery{}}
	r.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // as signed
		},
		ModifyResponse: r.taken,
		Transport: &http.Transport{
			Proxy:               nil, // never an HTTP_PROXY of the environment
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			DisableCompression:  true,
		},
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }() // returns ErrServerClosed on Close
	return r, nil
}

// bodyKey carries a PUT's body to taken, which records it once S3 has accepted it.
type bodyKey struct{}

func (r *responses) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.proxy.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), bodyKey{}, body)))
}

// taken records an answer S3 accepted.
func (r *responses) taken(resp *http.Response) error {
	req := resp.Request
	if req.Method != http.MethodPut || resp.StatusCode/100 != 2 {
		return nil
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/")
	body, _ := req.Context().Value(bodyKey{}).([]byte)
	var res Response
	if bucket != ResponseBucket || json.Unmarshal(body, &res) != nil {
		return nil // not an answer CloudFormation could read; Send reports the missing answer
	}
	at := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.byID[key]
	if !ok {
		return nil // a request the simulation did not send
	}
	d.Answers = append(d.Answers, Answer{At: at, Response: res})
	if len(d.Answers) == 1 {
		close(d.answered)
	}
	return nil
}

// begin records a request CloudFormation is about to send to the hook in n notifications.
func (r *responses) begin(req Request, timeout time.Duration, n int) *delivery {
	d := &delivery{Delivery: Delivery{RequestID: req.RequestID, RequestType: req.RequestType, LogicalResourceID: req.LogicalResourceID,
		StackID: req.StackID, ServiceTimeout: timeout, Sent: time.Now(), Notifications: n},
		answered: make(chan struct{}), ended: make(chan struct{}), running: n}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byID[req.RequestID] = d
	r.order = append(r.order, d)
	return d
}

// end records that one notification's invocation ended, with err if it failed.
func (r *responses) end(d *delivery, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		d.Errors = append(d.Errors, err.Error())
	}
	if d.running--; d.running == 0 {
		close(d.ended)
	}
}

// first is d's first answer, if it has one.
func (r *responses) first(d *delivery) (Response, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(d.Answers) == 0 {
		return Response{}, false
	}
	return d.Answers[0].Response, true
}

// failures are d's failed invocations so far.
func (r *responses) failures(d *delivery) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), d.Errors...)
}

// all copies every delivery so far, in the order they were sent.
func (r *responses) all() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Delivery, len(r.order))
	for i, d := range r.order {
		out[i] = d.Delivery
		out[i].Answers = append([]Answer(nil), d.Answers...)
		out[i].Errors = append([]string(nil), d.Errors...)
	}
	return out
}

func (r *responses) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := r.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.Join(err, r.srv.Close())
	}
	return err
}
