package main

import (
	"encoding/json"
	server "github.com/supportaccess/gateway/internal/backend"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/tables"
	"github.com/supportaccess/gateway/test/cfntemplate"
)

// resourcesOf returns the template's resources of one type, by logical ID.
func resourcesOf(tpl cfntemplate.Template, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tpl["Resources"].(map[string]any) {
		if r.(map[string]any)["Type"] == typ {
			out[id] = r.(map[string]any)
		}
	}
	return out
}

func resource(t *testing.T, tpl cfntemplate.Template, id string) map[string]any {
	t.Helper()
	r, ok := tpl["Resources"].(map[string]any)[id].(map[string]any)
	require.True(t, ok, "no resource %s", id)
	return r
}

func properties(t *testing.T, tpl cfntemplate.Template, id string) map[string]any {
	t.Helper()
	p, ok := resource(t, tpl, id)["Properties"].(map[string]any)
	require.True(t, ok, "resource %s has no Properties", id)
	return p
}

// statements returns a policy document's statements by Sid (a CDK-written statement without one
// is keyed by its position).
func statements(t *testing.T, doc any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for i, s := range doc.(map[string]any)["Statement"].([]any) {
		st := s.(map[string]any)
		sid, _ := st["Sid"].(string)
		if sid == "" {
			sid = "#" + strconv.Itoa(i)
		}
		out[sid] = st
	}
	return out
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			} else {
				b, _ := json.Marshal(e)
				out = append(out, string(b))
			}
		}
		return out
	}
	b, _ := json.Marshal(v)
	return []string{string(b)}
}

func TestBackendTablesFollowTheDeclarations(t *testing.T) {
	tpl := backendTemplate(t, BackendStackName)
	b := backendConfigs[BackendStackName]
	for id, decl := range map[string]tables.Table{"RegistryTable": tables.Registry, "BrokerTable": tables.Broker} {
		t.Run(id, func(t *testing.T) {
			r := resource(t, tpl, id)
			assert.Equal(t, "Retain", r["DeletionPolicy"])
			assert.Equal(t, "Retain", r["UpdateReplacePolicy"])
			p := r["Properties"].(map[string]any)
			assert.Equal(t, "PAY_PER_REQUEST", p["BillingMode"])
			assert.Equal(t, true, p["DeletionProtectionEnabled"])
			assert.Equal(t, map[string]any{"PointInTimeRecoveryEnabled": true}, p["PointInTimeRecoverySpecification"])
			assert.Equal(t, map[string]any{"AttributeName": decl.TTLAttribute, "Enabled": true}, p["TimeToLiveSpecification"])
			assert.Equal(t, map[string]any{"SSEEnabled": true}, p["SSESpecification"], "KMS, the AWS managed key")
			wantName := map[string]string{"RegistryTable": b.RegistryTable, "BrokerTable": b.BrokerTable}[id]
			assert.Equal(t, wantName, p["TableName"])
			assert.Equal(t, decl.DefaultName, wantName, "cdk.json leaves the default names")
			keys := []any{map[string]any{"AttributeName": decl.PartitionKey.Name, "KeyType": "HASH"}}
			attrs := []any{map[string]any{"AttributeName": decl.PartitionKey.Name, "AttributeType": string(decl.PartitionKey.Type)}}
			if decl.SortKey.Name != "" {
				keys = append(keys, map[string]any{"AttributeName": decl.SortKey.Name, "KeyType": "RANGE"})
				attrs = append(attrs, map[string]any{"AttributeName": decl.SortKey.Name, "AttributeType": string(decl.SortKey.Type)})
			}
			assert.Equal(t, keys, p["KeySchema"])
			var indexes []any
			defined := map[string]bool{decl.PartitionKey.Name: true, decl.SortKey.Name: true}
			for _, ix := range decl.Indexes {
				schema := []any{map[string]any{"AttributeName": ix.PartitionKey.Name, "KeyType": "HASH"}}
				for _, a := range []tables.Attribute{ix.PartitionKey, ix.SortKey} {
					if a.Name != "" && !defined[a.Name] {
						defined[a.Name] = true
						attrs = append(attrs, map[string]any{"AttributeName": a.Name, "AttributeType": string(a.Type)})
					}
				}
				if ix.SortKey.Name != "" {
					schema = append(schema, map[string]any{"AttributeName": ix.SortKey.Name, "KeyType": "RANGE"})
				}
				indexes = append(indexes, map[string]any{"IndexName": ix.Name, "KeySchema": schema,
					"Projection": map[string]any{"ProjectionType": "ALL"}})
			}
			assert.ElementsMatch(t, attrs, p["AttributeDefinitions"])
			if len(decl.Indexes) == 0 {
				assert.NotContains(t, p, "GlobalSecondaryIndexes")
			} else {
				assert.ElementsMatch(t, indexes, p["GlobalSecondaryIndexes"])
			}
		})
	}
}

