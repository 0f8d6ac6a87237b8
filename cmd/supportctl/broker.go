package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/backend"
	"github.com/supportaccess/gateway/internal/broker"
)

const brokerUsage = `usage: supportctl broker <command> [flags]

commands (as the person supportctl login signed in: an engineer, or a customer of the account's tenant):
  request -account A -ticket T -justification J [-duration 1h]   ask for access (prints the request)
  list [-account A] [-state S] [-limit N]                         requests, newest first: an engineer's own (any
                                                                 account's with -account), a customer's tenant's;
                                                                 S: PENDING, APPROVED, DISMISSED, REVOKED or EXPIRED
  show -id R                                                     one request, in its state now
  pre-approvals [-account A] [-tenant T]                         standing approvals (a customer's tenant's; an
                                                                 engineer names an account or a tenant)
  approve -id R | dismiss -id R -reason T | revoke -id R [-reason T]
                                                                 the customer's decisions (a dismissal says why)
  pre-approve -account A -max-duration D                         a standing approval (0 removes it)
  credentials -id R [-format json|env|console]                   the requester's session: credentials, or a
                                                                 console sign-in URL (FEDERATION_ENDPOINT,
                                                                 CONSOLE_ISSUER)
  audit -account A | -engineer E [-since T] [-until T]           the audit log as JSON lines (T: RFC 3339)
operator command (AWS credentials):
  create-table                                                   create the broker table (BROKER_TABLE), with its TTL

Who acts is who signed in: the commands send the cached token to the backend's API (SUPPORT_API_URL,
e.g. http://127.0.0.1:8080), which takes the identity from it; no flag or variable names anyone.`

// apiTimeout bounds one API call; credentials wait on KMS and STS (the server allows 30 s).
const apiTimeout = 40 * time.Second

