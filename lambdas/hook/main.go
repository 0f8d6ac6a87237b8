// Command hook is the Custom::Hook Lambda of the customer templates (bootstrap, provided.al2023).
// It is wiring only: configuration from the environment, SDK clients built once, lambda.Start.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/hook"
)

func main() {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1) // an init error: Lambda reports it, and no event is lost (none was received)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		Level: cfg.LogLevel, ReplaceAttr: lambdacontext.ReplaceAttr,
	}))
	// AWS_REGION, AWS_ENDPOINT_URL and the credentials come from the SDK's standard sources. A call
	// AWS throttles for its request rate backs off and waits until AWS admits it, its context ends
	// or 30 attempts are spent (a StackSet's burst meets KMS CreateKey's quota); other errors get 8
	// attempts (awsx.PatientRetryer).
	awsCfg, err := awsconfig.LoadDefaultConfig(context.Background(),
		awsconfig.WithRetryer(awsx.PatientRetryer(awsx.PatientRetry{MaxAttempts: 8})))
	if err != nil {
		logger.Error("loading the AWS configuration", "error", err)
		os.Exit(1)
	}
	h, _, err := hook.New(awsCfg, hook.Settings{
		Vendor: cfg.Vendor, VendorAccountID: cfg.VendorAccountID, Table: cfg.Table, Partitions: cfg.Partitions, Regions: cfg.Regions,
		SignerRoleARN: cfg.SignerRoleARN, IssuerBucket: cfg.IssuerBucket, Paces: cfg.Paces,
		Budget: cfg.PropagationBudget, Thumbprints: cfg.Thumbprints, SkipNegativeProbe: !cfg.ProbeWithoutExternal, Logger: logger,
	})
	if err != nil {
		logger.Error("configuring the hook", "error", err)
		os.Exit(1)
	}
	runner := &cfnresource.Runner{
		Handler:   h,
		Responder: &cfnresource.Responder{Hosts: cfnresource.ResponseHosts{Extra: cfg.ResponseHosts}},
		Logger:    logger,
		Margin:    cfg.ResponseMargin,
	}
	lambda.Start(runner) // a lambda.Handler: it receives each payload untouched
}