// The templates' ServiceToken default and the onboarding link name the topic this stack makes, in
// the vendor account and us-east-1.
func TestHookTopicIsTheOneTheTemplatesName(t *testing.T) {
	tpl := backendTemplate(t, BackendStackName)
	v := DefaultVendor()
	assert.Equal(t, v.HookTopicName, properties(t, tpl, "HookTopic")["TopicName"])
	assert.NotContains(t, properties(t, tpl, "HookTopic"), "FifoTopic", "a custom resource's ServiceToken is a standard topic")
	gw := template(t, "templates/support-gateway.json")["Parameters"].(map[string]any)["ServiceToken"].(map[string]any)
	assert.Equal(t, "arn:aws:sns:"+Region+":"+DefaultConfig().VendorAccountID+":"+v.HookTopicName, gw["Default"])
}

func TestHookTopicPolicy(t *testing.T) {
	for stack, calledVia := range map[string]bool{BackendStackName: true, backendVariant: false} {
		t.Run(stack, func(t *testing.T) {
			tpl := backendTemplate(t, stack)
			policies := resourcesOf(tpl, "AWS::SNS::TopicPolicy")
			var doc any
			for _, p := range policies {
				if slices.Contains(strs(p["Properties"].(map[string]any)["Topics"]), `{"Ref":"HookTopic"}`) {
					doc = p["Properties"].(map[string]any)["PolicyDocument"]
				}
			}
			require.NotNil(t, doc, "the hook topic has a policy")
			st := statements(t, doc)
			require.Len(t, st, 2, "one Allow, one Deny")
			allow := st["CustomerStacksPublishCustomResourceRequests"]
			assert.Equal(t, "Allow", allow["Effect"])
			assert.Equal(t, map[string]any{"AWS": "*"}, allow["Principal"])
			assert.Equal(t, []string{"sns:Publish"}, strs(allow["Action"]), "publish only: no subscribing, reading or changing")
			assert.Equal(t, map[string]any{"Ref": "HookTopic"}, allow["Resource"])
			if calledVia {
				assert.Equal(t, map[string]any{"ForAnyValue:StringEquals": map[string]any{"aws:CalledVia": "cloudformation.amazonaws.com"}}, allow["Condition"])
			} else {
				assert.NotContains(t, allow, "Condition", "hookTopicCloudFormationOnly=false drops the condition")
			}
			deny := st["AllowPublishThroughSSLOnly"]
			assert.Equal(t, "Deny", deny["Effect"])
			assert.Equal(t, map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}, deny["Condition"])
		})
	}
}

