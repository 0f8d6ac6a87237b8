package main

import (
	"encoding/json"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	apigw "github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	authorizers "github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	integrations "github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	cognito "github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	lambda "github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
)

// The HTTP API's throttling, for the whole stage: engineers and customers clicking through requests
// and approvals, the CLI fetching credentials, verifiers fetching issuer documents. Well above
// people's pace, well below what would let one caller run up the Lambda and DynamoDB bill.
const (
	apiRateLimit  = 50  // requests per second, steady
	apiBurstLimit = 100 // requests at once
	// apiTimeout stays under API Gateway's 30 s integration limit.
	apiTimeout = 25
	// apiReservedConcurrency caps the API function: at the stage's rate limit and the broker's
	// latency (tens of milliseconds, a second at worst) it needs a handful; the cap keeps a flood from
	// taking the account's concurrency from the hook.
	apiReservedConcurrency = 25
)

// apiSet is the HTTP API's part of the backend.
type apiSet struct {
	api      apigw.HttpApi
	function lambda.Function
	pool     cognito.UserPool // nil with an external issuer
	client   cognito.UserPoolClient
}

// newAPI makes the HTTP API: /v1/{proxy+} behind a JWT authorizer (the stack's Cognito user pool,
// or an external OpenID provider from the context) and /healthz outside it, both served by one
// Lambda (lambdas/api, bin/api/bootstrap).
func (be *backend) newAPI() apiSet {
	stack, v := be.stack, be.v
	var out apiSet
	var authorizer apigw.IHttpRouteAuthorizer
	if be.b.AuthIssuer != "" {
		authorizer = authorizers.NewHttpJwtAuthorizer(jsii.String("ApiJwtAuthorizer"), jsii.String(be.b.AuthIssuer),
			&authorizers.HttpJwtAuthorizerProps{JwtAudience: jsii.Strings(be.b.AuthAudience)})
	} else {
		out.pool = cognito.NewUserPool(stack, jsii.String("UserPool"), &cognito.UserPoolProps{
			UserPoolName:      jsii.String(strings.ToLower(v.Name) + "-support-gateway"),
			SelfSignUpEnabled: jsii.Bool(false), // engineers and customers' users are invited
			SignInAliases:     &cognito.SignInAliases{Email: jsii.Bool(true)},
			AutoVerify:        &cognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
			Mfa:               cognito.Mfa_REQUIRED,
			MfaSecondFactor:   &cognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
			PasswordPolicy: &cognito.PasswordPolicy{
				MinLength: jsii.Number(14), RequireLowercase: jsii.Bool(true), RequireUppercase: jsii.Bool(true),
				RequireDigits: jsii.Bool(true), RequireSymbols: jsii.Bool(true),
				TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
			},
			AccountRecovery: cognito.AccountRecovery_EMAIL_ONLY,
			// Threat protection (compromised credentials, risky sign-ins) enforced: the Plus plan.
			FeaturePlan:                  cognito.FeaturePlan_PLUS,
			StandardThreatProtectionMode: cognito.StandardThreatProtectionMode_FULL_FUNCTION,
			DeletionProtection:           jsii.Bool(true),
			RemovalPolicy:                awscdk.RemovalPolicy_RETAIN,
		})
		logicalID(out.pool, "UserPool")
		out.client = out.pool.AddClient(jsii.String("UserPoolClient"), &cognito.UserPoolClientOptions{
			UserPoolClientName: jsii.String(strings.ToLower(v.Name) + "-support-gateway"),
			GenerateSecret:     jsii.Bool(false), // a public client: the CLI and the browser, with PKCE
			AuthFlows:          &cognito.AuthFlow{UserSrp: jsii.Bool(true)},
			OAuth: &cognito.OAuthSettings{
				Flows:        &cognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
				Scopes:       &[]cognito.OAuthScope{cognito.OAuthScope_OPENID(), cognito.OAuthScope_EMAIL(), cognito.OAuthScope_PROFILE()},
				CallbackUrls: jsii.Strings(be.b.AuthCallbackURLs...),
			},
			PreventUserExistenceErrors: jsii.Bool(true),
			EnableTokenRevocation:      jsii.Bool(true),
			AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
			IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
			RefreshTokenValidity:       awscdk.Duration_Hours(jsii.Number(12)),
		})
		logicalID(out.client, "UserPoolClient")
		if be.b.AuthDomainPrefix != "" {
			domain := out.pool.AddDomain(jsii.String("UserPoolDomain"), &cognito.UserPoolDomainOptions{
				CognitoDomain: &cognito.CognitoDomainOptions{DomainPrefix: jsii.String(be.b.AuthDomainPrefix)},
			})
			be.output("UserPoolSignInUrl", "Where users sign in (OAuth 2.0 authorization code with PKCE)",
				domain.BaseUrl(nil))
		}
		authorizer = authorizers.NewHttpUserPoolAuthorizer(jsii.String("ApiUserPoolAuthorizer"), out.pool,
			&authorizers.HttpUserPoolAuthorizerProps{UserPoolClients: &[]cognito.IUserPoolClient{out.client}})
		be.output("UserPoolId", "The Cognito user pool of engineers and customers' users", out.pool.UserPoolId())
		be.output("UserPoolClientId", "The app client (the JWT authorizer's audience)", out.client.UserPoolClientId())
	}

	env := be.apiEnvironment(out)
	fnLogs := be.logGroup(stack, "ApiLogs")
	fn := lambda.NewFunction(stack, jsii.String("ApiFunction"), goFunction(be.b.APIAsset, lambda.FunctionProps{
		Description:                  jsii.String(v.Name + " support gateway: HTTP API (broker, console, issuer documents)"),
		Role:                         be.roles.api,
		MemorySize:                   jsii.Number(512),
		Timeout:                      awscdk.Duration_Seconds(jsii.Number(apiTimeout)),
		Environment:                  &env,
		LogGroup:                     fnLogs,
		ReservedConcurrentExecutions: jsii.Number(apiReservedConcurrency),
	}))
	logicalID(fn, "ApiFunction")
	fnLogs.GrantWrite(be.roles.api)
	out.function = fn

	api := apigw.NewHttpApi(stack, jsii.String("Api"), &apigw.HttpApiProps{
		ApiName:            jsii.String(strings.ToLower(v.Name) + "-support-gateway"),
		Description:        jsii.String(v.Name + " support gateway API"),
		CreateDefaultStage: jsii.Bool(false),
	})
	logicalID(api, "Api")
	stage := apigw.NewHttpStage(stack, jsii.String("ApiStage"), &apigw.HttpStageProps{
		HttpApi:    api,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle:   &apigw.ThrottleSettings{RateLimit: jsii.Number(apiRateLimit), BurstLimit: jsii.Number(apiBurstLimit)},
	})
	accessLogs := be.logGroup(stack, "ApiAccessLogs")
	stage.Node().DefaultChild().(apigw.CfnStage).SetAccessLogSettings(&apigw.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(apiAccessLogFormat()),
	})

	integration := integrations.NewHttpLambdaIntegration(jsii.String("ApiIntegration"), fn, nil)
	api.AddRoutes(&apigw.AddRoutesOptions{
		Path: jsii.String("/v1/{proxy+}"), Methods: &[]apigw.HttpMethod{apigw.HttpMethod_ANY},
		Integration: integration, Authorizer: authorizer,
	})
	// Outside the authorizer: the health check, for load balancers and probes without a user. The
	// issuer's documents are not routed here: in AWS, STS fetches them from the issuer hosts, which
	// CloudFront serves from the issuer bucket (newIssuer); behind API Gateway the Host is the API's
	// own, which names no issuer host, so the function's issuer routes would only answer 404. They
	// serve local runs (supportd), where the Host names the issuer host.
	for _, path := range []string{"/healthz"} {
		api.AddRoutes(&apigw.AddRoutesOptions{
			Path: jsii.String(path), Methods: &[]apigw.HttpMethod{apigw.HttpMethod_GET, apigw.HttpMethod_HEAD},
			Integration: integration, Authorizer: apigw.NewHttpNoneAuthorizer(),
		})
	}
	out.api = api
	be.output("ApiUrl", "The HTTP API", api.ApiEndpoint())
	return out
}

