package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/supportaccess/gateway/internal/auth"
	"github.com/supportaccess/gateway/internal/broker"
)

// apiTimeout bounds one API call; credentials wait on KMS and STS (the server allows 30 s).
const apiTimeout = 40 * time.Second

// The sections of the broker's help: who runs the commands.
const (
	engineers = "engineers (a vendor engineer signed in)"
	customers = "customers (a customer of the account's tenant signed in)"
	everyone  = "engineers and customers"
	operator  = "operator (AWS credentials)"
)

func brokerCommands() *command {
	return &command{
		name: "broker", synopsis: "<command> [flags]", section: people,
		summary: "access requests: request, list, show, approve, dismiss, revoke, pre-approve, credentials, audit",
		about: `Access requests, through the backend's API as the person supportctl login signed in: the commands
send the cached token, and the API takes the identity from it; no flag or variable names anyone.
Results are JSON on stdout (audit: JSON lines).`,
		env:      apiEnv,
		examples: []string{`supportctl broker request -account 111122223333 -ticket SUP-9 -justification "slow queries" -duration 30m`, "supportctl broker list -state pending"},
		subs: []*command{
			requestCommand(), credentialsCommand(),
			listRequestsCommand(), showCommand(), auditCommand(), preApprovalsCommand(),
			decisionCommand("approve", "-id R", "approve a pending request"),
			decisionCommand("dismiss", "-id R -reason TEXT", "dismiss a pending request, saying why"),
			decisionCommand("revoke", "-id R [-reason TEXT]", "revoke an approved request: no new credentials"),
			preApproveCommand(), brokerCreateTableCommand(),
		},
	}
}

// flags of several broker commands
func requestID(f *flagSet) *string {
	return f.text("id", "R", "the request's ID (req-…, as request and list print it)", required, func(s string) error {
		if !broker.ValidRequestID(s) {
			return errors.New("not a request ID: req- and 24 hexadecimal digits, as request and list print it")
		}
		return nil
	})
}

// checkSession bounds a duration of access: what one session can be.
func checkSession(d time.Duration) error {
	if d < broker.MinSession || d > broker.MaxSession {
		return fmt.Errorf("give %s to %s (one session; the backend may allow less)", formatDuration(broker.MinSession), formatDuration(broker.MaxSession))
	}
	return nil
}

func requestCommand() *command {
	return &command{
		name: "broker request", synopsis: "-account A -ticket T -justification TEXT [-duration D]", section: engineers,
		summary: "ask for access to a customer's account (prints the request)",
		about: `Asks for access to the customer's account, for the ticket, and prints the request as JSON: PENDING
until a customer of the account's tenant decides, or APPROVED at once under a standing approval.`,
		env:      apiEnv,
		examples: []string{`supportctl broker request -account 111122223333 -ticket SUP-9 -justification "slow queries" -duration 30m`},
		flags: func(f *flagSet) action {
			account := f.account("account", "the customer's AWS account ID, 12 digits", required)
			ticket := f.text("ticket", "T", fmt.Sprintf("the support ticket, at most %d characters", broker.MaxTicketLength), required, broker.ValidateTicket)
			justification := f.text("justification", "TEXT", "why access is needed, for the customer to read", required, broker.ValidateJustification)
			duration := f.duration("duration", time.Hour, fmt.Sprintf("how long access is needed, %s to %s", formatDuration(broker.MinSession), formatDuration(broker.MaxSession)), checkSession)
			return func(ctx context.Context, x *invocation) error {
				c, err := newAPIClientFor(x, f.cmd)
				if err != nil {
					return err
				}
				var req broker.Request
				if err := c.call(ctx, http.MethodPost, "/v1/requests", map[string]string{"account": *account, "ticket": *ticket,
					"justification": *justification, "duration": duration.String()}, &req); err != nil {
					return err
				}
				if req.PreApproved && req.Duration() < *duration {
					x.note("approved at once under the account's standing approval, for %s: its maximum (you asked for %s)", req.Duration(), *duration)
				}
				return emit(x.out, req)
			}
		},
	}
}

