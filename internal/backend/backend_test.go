package backend

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// The broker's settings are checked when the command starts, each error naming its variable.
func TestNewBrokerChecksItsSettings(t *testing.T) {
	for name, tc := range map[string]struct {
		vars   map[string]string
		reason string // "" if the settings are fine
	}{
		"defaults":                 {vars: map[string]string{}},
		"environment of 200 ä":     {vars: map[string]string{"SUPPORT_ENVIRONMENT": strings.Repeat("ä", 200)}},
		"environment of 256 ä":     {vars: map[string]string{"SUPPORT_ENVIRONMENT": strings.Repeat("ä", 256)}},
		"environment with a space": {vars: map[string]string{"SUPPORT_ENVIRONMENT": "prod eu"}},
		"environment STS refuses": {vars: map[string]string{"SUPPORT_ENVIRONMENT": "prod (eu)"},
			reason: `SUPPORT_ENVIRONMENT (the DoiTEnvironment session tag value): "prod (eu)" has '(' (character 6): ` + policy.SessionTagValueRule},
		"environment of 257 ä": {vars: map[string]string{"SUPPORT_ENVIRONMENT": strings.Repeat("ä", 257)}, reason: "SUPPORT_ENVIRONMENT (the DoiTEnvironment session tag value): the value has 257 characters"},
		"max duration of 1h":   {vars: map[string]string{"BROKER_MAX_DURATION": "1h"}},
		"max duration of 20m":  {vars: map[string]string{"BROKER_MAX_DURATION": "20m"}},
		"max duration of 720h": {vars: map[string]string{"BROKER_MAX_DURATION": "720h"},
			reason: "BROKER_MAX_DURATION=720h: maximum duration 720h0m0s is over 1h0m0s, the longest session (the support roles' MaxSessionDuration)"},
		"max duration of 1h1s":   {vars: map[string]string{"BROKER_MAX_DURATION": "1h1s"}, reason: "BROKER_MAX_DURATION=1h1s: maximum duration 1h0m1s is over 1h0m0s"},
		"max duration of 10m":    {vars: map[string]string{"BROKER_MAX_DURATION": "10m"}, reason: "BROKER_MAX_DURATION=10m: maximum duration 10m0s is shorter than a session"},
		"max duration of a day":  {vars: map[string]string{"BROKER_MAX_DURATION": "a day"}, reason: "BROKER_MAX_DURATION: time: invalid duration"},
		"pending for -1h":        {vars: map[string]string{"BROKER_PENDING_FOR": "-1h"}, reason: "BROKER_PENDING_FOR=-1h: pending time -1h0m0s is under a minute"},
		"pending for 87600h":     {vars: map[string]string{"BROKER_PENDING_FOR": "87600h"}, reason: "BROKER_PENDING_FOR=87600h: pending time 87600h0m0s is over 168h0m0s"},
		"pending for 3h":         {vars: map[string]string{"BROKER_PENDING_FOR": "3h"}},
		"environment with a tab": {vars: map[string]string{"SUPPORT_ENVIRONMENT": "prod\teu"}, reason: `SUPPORT_ENVIRONMENT (the DoiTEnvironment session tag value): "prod\teu" has '\t'`},
		"staff domains":          {vars: map[string]string{"BROKER_STAFF_DOMAINS": "doit.com,doit-intl.com"}},
		"staff domain without a dot": {vars: map[string]string{"BROKER_STAFF_DOMAINS": "doit.com,doit"},
			reason: `BROKER_STAFF_DOMAINS=doit.com,doit: staff domain "doit" is not a domain name such as doit.com`},
		"staff domain as an address": {vars: map[string]string{"BROKER_STAFF_DOMAINS": "@doit.com"}, reason: `staff domain "@doit.com" is not a domain name`},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := aws.Config{Region: "us-east-1"}
			_, err := NewBroker(func(k string) string { return tc.vars[k] }, cfg, &registry.Registry{}, NoMinter{},
				dynamodb.NewFromConfig(cfg), "broker", nil)
			if tc.reason == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.reason)
		})
	}
}

// A console URL the console cannot be served at stops the server at start, naming the variable;
// without CONSOLE_URL there is no console.
func TestServerChecksTheConsoleURL(t *testing.T) {
	env := map[string]string{"REGISTRY_TABLE": "registry", "BROKER_TABLE": "broker", "OIDC_ISSUER": "http://127.0.0.1:1",
		"OIDC_JWKS_URL": "http://127.0.0.1:1/keys", "OIDC_AUDIENCE": "client", "OIDC_ENGINEER_GROUP": "doit-engineers"}
	cfg := aws.Config{Region: "us-east-1"}
	log := slog.New(slog.DiscardHandler)
	for url, reason := range map[string]string{
		"http://support.example.com/console/":  "must be https (http only on a loopback address)",
		"https://support.example.com/":         "must be its host's /console/",
		"https://support.example.com/console":  "must be its host's /console/",
		"https://support.example.com/console/": "",
		"http://127.0.0.1:8080/console/":       "",
	} {
		env["CONSOLE_URL"] = url
		_, err := Server(t.Context(), func(k string) string { return env[k] }, cfg, log)
		if reason == "" {
			assert.NoError(t, err, url)
			continue
		}
		assert.ErrorContains(t, err, "CONSOLE_URL="+url, url)
		assert.ErrorContains(t, err, reason, url)
	}
}