// The hook's time budget against the templates' ServiceTimeout and the runner's margin.
func TestHookFunctionTimesAndLimits(t *testing.T) {
	tpl := backendTemplate(t, BackendStackName)
	fn := properties(t, tpl, "HookFunction")
	assert.Equal(t, []any{"arm64"}, fn["Architectures"])
	assert.Equal(t, "provided.al2023", fn["Runtime"])
	assert.Equal(t, "bootstrap", fn["Handler"])
	for _, path := range []string{"templates/management-role.yaml", "templates/support-gateway.json"} {
		hook := props(template(t, path)["Resources"].(map[string]any), "Hook")
		assert.Equal(t, hookServiceTimeout, hook["ServiceTimeout"], path)
	}
	env := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	margin, err := time.ParseDuration(env["RESPONSE_MARGIN"].(string))
	require.NoError(t, err)
	budget, err := time.ParseDuration(env["PROPAGATION_BUDGET"].(string))
	require.NoError(t, err)
	assert.Equal(t, awsx.PropagationBudget, budget, "the hook's default budget, stated")
	timeout := time.Duration(fn["Timeout"].(int)) * time.Second
	assert.GreaterOrEqual(t, timeout, hookServiceTimeout*time.Second, "a shorter timeout would cut the handler's time to answer")
	assert.Equal(t, hookServiceTimeout*time.Second+budget+margin, timeout, "ServiceTimeout + the follow-up's budget + the margin")
	assert.LessOrEqual(t, timeout, 15*time.Minute, "Lambda's limit")
	invoke := resourcesOf(tpl, "AWS::Lambda::EventInvokeConfig")
	require.Len(t, invoke, 1)
	for _, r := range invoke {
		p := r["Properties"].(map[string]any)
		assert.Equal(t, hookServiceTimeout, p["MaximumEventAgeInSeconds"], "an event CloudFormation stopped waiting for goes to the dead letters")
		assert.Equal(t, 2, p["MaximumRetryAttempts"])
	}
	assert.Equal(t, 20, fn["ReservedConcurrentExecutions"])
	assert.NotContains(t, properties(t, backendTemplate(t, backendVariant), "HookFunction"), "ReservedConcurrentExecutions", "0: none reserved")
	assert.Equal(t, map[string]any{"TargetArn": map[string]any{"Fn::GetAtt": []any{"HookDeadLetters", "Arn"}}}, fn["DeadLetterConfig"])
	// the queue is encrypted with the operations key: the role that writes to it (Lambda's async
	// queue sends as the function's role) may use the key through SQS, and SNS's redrive may too
	queue := properties(t, tpl, "HookDeadLetters")
	key := queue["KmsMasterKeyId"]
	require.NotNil(t, key, "the dead letters hold response URLs and ExternalIds")
	dlqKey := statements(t, properties(t, tpl, "BackendRolePolicy")["PolicyDocument"])["EncryptDeadLetters"]
	assert.Equal(t, []string{"kms:GenerateDataKey", "kms:Decrypt"}, strs(dlqKey["Action"]))
	b, _ := json.Marshal(key)
	assert.Contains(t, strs(dlqKey["Resource"])[0], strings.TrimSuffix(strings.TrimPrefix(string(b), `{"Fn::GetAtt":["`), `","Arn"]}`))

	subscriptions := resourcesOf(tpl, "AWS::SNS::Subscription")
	require.Len(t, subscriptions, 1)
	for _, s := range subscriptions {
		p := s["Properties"].(map[string]any)
		assert.Equal(t, "lambda", p["Protocol"])
		assert.Equal(t, map[string]any{"Ref": "HookTopic"}, p["TopicArn"])
		assert.Equal(t, map[string]any{"deadLetterTargetArn": map[string]any{"Fn::GetAtt": []any{"HookDeadLetters", "Arn"}}}, p["RedrivePolicy"])
	}
	alarms := map[string]bool{}
	for _, a := range resourcesOf(tpl, "AWS::CloudWatch::Alarm") {
		p := a["Properties"].(map[string]any)
		alarms[p["MetricName"].(string)] = true
		assert.NotEmpty(t, p["AlarmActions"], "every alarm notifies the alarm topic")
	}
	for _, m := range []string{"Errors", "Throttles", "DeadLetterErrors", "ApproximateNumberOfMessagesVisible", "NumberOfNotificationsFailed", "HookAlerts"} {
		assert.True(t, alarms[m], "an alarm on %s", m)
	}
}

// envKeysRead are the environment variables the hook reads: the string literals passed to get,
// duration, positive or getenv in lambdas/hook/config.go and internal/hook/wiring.go (PacesFromEnv).
func envKeysRead(t *testing.T) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	for _, file := range []string{"../lambdas/hook/config.go", "../internal/hook/wiring.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			fn, ok := call.Fun.(*ast.Ident)
			if !ok || !slices.Contains([]string{"get", "duration", "positive", "getenv"}, fn.Name) {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				key, _ := strconv.Unquote(lit.Value)
				keys[key] = true
			}
			return true
		})
	}
	require.Contains(t, keys, "REGISTRY_TABLE", "the parse found the config's keys")
	return keys
}

