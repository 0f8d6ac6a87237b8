// Command echo is the Lambda function the lambdaruntime tests run. It echoes
// its event, except for these requests:
//
//	{"panic":true}         panics (aws-lambda-go reports it, then the process exits)
//	{"fail":true}          returns an error
//	{"sleep":true}         sleeps past its deadline, ignoring its context
//	{"brokenStream":true}  returns a response stream that fails midway
//	{"env":true}           returns its environment variables
//
// and these environment variables:
//
//	ECHO_INIT=exit              exits during init
//	ECHO_INIT=report            posts to /runtime/init/error, then exits
//	ECHO_INIT=hang              never asks for an invocation
//	ECHO_IGNORE_SIGTERM=1       ignores SIGTERM (Close must fall back to SIGKILL)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Panic        bool `json:"panic"`
	Fail         bool `json:"fail"`
	Sleep        bool `json:"sleep"`
	BrokenStream bool `json:"brokenStream"`
	Env          bool `json:"env"`
}

// brokenStream is an io.Reader that marshals to "{}", so aws-lambda-go streams it.
type brokenStream struct{ sent bool }

func (b *brokenStream) Read(p []byte) (int, error) {
	if b.sent {
		return 0, errors.New("echo: stream broke")
	}
	b.sent = true
	return copy(p, "partial"), nil
}

func handle(ctx context.Context, event json.RawMessage) (any, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	log.Printf("echo: request %s, %d bytes, function %s", lc.AwsRequestID, len(event), lc.InvokedFunctionArn)
	var req request
	_ = json.Unmarshal(event, &req) // anything else is echoed as it is
	switch {
	case req.Panic:
		panic("echo: asked to panic")
	case req.Fail:
		return nil, errors.New("echo: asked to fail")
	case req.Sleep:
		deadline, _ := ctx.Deadline()
		time.Sleep(time.Until(deadline) + time.Minute) // the harness stops us at the deadline
	case req.BrokenStream:
		return &brokenStream{}, nil
	case req.Env:
		return os.Environ(), nil
	}
	return event, nil
}

func main() {
	switch os.Getenv("ECHO_INIT") {
	case "exit":
		log.Fatal("echo: init failed: missing configuration")
	case "report":
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		resp, err := http.Post(url, "application/json",
			strings.NewReader(`{"errorType":"Init.Config","errorMessage":"echo: bad configuration"}`))
		if err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	case "hang":
		time.Sleep(time.Minute) // the harness gives up after its init timeout
	}
	if os.Getenv("ECHO_IGNORE_SIGTERM") != "" {
		signal.Ignore(syscall.SIGTERM)
	}
	log.Printf("echo: init done, region %s", os.Getenv("AWS_REGION"))
	lambda.Start(handle)
}
