package sim

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/supportaccess/gateway/test/moto"
)

// motoFront is the stand-ins' own address for AWS: a reverse proxy in front of moto that every
// client of the simulation reaches moto through (the checking front end, the customers'
// administrators, the vendor's). It changes no answer; it does two things moto needs at scale.
//
// It names the account of every call whose access key it knows, in the x-moto-account-id header
// moto honours. moto otherwise finds a key's account by looking through every account it holds, and
// in each through every partition (aws, aws-cn, aws-us-gov, …), creating an IAM backend for each one
// it has not seen, every AWS managed policy included: about 4.5 MB and 0.14 s each, seven per
// account, so each new account of an organization cost moto 0.9 s and 30 MB, and a thousand of
// them would need 30 GB. The keys it knows are the vendor's static keys and those STS hands out
// through it (it reads each AssumeRole and AssumeRoleWithWebIdentity answer: the key belongs to the
// assumed role's account, which is where moto keeps it too); an unsigned call (a web identity's
// AssumeRoleWithWebIdentity) has no key of any account, so moto's default account. The account
// named is the one moto would have found.
//
// It sends DynamoDB to a moto of its own when there is one (Config.Serving): the serial server,
// which makes conditional writes atomic as DynamoDB does (test/moto's documentation says why the
// threaded one does not).
type motoFront struct {
	url       string
	srv       *http.Server
	transport *http.Transport
	main      *httputil.ReverseProxy
	dynamo    *httputil.ReverseProxy // nil: DynamoDB goes to main

	mu   sync.Mutex
	keys map[string]string // access key ID → account
}

// startMotoFront listens on 127.0.0.1 and forwards to main, DynamoDB to dynamo if it is set.
func startMotoFront(main, dynamo string) (*motoFront, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("the moto front end: %w", err)
	}
	f := &motoFront{url: "http://" + ln.Addr().String(), keys: map[string]string{},
		transport: &http.Transport{
			Proxy:               nil, // never an HTTP_PROXY of the environment
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			DisableCompression:  true,
		}}
	if f.main, err = f.proxy(main); err != nil {
		return nil, err
	}
	if dynamo != "" {
		if f.dynamo, err = f.proxy(dynamo); err != nil {
			return nil, err
		}
	}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(ln) }() // returns ErrServerClosed on Close
	return f, nil
}

func (f *motoFront) proxy(target string) (*httputil.ReverseProxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("the moto front end: %q is not a URL", target)
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // as signed
		},
		Transport:      f.transport,
		ModifyResponse: f.noteCredentials,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() == nil {
				http.Error(w, "sim: forwarding to moto: "+err.Error(), http.StatusBadGateway)
			}
		},
	}, nil
}

// learn records that key belongs to account.
func (f *motoFront) learn(key, account string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[key] = account
}

func (f *motoFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := accessKey(r)
	f.mu.Lock()
	account, ok := f.keys[key]
	f.mu.Unlock()
	switch {
	case key == "": // unsigned (AssumeRoleWithWebIdentity): no key is any account's, so moto's default
		r.Header.Set("x-moto-account-id", moto.DefaultAccountID)
	case ok:
		r.Header.Set("x-moto-account-id", account)
	}
	if f.dynamo != nil && strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_") {
		f.dynamo.ServeHTTP(w, r)
		return
	}
	f.main.ServeHTTP(w, r)
}

// credential is the SigV4 credential scope: AKID/date/region/service/aws4_request.
var credential = regexp.MustCompile(`Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/`)

// accessKey is the access key ID a request is signed with, in its Authorization header or (a
// pre-signed URL) its X-Amz-Credential parameter; "" for an unsigned request.
func accessKey(r *http.Request) string {
	if m := credential.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[1]
	}
	key, _, _ := strings.Cut(r.URL.Query().Get("X-Amz-Credential"), "/")
	return key
}

// stsAnswer is the part of an AssumeRole or AssumeRoleWithWebIdentity answer the front end reads.
type stsAnswer struct {
	AccessKeyID string `xml:"Credentials>AccessKeyId"`
	SessionARN  string `xml:"AssumedRoleUser>Arn"` // arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION
}

// noteCredentials learns the account of the keys STS hands out: calls signed for sts, and unsigned
// form posts (AssumeRoleWithWebIdentity).
func (f *motoFront) noteCredentials(resp *http.Response) error {
	req := resp.Request
	signed := credential.FindStringSubmatch(req.Header.Get("Authorization"))
	isSTS := (signed != nil && signed[2] == "sts") ||
		(signed == nil && req.Method == http.MethodPost && strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded"))
	if !isSTS || resp.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading STS's answer: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var out struct {
		AssumeRole  stsAnswer `xml:"AssumeRoleResult"`
		WebIdentity stsAnswer `xml:"AssumeRoleWithWebIdentityResult"`
	}
	if xml.Unmarshal(body, &out) != nil {
		return nil // another answer of STS's
	}
	for _, a := range []stsAnswer{out.AssumeRole, out.WebIdentity} {
		if parts := strings.SplitN(a.SessionARN, ":", 6); a.AccessKeyID != "" && len(parts) == 6 {
			f.learn(a.AccessKeyID, parts[4])
		}
	}
	return nil
}

// Close stops the front end, waiting boundedly for calls in flight.
func (f *motoFront) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := f.srv.Shutdown(ctx)
	f.transport.CloseIdleConnections()
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.Join(err, f.srv.Close())
	}
	return err
}