// Every variable the stack sets is one the hook reads, and the required ones are set.
func TestHookEnvironmentIsWhatTheHookReads(t *testing.T) {
	read := envKeysRead(t)
	for _, stack := range []string{BackendStackName, backendVariant} {
		env := properties(t, backendTemplate(t, stack), "HookFunction")["Environment"].(map[string]any)["Variables"].(map[string]any)
		for key := range env {
			assert.True(t, read[key], "%s: the hook does not read %s", stack, key)
		}
		for _, key := range []string{"REGISTRY_TABLE", "VENDOR_ACCOUNT_ID", "SIGNER_ROLE_ARN", "ISSUER_BUCKET"} {
			assert.Contains(t, env, key, stack)
		}
	}
}

// The hook binary itself accepts the stack's environment: built as it deploys, started with the
// template's variables (intrinsics resolved as CloudFormation would), it gets past its
// configuration and stops only for want of the Lambda Runtime API.
func TestHookAcceptsTheStacksEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hook")
	}
	bin := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "./lambdas/hook")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, stack := range []string{BackendStackName, backendVariant} {
		t.Run(stack, func(t *testing.T) {
			tpl := backendTemplate(t, stack)
			vars := map[string]string{"RegistryTable": tables.Registry.DefaultName, "IssuerBucket": "doit-support-issuer-bucket-0123",
				"AWS::Partition": "aws", "AWS::AccountId": DefaultConfig().VendorAccountID, "AWS::Region": Region}
			env := properties(t, tpl, "HookFunction")["Environment"].(map[string]any)["Variables"].(map[string]any)
			resolved, err := cfntemplate.Resolve(env, vars)
			require.NoError(t, err)
			cmd := exec.Command(bin)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "AWS_REGION=" + Region, "AWS_EC2_METADATA_DISABLED=true",
				"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=example"}
			for k, v := range resolved.(map[string]any) {
				cmd.Env = append(cmd.Env, k+"="+v.(string))
			}
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "without the Runtime API the function cannot start")
			assert.NotContains(t, string(out), "hook configuration", "the hook refused the stack's environment")
			assert.NotContains(t, string(out), "configuring the hook")
			assert.Contains(t, string(out), "AWS_LAMBDA_RUNTIME_API", "it stopped only for want of the Runtime API")
		})
	}
}