// runBroker runs "supportctl broker <command>": create-table with AWS credentials, every other
// command as a client of the backend's API with the signed-in token.
func runBroker(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(brokerUsage)
	}
	cmd, flags := args[0], flag.NewFlagSet("broker "+args[0], flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	if cmd == "create-table" {
		if err := flags.Parse(args[1:]); err != nil {
			return fmt.Errorf("broker %s: %w\n%s", cmd, err, brokerUsage)
		}
		return createBrokerTable(ctx, getenv, out)
	}
	account := flags.String("account", "", "the customer's 12-digit AWS account ID")
	engineer := flags.String("engineer", "", "the engineer whose audit to list")
	ticket := flags.String("ticket", "", "the support ticket")
	justification := flags.String("justification", "", "why access is needed")
	duration := flags.Duration("duration", time.Hour, "how long access is needed")
	maxDuration := flags.Duration("max-duration", time.Hour, "the standing approval's longest access")
	id := flags.String("id", "", "the request ID")
	state := flags.String("state", "", "only requests in this state now: PENDING, APPROVED, DISMISSED, REVOKED or EXPIRED")
	limit := flags.Int("limit", broker.DefaultListLimit, "list at most this many requests")
	tenant := flags.String("tenant", "", "the tenant whose standing approvals to list (engineers)")
	reason := flags.String("reason", "", "why the request is dismissed (required) or revoked")
	format := flags.String("format", "json", "credentials as json, env (export lines) or console (a sign-in URL)")
	since := flags.String("since", "", "audit events from (RFC 3339)")
	until := flags.String("until", "", "audit events until (RFC 3339)")
	if err := flags.Parse(args[1:]); err != nil {
		return fmt.Errorf("broker %s: %w\n%s", cmd, err, brokerUsage)
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("broker %s: unexpected %q\n%s", cmd, flags.Arg(0), brokerUsage)
	}
	if *state != "" {
		if _, err := broker.ParseState(*state); err != nil {
			return fmt.Errorf("broker %s: -state: %w", cmd, err)
		}
	}
	if *limit < 1 {
		return fmt.Errorf("broker %s: -limit %d: give a number of requests, 1 or more", cmd, *limit)
	}
	if cmd == "credentials" && *format != "json" && *format != "env" && *format != "console" {
		return fmt.Errorf("broker credentials: -format %q, want json, env or console", *format)
	}
	var path string
	switch cmd {
	case "request", "pre-approve", "audit", "list", "pre-approvals":
	case "approve", "dismiss", "revoke", "credentials", "show":
		if *id == "" {
			return fmt.Errorf("broker %s: -id is required", cmd)
		}
		path = "/v1/requests/" + url.PathEscape(*id)
		if cmd != "show" {
			path += "/" + cmd
		}
	default:
		return fmt.Errorf("unknown broker command %q\n%s", cmd, brokerUsage)
	}
	c, err := newAPIClient(getenv)
	if err != nil {
		return err
	}
	emit := func(v any) error {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	switch cmd {
	case "request":
		var req broker.Request
		if err := c.call(ctx, http.MethodPost, "/v1/requests", map[string]string{"account": *account, "ticket": *ticket,
			"justification": *justification, "duration": duration.String()}, &req); err != nil {
			return err
		}
		return emit(req)
	case "approve", "dismiss", "revoke":
		var body map[string]string
		if cmd == "dismiss" || *reason != "" {
			body = map[string]string{"reason": *reason}
		}
		var req broker.Request
		if err := c.call(ctx, http.MethodPost, path, body, &req); err != nil {
			return err
		}
		return emit(req)
	case "list":
		requests, err := c.listRequests(ctx, *account, *state, *limit)
		if err != nil {
			return err
		}
		return emit(requests)
	case "show":
		var req broker.Request
		if err := c.call(ctx, http.MethodGet, path, nil, &req); err != nil {
			return err
		}
		return emit(req)
	case "pre-approvals":
		var list struct {
			PreApprovals []broker.PreApproval `json:"preApprovals"`
		}
		if err := c.call(ctx, http.MethodGet, "/v1/pre-approvals?"+query("account", *account, "tenant", *tenant), nil, &list); err != nil {
			return err
		}
		return emit(list.PreApprovals)
	case "pre-approve":
		var p broker.PreApproval
		if err := c.call(ctx, http.MethodPost, "/v1/accounts/"+url.PathEscape(*account)+"/pre-approval",
			map[string]string{"maxDuration": maxDuration.String()}, &p); err != nil {
			return err
		}
		return emit(p)
	case "credentials":
		var creds broker.Credentials
		if err := c.call(ctx, http.MethodPost, path, nil, &creds); err != nil {
			return err
		}
		return printCredentials(ctx, out, getenv, *format, creds, emit)
	}
	// audit: the server's JSON lines, as they come
	return c.stream(ctx, "/v1/audit?"+query("account", *account, "engineer", *engineer, "since", *since, "until", *until), out)
}

// query encodes the name/value pairs whose value is set.
func query(pairs ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			q.Set(pairs[i], pairs[i+1])
		}
	}
	return q.Encode()
}

// listRequests reads pages of GET /v1/requests until it has limit requests or the pages end.
func (c *apiClient) listRequests(ctx context.Context, account, state string, limit int) ([]broker.Request, error) {
	out := []broker.Request{}
	cursor := ""
	for len(out) < limit {
		var page broker.RequestPage
		path := "/v1/requests?" + query("account", account, "state", state,
			"limit", fmt.Sprint(min(limit-len(out), broker.MaxListLimit)), "cursor", cursor)
		if err := c.call(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Requests...)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	return out, nil
}

// printCredentials writes a session as JSON, as export lines, or as a console sign-in URL.
func printCredentials(ctx context.Context, out io.Writer, getenv func(string) string, format string, c broker.Credentials, emit func(any) error) error {
	switch format {
	case "json":
		return emit(c)
	case "console":
		link, err := (&broker.Console{Endpoint: getenv("FEDERATION_ENDPOINT"), Issuer: getenv("CONSOLE_ISSUER")}).SignInURL(ctx, c)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, link)
		return err
	}
	_, err := fmt.Fprintf(out, "export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nexport AWS_SESSION_TOKEN=%s\n# expires %s; session %s in %s\n",
		c.AccessKeyID, c.SecretAccessKey, c.SessionToken, c.Expiration.Format(time.RFC3339), c.SessionName, c.RoleARN)
	return err
}