func credentialsCommand() *command {
	return &command{
		name: "broker credentials", synopsis: "-id R [-format F]", section: engineers,
		summary: "the requester's session: credentials, export lines or a console sign-in URL",
		about: `Gets a session for an approved request of yours: credentials as JSON, as export lines for a shell,
or a console sign-in URL. Each call is a new session, at most until the request's access ends.`,
		env: append(slices.Clone(apiEnv),
			envVar{"FEDERATION_ENDPOINT", "with -format console: AWS's federation endpoint (default " + broker.FederationEndpoint + "); the session is sent there"},
			envVar{"CONSOLE_ISSUER", "with -format console: the issuer the console names on sign-out"}),
		examples: []string{"supportctl broker credentials -id req-0123456789abcdef01234567 -format env",
			"eval \"$(supportctl broker credentials -id req-0123456789abcdef01234567 -format env)\""},
		flags: func(f *flagSet) action {
			id := requestID(f)
			format := f.enum("format", "F", "json", []string{"json", "env", "console"}, "the session as json, env (export lines) or console (a sign-in URL)")
			return func(ctx context.Context, x *invocation) error {
				e := newEnv(x, f.cmd)
				console := &broker.Console{Endpoint: e.check("FEDERATION_ENDPOINT", checkSecureURL), Issuer: e.get("CONSOLE_ISSUER")}
				c, err := newAPIClient(e)
				if err != nil {
					return err
				}
				var creds broker.Credentials
				if err := c.call(ctx, http.MethodPost, "/v1/requests/"+url.PathEscape(*id)+"/credentials", nil, &creds); err != nil {
					return err
				}
				return printCredentials(ctx, x.out, console, *format, creds)
			}
		},
	}
}

// requestStates are the states list takes, as the API spells them.
var requestStates = []string{string(broker.Pending), string(broker.Approved), string(broker.Dismissed), string(broker.Revoked), string(broker.Expired)}

func listRequestsCommand() *command {
	return &command{
		name: "broker list", synopsis: "[-account A] [-state S] [-limit N]", section: everyone,
		summary:  "requests, newest first: an engineer's own (any account's with -account), a customer's tenant's",
		env:      apiEnv,
		examples: []string{"supportctl broker list -state pending", "supportctl broker list -account 111122223333 -limit 10"},
		flags: func(f *flagSet) action {
			account := f.account("account", "only this account's requests", optional)
			state := f.enum("state", "S", "", requestStates, "only requests in this state now, in any case")
			limit := f.count("limit", "N", broker.DefaultListLimit, "at most this many requests")
			return func(ctx context.Context, x *invocation) error {
				c, err := newAPIClientFor(x, f.cmd)
				if err != nil {
					return err
				}
				requests, err := c.listRequests(ctx, *account, *state, *limit)
				if err != nil {
					return err
				}
				if len(requests) == 0 {
					x.note("no access requests matched (%s)", describe("any you can see", "state", *state, "account", *account))
				}
				return emit(x.out, requests)
			}
		},
	}
}

// describe is what a list looked for: "state PENDING, account 111122223333", or all.
func describe(all string, pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			parts = append(parts, pairs[i]+" "+pairs[i+1])
		}
	}
	if len(parts) == 0 {
		return all
	}
	return strings.Join(parts, ", ")
}

func showCommand() *command {
	return &command{
		name: "broker show", synopsis: "-id R", section: everyone,
		summary:  "one request, in its state now",
		env:      apiEnv,
		examples: []string{"supportctl broker show -id req-0123456789abcdef01234567"},
		flags: func(f *flagSet) action {
			id := requestID(f)
			return func(ctx context.Context, x *invocation) error {
				c, err := newAPIClientFor(x, f.cmd)
				if err != nil {
					return err
				}
				var req broker.Request
				if err := c.call(ctx, http.MethodGet, "/v1/requests/"+url.PathEscape(*id), nil, &req); err != nil {
					return err
				}
				return emit(x.out, req)
			}
		},
	}
}