func TestBackendRoles(t *testing.T) {
	tpl := backendTemplate(t, BackendStackName)
	c := DefaultConfig()
	v := c.Vendor
	backend := resource(t, tpl, "BackendRole")
	// the customers' management trust names this role by ARN: a role made again would be another
	// principal to it, so it outlives the stack
	assert.Equal(t, "Retain", backend["DeletionPolicy"])
	assert.Equal(t, v.BackendRoleName, backend["Properties"].(map[string]any)["RoleName"])
	trust := v.ManagementTrust(policy.Target{Partition: "aws", AccountID: "111122223333"}, c.VendorAccountID, "ext-0123456789abcdef")
	assert.Contains(t, trust.JSON(), `"arn:aws:iam::`+c.VendorAccountID+`:role/`+v.BackendRoleName+`"`,
		"the management trust names the role this stack makes")
	assert.Equal(t, map[string]any{"Statement": []any{map[string]any{"Action": "sts:AssumeRole", "Effect": "Allow",
		"Principal": map[string]any{"Service": "lambda.amazonaws.com"}}}, "Version": "2012-10-17"},
		backend["Properties"].(map[string]any)["AssumeRolePolicyDocument"], "only Lambda, unless operators are named")
	variantTrust := properties(t, backendTemplate(t, backendVariant), "BackendRole")["AssumeRolePolicyDocument"]
	assert.Contains(t, strs(variantTrust.(map[string]any)["Statement"]), `{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/platform/operators"}}`)

	signer := resource(t, tpl, "SignerRole")
	assert.Equal(t, "Retain", signer["DeletionPolicy"], "every signing key's policy names it")
	assert.Equal(t, v.SignerRoleName(), signer["Properties"].(map[string]any)["RoleName"])
	var trusted []string
	for _, s := range statements(t, signer["Properties"].(map[string]any)["AssumeRolePolicyDocument"]) {
		trusted = append(trusted, strs(s["Principal"].(map[string]any)["AWS"])...)
	}
	assert.ElementsMatch(t, []string{`{"Fn::GetAtt":["BackendRole","Arn"]}`, `{"Fn::GetAtt":["ApiRole","Arn"]}`}, trusted)

	// every Allow names its actions (no wildcard action), and the wildcard resources are the ones
	// the nag suppressions explain
	for _, id := range []string{"BackendRolePolicy", "SignerRolePolicy", "ApiRolePolicy", "BackendRoleDefaultPolicy", "ApiRoleDefaultPolicy"} {
		for sid, s := range statements(t, properties(t, tpl, id)["PolicyDocument"]) {
			for _, a := range strs(s["Action"]) {
				assert.NotContains(t, a, "*", "%s %s: action %s", id, sid, a)
			}
		}
	}
	backendPolicy := statements(t, properties(t, tpl, "BackendRolePolicy")["PolicyDocument"])
	assert.Equal(t, []string{"arn:aws:iam::*:role/" + v.ManagementRoleName()}, strs(backendPolicy["AssumeCustomersManagementRoles"]["Resource"]))
	assert.Equal(t, []string{`{"Fn::GetAtt":["SignerRole","Arn"]}`}, strs(backendPolicy["AssumeTheSigner"]["Resource"]))
	assert.Equal(t, []string{`{"Fn::GetAtt":["RegistryTable","Arn"]}`}, strs(backendPolicy["Registry"]["Resource"]))
	create := backendPolicy["CreateAccountSigningKeys"]["Condition"].(map[string]any)
	assert.Equal(t, "ECC_NIST_P256", create["StringEquals"].(map[string]any)["kms:KeySpec"])
	assert.Equal(t, "SIGN_VERIFY", create["StringEquals"].(map[string]any)["kms:KeyUsage"])
	assert.Equal(t, v.ManagedByTag(), create["StringEquals"].(map[string]any)["aws:RequestTag/"+policy.IssuerKeyTagManagedBy])
	aliases := strs(backendPolicy["AccountKeyAliases"]["Resource"])
	require.Len(t, aliases, 1)
	pattern := regexp.MustCompile("^" + strings.NewReplacer(`\?`, ".", `\*`, ".*").Replace(regexp.QuoteMeta(strings.TrimPrefix(aliases[0], "arn:aws:kms:"+Region+":"+c.VendorAccountID+":"))) + "$")
	assert.Regexp(t, pattern, v.AccountKeyAlias("111122223333"))
	assert.NotRegexp(t, pattern, v.SubjectKeyAlias(), "the stack's own alias is not the hook's")

	deny := statements(t, properties(t, tpl, "BackendRoleDefaultPolicy")["PolicyDocument"])["NeverTheStacksOwnKeys"]
	assert.Equal(t, "Deny", deny["Effect"])
	assert.Contains(t, strs(deny["Resource"]), `{"Fn::GetAtt":["SubjectKey","Arn"]}`)
	assert.Contains(t, strs(deny["Action"]), "kms:PutKeyPolicy")
	for _, sid := range []string{"UseAccountSigningKeys"} {
		c := backendPolicy[sid]["Condition"].(map[string]any)["StringEquals"].(map[string]any)
		assert.Equal(t, "ECC_NIST_P256", c["kms:KeySpec"], sid)
	}
	for sid, s := range backendPolicy {
		assert.NotContains(t, strs(s["Action"]), "kms:PutKeyPolicy", "%s: the hook may not rewrite a key policy (it could make itself a signer)", sid)
	}

	signerPolicy := statements(t, properties(t, tpl, "SignerRolePolicy")["PolicyDocument"])
	require.Len(t, signerPolicy, 2)
	sign := signerPolicy["SignWithAccountSigningKeys"]["Condition"].(map[string]any)["StringEquals"].(map[string]any)
	assert.Equal(t, policy.SigningAlgorithmES256, sign["kms:SigningAlgorithm"])
	assert.Equal(t, policy.MessageTypeDigest, sign["kms:MessageType"])
	assert.Equal(t, map[string]any{"Fn::GetAtt": []any{"SubjectKey", "Arn"}}, signerPolicy["ComputePairwiseSubjects"]["Resource"])
}

