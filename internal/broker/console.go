package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// FederationEndpoint is AWS's console federation endpoint.
const FederationEndpoint = "https://signin.aws.amazon.com/federation"

// Console turns a session's credentials into a console sign-in URL through the federation endpoint,
// so an engineer can use the AWS console with exactly the session's permissions.
type Console struct {
	Client   *http.Client // nil: a client with a 10 s timeout
	Endpoint string       // "": FederationEndpoint
	Issuer   string       // shown on the console's sign-out page, e.g. the vendor's portal URL
}

// SignInURL asks the federation endpoint for a sign-in token for c and returns the login URL. The
// URL is a bearer credential for the session: callers must not log it.
func (c *Console) SignInURL(ctx context.Context, creds Credentials) (string, error) {
	endpoint, client := c.Endpoint, c.Client
	if endpoint == "" {
		endpoint = FederationEndpoint
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	session, err := json.Marshal(map[string]string{
		"sessionId": creds.AccessKeyID, "sessionKey": creds.SecretAccessKey, "sessionToken": creds.SessionToken,
	})
	if err != nil {
		return "", err
	}
	q := url.Values{"Action": {"getSigninToken"}, "Session": {string(session)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?"+q.Encode(), nil)
	if err != nil {
		return "", fmt.Errorf("console sign-in: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		// The URL carries the session's secret: report the failure without it.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return "", fmt.Errorf("console sign-in: asking the federation endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("console sign-in: reading the federation endpoint's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("console sign-in: the federation endpoint answered %s", resp.Status)
	}
	var token struct{ SigninToken string }
	if err := json.Unmarshal(body, &token); err != nil || token.SigninToken == "" {
		return "", fmt.Errorf("console sign-in: the federation endpoint gave no sign-in token")
	}
	login := url.Values{"Action": {"login"}, "Issuer": {c.Issuer}, "Destination": {"https://console.aws.amazon.com/"},
		"SigninToken": {token.SigninToken}}
	return endpoint + "?" + login.Encode(), nil
}
