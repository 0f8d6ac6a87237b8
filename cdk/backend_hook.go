package main

import (
	"strconv"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	cw "github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	cwactions "github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	iam "github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	lambda "github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	logs "github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	sns "github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	snssubs "github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	sqs "github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// The hook function's time budget. CloudFormation waits hookServiceTimeout (the templates'
// ServiceTimeout, 300 s) for an answer; the runner's watchdog answers hookResponseMargin before the
// earliest of that and the Lambda deadline (internal/cfnresource answerBy). A timeout shorter than
// the ServiceTimeout would cut the handler's time (a first AssumeRole alone may retry for the
// propagation budget), and a longer one never delays the answer. What runs after the answer is the
// follow-up (a gateway role's proof, bounded by hookPropagationBudget, after its key, for which a
// throttled CreateKey waits its turn, 2 minutes at most), so the timeout is ServiceTimeout +
// propagation budget + margin: 400 s. A follow-up cut short by the deadline leaves the claim pending for the sweep.
const (
	hookResponseMargin    = 10 * time.Second // RESPONSE_MARGIN
	hookPropagationBudget = 90 * time.Second // PROPAGATION_BUDGET (awsx.PropagationBudget)
	hookTimeout           = hookServiceTimeout*time.Second + hookPropagationBudget + hookResponseMargin
	// hookMaxEventAge: Lambda's asynchronous queue drops an event older than the ServiceTimeout into
	// the dead-letter queue instead of delivering it: CloudFormation has stopped waiting for it, and
	// the runner would only answer FAILED to a URL that may have expired.
	hookMaxEventAge = hookServiceTimeout * time.Second
)

// hookSet is the hook's part of the backend.
type hookSet struct {
	topic       sns.Topic
	function    lambda.Function
	deadLetters sqs.Queue
}

// newHook makes the Custom::Hook's SNS topic in us-east-1, its narrow topic policy, the hook Lambda
// subscribed to it, the dead-letter queue of both, and the alarms.
func (be *backend) newHook() hookSet {
	stack, v := be.stack, be.v
	topic := sns.NewTopic(stack, jsii.String("HookTopic"), &sns.TopicProps{
		// The name the gateway template's default ServiceToken and the onboarding links name.
		TopicName:   jsii.String(v.HookTopicName),
		DisplayName: jsii.String(v.Name + " support gateway hook"),
		// Deny publishing without TLS (aws:SecureTransport false), for every principal.
		EnforceSSL: jsii.Bool(true),
		// No server-side encryption: SSE-KMS would make every customer's stack principal (a console
		// user, a CloudFormation service role, the StackSets execution role) need kms:GenerateDataKey
		// on a key of the vendor account in its own IAM policy, which the customer templates cannot grant.
	})
	logicalID(topic, "HookTopic")
	topic.AddToResourcePolicy(be.hookTopicPublish(topic))

	// The dead letters hold whole events: response URLs and ExternalIds. Encrypted with the
	// operations key, which admits SNS's redrive from this topic only; the function's role gets its
	// use of the key with its grant to send.
	deadLetters := sqs.NewQueue(stack, jsii.String("HookDeadLetters"), &sqs.QueueProps{
		Encryption:          sqs.QueueEncryption_KMS,
		EncryptionMasterKey: be.opsKey,
		EnforceSSL:          jsii.Bool(true),
		RetentionPeriod:     awscdk.Duration_Days(jsii.Number(14)),
	})
	logicalID(deadLetters, "HookDeadLetters")
	be.opsKey.AddToResourcePolicy(iam.NewPolicyStatement(&iam.PolicyStatementProps{
		Sid:        jsii.String("SNSRedrivesUndeliverableHookEvents"),
		Principals: &[]iam.IPrincipal{iam.NewServicePrincipal(jsii.String("sns.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": topic.TopicArn()}},
	}), nil)

	env := be.hookEnvironment()
	logGroup := be.logGroup(stack, "HookLogs")
	fn := lambda.NewFunction(stack, jsii.String("HookFunction"), goFunction(be.b.HookAsset, lambda.FunctionProps{
		Description:                  jsii.String(v.Name + " support gateway: answers the customer templates' Custom::Hook"),
		Role:                         be.roles.backend,
		MemorySize:                   jsii.Number(256),
		Timeout:                      awscdk.Duration_Seconds(jsii.Number(hookTimeout.Seconds())),
		MaxEventAge:                  awscdk.Duration_Seconds(jsii.Number(hookMaxEventAge.Seconds())),
		RetryAttempts:                jsii.Number(2),
		DeadLetterQueue:              deadLetters,
		ReservedConcurrentExecutions: reserved(be.b.HookReservedConcurrency),
		Environment:                  &env,
		LogGroup:                     logGroup,
	}))
	logicalID(fn, "HookFunction")
	logGroup.GrantWrite(be.roles.backend)
	// SNS invokes the function (a permission for sns.amazonaws.com from this topic only); what SNS
	// cannot deliver goes to the same dead-letter queue (its policy admits this topic only).
	topic.AddSubscription(snssubs.NewLambdaSubscription(fn, &snssubs.LambdaSubscriptionProps{DeadLetterQueue: deadLetters}))

	be.hookAlarms(fn, topic, deadLetters, logGroup)
	be.output("HookTopicArn", "The templates' ServiceToken (supportctl onboard HOOK_TOPIC_ARN)", topic.TopicArn())
	be.output("HookFunctionName", "The hook Lambda", fn.FunctionName())
	be.output("HookDeadLetterQueueUrl", "Hook events neither SNS nor Lambda could deliver or finish", deadLetters.QueueUrl())
	return hookSet{topic: topic, function: fn, deadLetters: deadLetters}
}

// hookTopicPublish is the topic policy's one Allow. Why each part is there:
//
//   - Principal AWS "*": customers' accounts are not known in advance (anyone may deploy the
//     management-role or support-gateway template) and the hook treats every event as a claim, proven
//     before anything changes (README, "What each event must prove"). CloudFormation publishes a
//     custom resource's request with the stack's credentials (those of the user who created the stack,
//     or its service role: "CloudFormation service role", AWS CloudFormation User Guide), so the
//     publisher is an IAM principal of the customer's account, not the cloudformation.amazonaws.com
//     service principal, and aws:SourceOwner/aws:SourceAccount (set only for service principals)
//     would never match.
//   - Action sns:Publish only: nobody outside the vendor account may subscribe, read the topic's
//     attributes or change it.
//   - Resource: this topic.
//   - aws:CalledVia cloudformation.amazonaws.com (HookTopicCloudFormationOnly, default on): a request
//     CloudFormation makes for a principal carries CloudFormation in aws:CalledVia (a global key, set
//     for the services IAM lists under it, CloudFormation among them); a principal publishing directly
//     (aws sns publish) does not, so a forged event must come from a real stack, with CloudFormation's
//     own StackId and ResponseURL. Only a real account can confirm that CloudFormation's custom-resource
//     notifications carry the key; if they do not, every stack's hook would fail with "not authorized
//     to perform SNS:Publish", and setting supportGateway:backend:hookTopicCloudFormationOnly to false
//     drops the condition (the hook's proofs do not rely on it).
//
// The topic's other statement, EnforceSSL's, denies publishing without TLS.
func (be *backend) hookTopicPublish(topic sns.Topic) iam.PolicyStatement {
	props := &iam.PolicyStatementProps{
		Sid:        jsii.String("CustomerStacksPublishCustomResourceRequests"),
		Principals: &[]iam.IPrincipal{iam.NewAnyPrincipal()},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
	}
	if be.b.HookTopicCloudFormationOnly {
		props.Conditions = &map[string]any{
			"ForAnyValue:StringEquals": map[string]any{"aws:CalledVia": "cloudformation.amazonaws.com"},
		}
	}
	return iam.NewPolicyStatement(props)
}

// hookEnvironment is the hook function's configuration, as lambdas/hook/config.go reads it.
func (be *backend) hookEnvironment() map[string]*string {
	v := be.v
	env := map[string]*string{
		"REGISTRY_TABLE":      be.tables.registry.TableName(),
		"VENDOR_ACCOUNT_ID":   jsii.String(be.account),
		"VENDOR_NAME":         jsii.String(v.Name),
		"ISSUER_PRIMARY_HOST": jsii.String(v.IssuerHosts[0]),
		"ISSUER_STANDBY_HOST": jsii.String(v.IssuerHosts[1]),
		"SIGNER_ROLE_ARN":     jsii.String(be.signerARN),
		"ISSUER_BUCKET":       be.issuer.bucket.BucketName(),
		"PARTITIONS":          jsii.String(be.partition),
		"REGIONS":             jsii.String(Region),
		"RESPONSE_MARGIN":     jsii.String(hookResponseMargin.String()),
		"PROPAGATION_BUDGET":  jsii.String(hookPropagationBudget.String()),
		"LOG_LEVEL":           jsii.String("INFO"),
	}
	if be.b.IssuerThumbprints != "" {
		env["ISSUER_THUMBPRINTS"] = jsii.String(be.b.IssuerThumbprints)
	}
	return env
}

// reserved is a function's reserved concurrency, or none for 0.
func reserved(n int) *float64 {
	if n == 0 {
		return nil
	}
	return jsii.Number(float64(n))
}

// hookAlarms alarm on every way a customer's stack can be left waiting: the function failing or
// throttled, an event in the dead-letter queue (or failing to get there), SNS failing to deliver,
// and the hook's own alerts (alert=delete_incomplete, tenant_conflict, unproven_delete, ...).
func (be *backend) hookAlarms(fn lambda.Function, topic sns.Topic, deadLetters sqs.Queue, logGroup logs.LogGroup) {
	fiveMinutes := &cw.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum")}
	alerts := logs.NewMetricFilter(be.stack, jsii.String("HookAlertsFilter"), &logs.MetricFilterProps{
		LogGroup:        logGroup,
		FilterPattern:   logs.FilterPattern_Exists(jsii.String("$.alert")),
		MetricNamespace: jsii.String(be.v.Name + "SupportGateway"),
		MetricName:      jsii.String("HookAlerts"),
		MetricValue:     jsii.String("1"),
		DefaultValue:    jsii.Number(0),
	})
	for _, a := range []struct {
		id, what string
		metric   cw.IMetric
	}{
		{"HookErrorsAlarm", "the hook function failed (a CloudFormation answer it could not deliver is retried, then dead-lettered)", fn.MetricErrors(fiveMinutes)},
		{"HookThrottlesAlarm", "the hook function was throttled (reserved concurrency " + strconv.Itoa(be.b.HookReservedConcurrency) + "): customers' stacks wait", fn.MetricThrottles(fiveMinutes)},
		{"HookDeadLetterErrorsAlarm", "an event could not be written to the dead-letter queue: it is lost", fn.Metric(jsii.String("DeadLetterErrors"), fiveMinutes)},
		{"HookDeadLettersAlarm", "hook events are waiting in the dead-letter queue: a customer's stack got no answer", deadLetters.MetricApproximateNumberOfMessagesVisible(&cw.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum")})},
		{"HookDeliveryFailuresAlarm", "SNS could not deliver a hook event to the function", topic.MetricNumberOfNotificationsFailed(fiveMinutes)},
		{"HookAlertsAlarm", "the hook logged an alert (delete_incomplete, tenant_conflict, unproven_delete, ...): see its log group", alerts.Metric(fiveMinutes)},
	} {
		alarm := cw.NewAlarm(be.stack, jsii.String(a.id), &cw.AlarmProps{
			AlarmDescription:   jsii.String(be.v.Name + " support gateway: " + a.what),
			Metric:             a.metric,
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: cw.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   cw.TreatMissingData_NOT_BREACHING,
		})
		alarm.AddAlarmAction(cwactions.NewSnsAction(be.alarms))
	}
}

// goFunction completes p as every Lambda of this repository deploys (make build): a Go bootstrap
// from asset, on provided.al2023 and arm64.
func goFunction(asset string, p lambda.FunctionProps) *lambda.FunctionProps {
	p.Runtime, p.Architecture = lambda.Runtime_PROVIDED_AL2023(), lambda.Architecture_ARM_64()
	p.Handler, p.Code = jsii.String("bootstrap"), lambda.Code_FromAsset(jsii.String(asset), nil)
	return &p
}