// The stack's subject key is what issuer.EnsureSubjectKey would make: same spec, same policy,
// same alias, same tag.
func TestSubjectKeyIsTheIssuers(t *testing.T) {
	tpl := backendTemplate(t, BackendStackName)
	c := DefaultConfig()
	v := c.Vendor
	key := resource(t, tpl, "SubjectKey")
	assert.Equal(t, "Retain", key["DeletionPolicy"])
	assert.Contains(t, strs(key["DependsOn"]), "SignerRole", "KMS refuses a key policy naming a role that does not exist yet")
	p := key["Properties"].(map[string]any)
	assert.Equal(t, "HMAC_256", p["KeySpec"])
	assert.Equal(t, "GENERATE_VERIFY_MAC", p["KeyUsage"])
	b, err := json.Marshal(p["KeyPolicy"])
	require.NoError(t, err)
	got, err := policy.Parse(string(b))
	require.NoError(t, err)
	signer := "arn:aws:iam::" + c.VendorAccountID + ":role/" + v.SignerRoleName()
	want := v.SubjectKeyPolicy("aws", c.VendorAccountID, signer)
	assert.True(t, policy.Equivalent(want, got), "template:\n%s\nGo:\n%s", got.JSON(), want.JSON())
	assert.Contains(t, p["Tags"], map[string]any{"Key": policy.IssuerKeyTagManagedBy, "Value": v.ManagedByTag()})
	alias := properties(t, tpl, "SubjectKeyAlias")
	assert.Equal(t, v.SubjectKeyAlias(), alias["AliasName"])
	assert.Equal(t, map[string]any{"Fn::GetAtt": []any{"SubjectKey", "KeyId"}}, alias["TargetKeyId"])
	// the hook's SIGNER_ROLE_ARN is the role the key policy names
	env := properties(t, tpl, "HookFunction")["Environment"].(map[string]any)["Variables"].(map[string]any)
	assert.Equal(t, signer, env["SIGNER_ROLE_ARN"])
}

func TestIssuerDistributions(t *testing.T) {
	v := DefaultVendor()
	for _, stack := range []string{BackendStackName, backendVariant} {
		t.Run(stack, func(t *testing.T) {
			tpl := backendTemplate(t, stack)
			withCert := backendConfigs[stack].IssuerCertificateARN != ""
			for i, id := range []string{"IssuerPrimaryDistribution", "IssuerStandbyDistribution"} {
				d := properties(t, tpl, id)["DistributionConfig"].(map[string]any)
				origin := d["Origins"].([]any)[0].(map[string]any)
				assert.Equal(t, "/"+v.IssuerHosts[i], origin["OriginPath"], "each host is a folder of the bucket")
				assert.Contains(t, origin, "OriginAccessControlId")
				behavior := d["DefaultCacheBehavior"].(map[string]any)
				assert.Equal(t, "https-only", behavior["ViewerProtocolPolicy"])
				assert.Equal(t, []any{"GET", "HEAD"}, behavior["AllowedMethods"])
				assert.Contains(t, d["Logging"], "Bucket")
				if withCert {
					assert.Equal(t, []any{v.IssuerHosts[i]}, d["Aliases"])
					assert.Equal(t, "TLSv1.2_2021", d["ViewerCertificate"].(map[string]any)["MinimumProtocolVersion"])
				} else {
					assert.NotContains(t, d, "Aliases")
				}
			}
			for _, cp := range resourcesOf(tpl, "AWS::CloudFront::CachePolicy") {
				c := cp["Properties"].(map[string]any)["CachePolicyConfig"].(map[string]any)
				assert.Equal(t, issuer.JWKSMaxAge, c["DefaultTTL"], "an object without Cache-Control lives as long as a JWKS")
				assert.Equal(t, issuer.DiscoveryMaxAge, c["MaxTTL"])
				assert.Equal(t, 0, c["MinTTL"])
			}
			bucket := properties(t, tpl, "IssuerBucket")
			assert.Equal(t, map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true,
				"RestrictPublicBuckets": true}, bucket["PublicAccessBlockConfiguration"])
			assert.Equal(t, map[string]any{"Status": "Enabled"}, bucket["VersioningConfiguration"])
			assert.Contains(t, bucket, "LoggingConfiguration")
		})
	}
}

