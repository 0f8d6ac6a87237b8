// Command api is the vendor backend's handler tree (internal/api, built by backend.Server) in AWS
// Lambda behind API Gateway's HTTP API (payload format 2.0), through aws-lambda-go-api-proxy: the
// same code path as cmd/supportd serves over HTTP. API Gateway's JWT authorizer checks the token
// first; the handler verifies it again itself.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/supportaccess/gateway/internal/backend"
)

func main() {
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "api: AWS configuration:", err)
		os.Exit(1)
	}
	h, err := backend.Server(ctx, os.Getenv, awsCfg, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}
