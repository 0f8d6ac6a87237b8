package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"

	"github.com/supportaccess/gateway/internal/policy"
)

// Config is what the vendor's platform team sets once, in cdk.json's context.
type Config struct {
	Vendor policy.Vendor
	// VendorAccountID is the vendor's account: the gateway template's hook notifies the SNS topic
	// there by default. (The management-role template receives it as AccountNumberParameter.)
	VendorAccountID string
	// GatewayTemplateURL is where the support-gateway template is published; the StackSet deploys it.
	GatewayTemplateURL string
}

// Context keys in cdk.json.
const (
	ctxVendorName      = "supportGateway:vendorName"
	ctxVendorAccount   = "supportGateway:vendorAccountId"
	ctxBackendRole     = "supportGateway:backendRoleName"
	ctxIssuerPrimary   = "supportGateway:issuerPrimaryHost"
	ctxIssuerStandby   = "supportGateway:issuerStandbyHost"
	ctxHookTopic       = "supportGateway:hookTopicName"
	ctxGatewayTemplate = "supportGateway:gatewayTemplateUrl"
)

var accountID = regexp.MustCompile(`^\d{12}$`)

// DefaultConfig reproduces the source documents.
func DefaultConfig() Config {
	return Config{
		Vendor:             policy.DefaultVendor(),
		VendorAccountID:    "123456789012",
		GatewayTemplateURL: "https://doit-support.s3.amazonaws.com/doit-support.json",
	}
}

// ConfigFromContext overrides the defaults with the context values that are set.
func ConfigFromContext(ctx map[string]any) (Config, error) {
	c := DefaultConfig()
	for key, dst := range map[string]*string{
		ctxVendorName:      &c.Vendor.Name,
		ctxVendorAccount:   &c.VendorAccountID,
		ctxBackendRole:     &c.Vendor.BackendRoleName,
		ctxIssuerPrimary:   &c.Vendor.IssuerHosts[0],
		ctxIssuerStandby:   &c.Vendor.IssuerHosts[1],
		ctxHookTopic:       &c.Vendor.HookTopicName,
		ctxGatewayTemplate: &c.GatewayTemplateURL,
	} {
		v, ok := ctx[key]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return Config{}, fmt.Errorf("context %s: want a string, got %T", key, v)
		}
		*dst = s
	}
	if err := c.Vendor.Validate(); err != nil {
		return Config{}, fmt.Errorf("context: %w", err)
	}
	if !accountID.MatchString(c.VendorAccountID) {
		return Config{}, fmt.Errorf("context %s: %q is not a 12-digit account ID", ctxVendorAccount, c.VendorAccountID)
	}
	return c, nil
}

// readContext returns the "context" object of a cdk.json file, or nothing if there is no file.
// The cdk CLI passes this context itself; `go run ./cdk` reads it here so both see the same config.
func readContext(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var f struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	if f.Context == nil {
		f.Context = map[string]any{}
	}
	return f.Context, nil
}