func TestTemplateBucketPublishesTwoPrefixesOnly(t *testing.T) {
	tpl := backendTemplate(t, BackendStackName)
	bucket := properties(t, tpl, "TemplateBucket")
	assert.Equal(t, true, bucket["PublicAccessBlockConfiguration"].(map[string]any)["BlockPublicAcls"])
	assert.Equal(t, true, bucket["PublicAccessBlockConfiguration"].(map[string]any)["IgnorePublicAcls"])
	assert.Equal(t, map[string]any{"Status": "Enabled"}, bucket["VersioningConfiguration"])
	var doc any
	for _, p := range resourcesOf(tpl, "AWS::S3::BucketPolicy") {
		if p["Properties"].(map[string]any)["Bucket"].(map[string]any)["Ref"] == "TemplateBucket" {
			doc = p["Properties"].(map[string]any)["PolicyDocument"]
		}
	}
	require.NotNil(t, doc)
	public := 0
	for sid, s := range statements(t, doc) {
		if s["Effect"] != "Allow" {
			continue
		}
		public++
		assert.Equal(t, "AnyoneReadsThePublishedTemplates", sid)
		assert.Equal(t, []string{"s3:GetObject"}, strs(s["Action"]))
		var prefixes []string
		for _, r := range s["Resource"].([]any) {
			join := r.(map[string]any)["Fn::Join"].([]any)[1].([]any)
			prefixes = append(prefixes, join[len(join)-1].(string))
		}
		assert.ElementsMatch(t, []string{"/" + templateVersionPrefix + "*", "/" + templateLatestPrefix + "*"}, prefixes)
	}
	assert.Equal(t, 1, public)
	assert.Equal(t, "doit-support-templates-example", properties(t, backendTemplate(t, backendVariant), "TemplateBucket")["BucketName"])
}