// createBrokerTable is the operator's command: it needs AWS credentials, not a sign-in.
func createBrokerTable(ctx context.Context, getenv func(string) string, out io.Writer) error {
	table := getenv("BROKER_TABLE")
	if table == "" {
		return errors.New("BROKER_TABLE is not set")
	}
	awsCfg, err := loadAWSConfig(ctx)
	if err != nil {
		return err
	}
	if err := broker.CreateTable(ctx, dynamodb.NewFromConfig(awsCfg), table); err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, "created", table)
	return err
}

// apiClient calls the backend's API with the signed-in token.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// secureURL says why raw, where a bearer token or a password is sent, is not an https URL or a
// plain http URL on a loopback host (a local server), or nil: auth.CheckURL's rule.
func secureURL(name, raw string) error {
	if err := auth.CheckURL(name, raw); err != nil {
		return fmt.Errorf("%w: tokens go over https only (plain http on a loopback address, for a local server)", err)
	}
	return nil
}

// newAPIClient reads SUPPORT_API_URL and the cached token.
func newAPIClient(getenv func(string) string) (*apiClient, error) {
	base := strings.TrimSuffix(getenv("SUPPORT_API_URL"), "/")
	if base == "" {
		return nil, errors.New("SUPPORT_API_URL is not set (the backend's API, e.g. http://127.0.0.1:8080)")
	}
	if err := secureURL("SUPPORT_API_URL", base); err != nil {
		return nil, err
	}
	path, err := tokenPath(getenv)
	if err != nil {
		return nil, err
	}
	t, err := loadToken(path, time.Now())
	if err != nil {
		return nil, err
	}
	return &apiClient{base: base, token: t.Token, http: &http.Client{Timeout: apiTimeout}}, nil
}

// call sends body (nil: none) as JSON and decodes the answer into v.
func (c *apiClient) call(ctx context.Context, method, path string, body map[string]string, v any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	resp, err := c.do(ctx, method, path, rd)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return nil
}

// stream copies a successful answer's body to out.
func (c *apiClient) stream(ctx context.Context, path string, out io.Writer) error {
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(out, resp.Body); err != nil {
		return fmt.Errorf("GET %s: reading the answer: %w", path, err)
	}
	return nil
}

// do sends the request with the bearer token and returns a 2xx answer; any other status becomes
// an error with the server's reason.
func (c *apiClient) do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("calling the API (SUPPORT_API_URL): %w", err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, apiError(resp)
}

// apiError turns a refusal into what the user should know: the server's reason ({"error": …}) and,
// for 401, what to do.
func apiError(resp *http.Response) error {
	var e struct {
		Error string `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	reason := ""
	if json.Unmarshal(raw, &e) == nil {
		reason = e.Error
	}
	if reason == "" {
		reason = strings.TrimSpace(string(raw))
		if len(reason) > 200 {
			reason = reason[:200] + "…"
		}
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		if reason != "" {
			return fmt.Errorf("%w (%s)", errNotSignedIn, reason)
		}
		return errNotSignedIn
	case http.StatusForbidden:
		return fmt.Errorf("refused: %s", reason)
	case http.StatusNotFound, http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
		return errors.New(reason)
	}
	return fmt.Errorf("the API answered %s: %s", resp.Status, reason)
}

// The issuer's operator commands use the backend's wiring.
var (
	errIssuerNotConfigured = backend.ErrIssuerNotConfigured
	newIssuer              = backend.NewIssuer
)