// apiAccessLogFormat is one JSON line per request: who (the token's sub), what, the result, and
// the authorizer's and integration's errors; never the token.
func apiAccessLogFormat() string {
	b, err := json.Marshal(map[string]string{
		"requestId":        "$context.requestId",
		"time":             "$context.requestTime",
		"ip":               "$context.identity.sourceIp",
		"userAgent":        "$context.identity.userAgent",
		"method":           "$context.httpMethod",
		"route":            "$context.routeKey",
		"path":             "$context.path",
		"status":           "$context.status",
		"latencyMs":        "$context.responseLatency",
		"responseLength":   "$context.responseLength",
		"sub":              "$context.authorizer.claims.sub",
		"authorizerError":  "$context.authorizer.error",
		"integrationError": "$context.integrationErrorMessage",
	})
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return string(b)
}

// apiEnvironment is the API function's configuration, as backend.Server reads it (ServerUsage): the
// tables, the issuer (VENDOR_ACCOUNT_ID, SIGNER_ROLE_ARN, the issuer hosts), and OIDC_ISSUER and
// OIDC_AUDIENCE, what the JWT authorizer checks, for the server's own verification of the same
// token, with the engineers' group.
func (be *backend) apiEnvironment(a apiSet) map[string]*string {
	v := be.v
	env := map[string]*string{
		"REGISTRY_TABLE":      be.tables.registry.TableName(),
		"BROKER_TABLE":        be.tables.broker.TableName(),
		"VENDOR_ACCOUNT_ID":   jsii.String(be.account),
		"VENDOR_NAME":         jsii.String(v.Name),
		"ISSUER_PRIMARY_HOST": jsii.String(v.IssuerHosts[0]),
		"ISSUER_STANDBY_HOST": jsii.String(v.IssuerHosts[1]),
		"SIGNER_ROLE_ARN":     jsii.String(be.signerARN),
		"OIDC_ENGINEER_GROUP": jsii.String(strings.ToLower(v.Name) + "-engineers"),
	}
	if a.pool != nil {
		env["OIDC_ISSUER"] = awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("https://cognito-idp." + Region + ".amazonaws.com/"), a.pool.UserPoolId()})
		env["OIDC_AUDIENCE"] = a.client.UserPoolClientId()
	} else {
		env["OIDC_ISSUER"] = jsii.String(be.b.AuthIssuer)
		env["OIDC_AUDIENCE"] = jsii.String(be.b.AuthAudience)
	}
	return env
}