func auditCommand() *command {
	return &command{
		name: "broker audit", synopsis: "-account A | -engineer E [-since T] [-until T]", section: everyone,
		summary: "the audit log as JSON lines: a customer its accounts', an engineer their own",
		env:     apiEnv,
		examples: []string{"supportctl broker audit -account 111122223333 -since 2026-11-29T00:00:00Z",
			"supportctl broker audit -engineer alice@doit.com"},
		flags: func(f *flagSet) action {
			account := f.account("account", "the account whose events to list", optional)
			engineer := f.text("engineer", "E", "the engineer whose events to list (the vendor's people read anyone's; a customer gives -account)", optional, nil)
			since, sinceT := f.timestamp("since", "events from")
			until, untilT := f.timestamp("until", "events until")
			f.check(func() error {
				if (*account == "") == (*engineer == "") {
					return errors.New("give -account or -engineer (exactly one)")
				}
				if *since != "" && *until != "" && untilT.Before(*sinceT) {
					return fmt.Errorf("-until %s is before -since %s", *until, *since)
				}
				return nil
			})
			return func(ctx context.Context, x *invocation) error {
				c, err := newAPIClientFor(x, f.cmd)
				if err != nil {
					return err
				}
				out := &countingWriter{w: x.out}
				if err := c.stream(ctx, "/v1/audit?"+query("account", *account, "engineer", *engineer, "since", *since, "until", *until), out); err != nil {
					return err
				}
				if out.n == 0 {
					x.note("no audit events matched (%s)", describe("", "account", *account, "engineer", *engineer, "since", *since, "until", *until))
				}
				return nil
			}
		},
	}
}

func preApprovalsCommand() *command {
	return &command{
		name: "broker pre-approvals", synopsis: "[-account A] [-tenant T]", section: everyone,
		summary:  "standing approvals: a customer's tenant's; an engineer names an account or a tenant",
		env:      apiEnv,
		examples: []string{"supportctl broker pre-approvals   # a customer: its tenant's", "supportctl broker pre-approvals -tenant acme   # an engineer names a tenant or an account"},
		flags: func(f *flagSet) action {
			account := f.account("account", "only this account's", optional)
			tenant := f.text("tenant", "T", "only this tenant's (engineers)", optional, nil)
			return func(ctx context.Context, x *invocation) error {
				c, err := newAPIClientFor(x, f.cmd)
				if err != nil {
					return err
				}
				var list struct {
					PreApprovals []broker.PreApproval `json:"preApprovals"`
				}
				if err := c.call(ctx, http.MethodGet, "/v1/pre-approvals?"+query("account", *account, "tenant", *tenant), nil, &list); err != nil {
					return err
				}
				if len(list.PreApprovals) == 0 {
					x.note("no standing approvals matched (%s)", describe("any you can see", "account", *account, "tenant", *tenant))
					list.PreApprovals = []broker.PreApproval{}
				}
				return emit(x.out, list.PreApprovals)
			}
		},
	}
}

// decisionCommand is approve, dismiss or revoke: a customer's decision on a request.
func decisionCommand(name, synopsis, summary string) *command {
	about := map[string]string{
		"approve": "Approves a pending request of an account of your tenant; prints the request, APPROVED, with when access ends.",
		"dismiss": "Dismisses a pending request of an account of your tenant; the reason is recorded and shown to the engineer.",
		"revoke": `Revokes an approved request: no new credentials are issued; a session already issued ends at its
expiry, at most 1h later.`,
	}[name]
	example := map[string]string{
		"approve": "supportctl broker approve -id req-0123456789abcdef01234567",
		"dismiss": `supportctl broker dismiss -id req-0123456789abcdef01234567 -reason "not covered by the support contract"`,
		"revoke":  `supportctl broker revoke -id req-0123456789abcdef01234567 -reason "the incident is closed"`,
	}[name]
	return &command{
		name: "broker " + name, synopsis: synopsis, section: customers, summary: summary, about: about,
		env: apiEnv, examples: []string{example},
		flags: func(f *flagSet) action {
			id := requestID(f)
			var reason *string
			switch name {
			case "dismiss":
				reason = f.text("reason", "TEXT", "why, for the engineer to read", required, broker.ValidateReason)
			case "revoke":
				reason = f.text("reason", "TEXT", "why, for the engineer to read", optional, broker.ValidateReason)
			}
			return func(ctx context.Context, x *invocation) error {
				c, err := newAPIClientFor(x, f.cmd)
				if err != nil {
					return err
				}
				var body map[string]string
				if reason != nil && *reason != "" {
					body = map[string]string{"reason": *reason}
				}
				var req broker.Request
				if err := c.call(ctx, http.MethodPost, "/v1/requests/"+url.PathEscape(*id)+"/"+name, body, &req); err != nil {
					return err
				}
				return emit(x.out, req)
			}
		},
	}
}