func TestAPIRoutesAndAuthorizer(t *testing.T) {
	for _, stack := range []string{BackendStackName, backendVariant} {
		t.Run(stack, func(t *testing.T) {
			tpl := backendTemplate(t, stack)
			authorizers := resourcesOf(tpl, "AWS::ApiGatewayV2::Authorizer")
			require.Len(t, authorizers, 1)
			var authorizerID string
			for id, a := range authorizers {
				authorizerID = id
				p := a["Properties"].(map[string]any)
				assert.Equal(t, "JWT", p["AuthorizerType"])
				jwt := p["JwtConfiguration"].(map[string]any)
				if b := backendConfigs[stack]; b.AuthIssuer != "" {
					assert.Equal(t, b.AuthIssuer, jwt["Issuer"])
					assert.Equal(t, []any{b.AuthAudience}, jwt["Audience"])
				} else {
					assert.Equal(t, []any{map[string]any{"Ref": "UserPoolClient"}}, jwt["Audience"])
				}
			}
			routes := map[string]map[string]any{}
			for _, r := range resourcesOf(tpl, "AWS::ApiGatewayV2::Route") {
				p := r["Properties"].(map[string]any)
				routes[p["RouteKey"].(string)] = p
			}
			assert.ElementsMatch(t, []string{"ANY /v1/{proxy+}", "GET /healthz", "HEAD /healthz"}, keysOf(routes),
				"the issuer's documents come from CloudFront, not the API (its Host names no issuer host)")
			for key, p := range routes {
				if strings.HasPrefix(key, "ANY /v1/") {
					assert.Equal(t, "JWT", p["AuthorizationType"], key)
					assert.Equal(t, map[string]any{"Ref": authorizerID}, p["AuthorizerId"], key)
				} else {
					assert.Equal(t, "NONE", p["AuthorizationType"], key)
				}
			}
			stages := resourcesOf(tpl, "AWS::ApiGatewayV2::Stage")
			require.Len(t, stages, 1)
			for _, s := range stages {
				p := s["Properties"].(map[string]any)
				assert.Equal(t, "$default", p["StageName"])
				assert.Equal(t, map[string]any{"ThrottlingBurstLimit": apiBurstLimit, "ThrottlingRateLimit": apiRateLimit}, p["DefaultRouteSettings"])
				logs := p["AccessLogSettings"].(map[string]any)
				assert.Contains(t, logs, "DestinationArn")
				var format map[string]string
				require.NoError(t, json.Unmarshal([]byte(logs["Format"].(string)), &format))
				assert.Equal(t, "$context.requestId", format["requestId"])
			}
		})
	}
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Every log group is kept a year and encrypted, and every function logs to one of them (none
// writes to a log group Lambda would create without a retention).
func TestEveryLogGroupHasRetention(t *testing.T) {
	for _, stack := range []string{BackendStackName, backendVariant} {
		tpl := backendTemplate(t, stack)
		groups := resourcesOf(tpl, "AWS::Logs::LogGroup")
		assert.Len(t, groups, 3, "the hook's, the API function's, the API's access logs")
		for id, g := range groups {
			p := g["Properties"].(map[string]any)
			assert.Equal(t, 365, p["RetentionInDays"], id)
			assert.Contains(t, p, "KmsKeyId", id)
			assert.Equal(t, "Retain", g["DeletionPolicy"], id)
		}
		for id, f := range resourcesOf(tpl, "AWS::Lambda::Function") {
			group := f["Properties"].(map[string]any)["LoggingConfig"].(map[string]any)["LogGroup"].(map[string]any)["Ref"].(string)
			assert.Contains(t, groups, group, id)
		}
	}
}

func TestBackendConfigFromContext(t *testing.T) {
	c, err := BackendConfigFromContext(map[string]any{
		ctxHookConcurrency: "5", ctxHookCloudFormationOnly: "false", ctxOperatorRoles: "arn:aws:iam::123456789012:role/a, arn:aws:iam::123456789012:role/b",
		ctxAuthIssuer: "https://idp.example.com/x", ctxAuthAudience: "aud", ctxAuthCallbackURLs: []any{"https://console.example.com/cb"},
	})
	require.NoError(t, err)
	assert.Equal(t, 5, c.HookReservedConcurrency)
	assert.False(t, c.HookTopicCloudFormationOnly)
	assert.Equal(t, []string{"arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/b"}, c.OperatorRoleARNs)
	assert.Equal(t, DefaultBackendConfig().RegistryTable, c.RegistryTable)
	c, err = BackendConfigFromContext(map[string]any{ctxHookConcurrency: float64(0)})
	require.NoError(t, err)
	assert.Zero(t, c.HookReservedConcurrency)
	for name, ctx := range map[string]map[string]any{
		"fractional concurrency": {ctxHookConcurrency: 2.5},
		"negative concurrency":   {ctxHookConcurrency: "-1"},
		"one table for two":      {ctxBrokerTable: tables.Registry.DefaultName},
		"issuer without aud":     {ctxAuthIssuer: "https://idp.example.com"},
		"http issuer":            {ctxAuthIssuer: "http://idp.example.com", ctxAuthAudience: "a"},
		"certificate elsewhere":  {ctxIssuerCertificate: "arn:aws:acm:eu-west-1:123456789012:certificate/abc"},
		"not a role":             {ctxOperatorRoles: "arn:aws:iam::123456789012:user/bob"},
		"http callback":          {ctxAuthCallbackURLs: "http://console.example.com/cb"},
		"bad bucket":             {ctxTemplateBucket: "Not_A_Bucket"},
		"not a boolean":          {ctxHookCloudFormationOnly: "maybe"},
		"not a string":           {ctxRegistryTable: 7},
		"reserved domain prefix": {ctxAuthDomainPrefix: "my-cognito-login"},
		"domain and external":    {ctxAuthDomainPrefix: "doit-support", ctxAuthIssuer: "https://idp.example.com", ctxAuthAudience: "a"},
	} {
		_, err := BackendConfigFromContext(ctx)
		assert.Error(t, err, name)
	}
}

// The API Lambda's environment is what the server reads (server.ServerUsage names every variable
// it takes), with everything it requires.
func TestAPIEnvironmentIsWhatTheServerReads(t *testing.T) {
	for _, stack := range []string{BackendStackName, backendVariant} {
		env := properties(t, backendTemplate(t, stack), "ApiFunction")["Environment"].(map[string]any)["Variables"].(map[string]any)
		for key := range env {
			assert.Regexp(t, `(^|[\s,])`+key+`([\s,]|$)`, server.ServerUsage, "%s: the server does not read %s", stack, key)
		}
		for _, key := range []string{"REGISTRY_TABLE", "BROKER_TABLE", "OIDC_ISSUER", "OIDC_AUDIENCE", "OIDC_ENGINEER_GROUP",
			"VENDOR_ACCOUNT_ID", "SIGNER_ROLE_ARN"} {
			assert.Contains(t, env, key, stack)
		}
	}
}
