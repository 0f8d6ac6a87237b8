package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// A published template: the stack that defines it and where it is committed.
type published struct {
	stack string
	path  string
}

// Templates are the committed, customer-facing templates, in the order they are written.
var Templates = []published{
	{stack: "management-role", path: "templates/management-role.yaml"},
	{stack: "support-gateway", path: "templates/support-gateway.json"},
	{stack: "support-gateway-stackset", path: "stacksets/support-gateway-stackset.yaml"},
}

// NewApp defines every stack of the product. outdir is where the cloud assembly goes ("" for the
// default, or what the cdk CLI asks for through CDK_OUTDIR).
func NewApp(c Config, context map[string]any, outdir string) awscdk.App {
	ctx := map[string]any{"aws:cdk:enable-path-metadata": false}
	for k, v := range context {
		ctx[k] = v
	}
	props := &awscdk.AppProps{Context: &ctx}
	if outdir != "" {
		props.Outdir = jsii.String(outdir)
	}
	app := awscdk.NewApp(props)
	NewManagementRoleStack(app, "management-role", c)
	NewSupportGatewayStack(app, "support-gateway", c)
	NewStackSetStack(app, "support-gateway-stackset", c)
	return app
}