func preApproveCommand() *command {
	return &command{
		name: "broker pre-approve", synopsis: "-account A [-max-duration D]", section: customers,
		summary: "a standing approval: the account's requests start approved, each capped at D (0 removes it)",
		env:     apiEnv,
		examples: []string{"supportctl broker pre-approve -account 111122223333 -max-duration 20m",
			"supportctl broker pre-approve -account 111122223333 -max-duration 0"},
		flags: func(f *flagSet) action {
			account := f.account("account", "the account of your tenant, 12 digits", required)
			maxDuration := f.duration("max-duration", time.Hour, fmt.Sprintf("the longest access approved at once, %s to %s; 0 removes the approval",
				formatDuration(broker.MinSession), formatDuration(broker.MaxSession)), func(d time.Duration) error {
				if d == 0 {
					return nil
				}
				if err := checkSession(d); err != nil {
					return fmt.Errorf("%w, or 0 to remove the approval", err)
				}
				return nil
			})
			return func(ctx context.Context, x *invocation) error {
				c, err := newAPIClientFor(x, f.cmd)
				if err != nil {
					return err
				}
				var p broker.PreApproval
				if err := c.call(ctx, http.MethodPost, "/v1/accounts/"+url.PathEscape(*account)+"/pre-approval",
					map[string]string{"maxDuration": maxDuration.String()}, &p); err != nil {
					return err
				}
				if *maxDuration == 0 {
					x.note("removed the standing approval of account %s: its requests wait for a decision", *account)
				}
				return emit(x.out, p)
			}
		},
	}
}

func brokerCreateTableCommand() *command {
	return &command{
		name: "broker create-table", section: operator,
		summary:  "create the broker table (BROKER_TABLE), with its TTL (local runs; production declares it in its stack)",
		env:      []envVar{{"BROKER_TABLE", "the broker's DynamoDB table (required), e.g. broker"}, awsEnv},
		examples: []string{"BROKER_TABLE=broker supportctl broker create-table"},
		flags: func(f *flagSet) action {
			return func(ctx context.Context, x *invocation) error {
				e := newEnv(x, f.cmd)
				table := e.table("BROKER_TABLE", "the broker's DynamoDB table, e.g. broker")
				if err := e.err(); err != nil {
					return err
				}
				awsCfg, err := awsConfig(ctx, e)
				if err != nil {
					return err
				}
				if err := broker.CreateTable(ctx, dynamodb.NewFromConfig(awsCfg), table); err != nil {
					return err
				}
				_, err = fmt.Fprintln(x.out, "created", table)
				return err
			}
		},
	}
}

// emit writes v as indented JSON.
func emit(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
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
func printCredentials(ctx context.Context, out io.Writer, console *broker.Console, format string, c broker.Credentials) error {
	switch format {
	case "json":
		return emit(out, c)
	case "console":
		link, err := console.SignInURL(ctx, c)
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

// apiClient calls the backend's API with the signed-in token.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// checkSecureURL says why raw, where a bearer token, a password or a session is sent, is not an
// https URL or a plain http URL on a loopback host (a local server): auth.CheckURL's rule.
func checkSecureURL(raw string) error {
	if auth.CheckURL("URL", raw) != nil {
		return errors.New("tokens go over https only: give an https URL, or http on a loopback address for a local server " +
			"(no user, query or fragment)")
	}
	return nil
}

// newAPIClientFor is newAPIClient for cmd, reading only the API's variables.
func newAPIClientFor(x *invocation, cmd *command) (*apiClient, error) {
	return newAPIClient(newEnv(x, cmd))
}

// newAPIClient checks SUPPORT_API_URL and where the token is cached (and whatever else e has read),
// then reads the cached token.
func newAPIClient(e *environment) (*apiClient, error) {
	base := strings.TrimSuffix(e.get("SUPPORT_API_URL"), "/")
	if base == "" {
		e.need("SUPPORT_API_URL", "the backend's API, e.g. http://127.0.0.1:8080")
	} else {
		e.check("SUPPORT_API_URL", checkSecureURL)
	}
	path, err := tokenPath(e.getenv)
	if err != nil {
		e.add(err)
	}
	if err := e.err(); err != nil {
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
	if reason == "" && resp.StatusCode != http.StatusUnauthorized && resp.StatusCode < 500 {
		// not the API's {"error": …}: the URL names another server, or a path under the API's
		return fmt.Errorf("%s %s answered %s, which the backend's API never does: is SUPPORT_API_URL its base URL "+
			"(e.g. http://127.0.0.1:8080, without /v1)?", resp.Request.Method, resp.Request.URL.Redacted(), resp.Status)
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
