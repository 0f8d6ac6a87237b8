package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/test/awscheck"
	"github.com/supportaccess/gateway/test/faultproxy"
	"github.com/supportaccess/gateway/test/lambdaruntime"
	"github.com/supportaccess/gateway/test/moto"
)

// The vendor's account as the stand-ins hold it. The names are the templates' defaults (cdk.json),
// so the committed templates deploy unchanged.
const (
	VendorAccount  = moto.DefaultAccountID // moto's default account plays the vendor
	Region         = moto.Region
	HookTopic      = "arn:aws:sns:us-east-1:" + VendorAccount + ":doit-support-gateway-hook"
	RegistryTable  = "onboardings"
	IssuerBucket   = "doit-support-issuer" // the issuer hosts' origin: the hook publishes each account's documents here
	ResponseBucket = "cloudformation-custom-resource-response-useast1"
	// SignerRoleARN is the one principal the signing keys' policies let sign; only the backend
	// role may assume it.
	SignerRoleARN = "arn:aws:iam::" + VendorAccount + ":role/DoiT-Support-Broker"
	// BackendRoleARN is the hook Lambda's (and the API's) execution role, the one the management
	// trust names. BackendAccessKey, a static key, stands for it at the checking front end.
	BackendRoleARN   = "arn:aws:iam::" + VendorAccount + ":role/DoiT-Support-Gateway-Backend"
	BackendAccessKey = "testing"
	backendSecret    = "testing"
)

// Config is how to run the stand-ins.
type Config struct {
	// Root is the repository's root: the templates, the StackSet and lambdas/hook are read from it.
	Root string
	// HookBinary is a hook bootstrap built for this machine; empty: Start builds lambdas/hook.
	HookBinary string
	// HookConcurrency is how many execution environments of the hook run, as Lambda scales a
	// function out under concurrent events, up to its reserved concurrency (the backend stack
	// reserves 20); 0: 1. Each is a process; one that dies is replaced. Events wait for a free one.
	HookConcurrency int
	// HookEnv holds extra KEY=VALUE settings of the hook (they override the defaults).
	HookEnv []string
	// Logs, if set, receives the hook's log lines as they are written.
	Logs io.Writer
	// Serving is how moto serves the calls (Threaded: one moto_server).
	Serving Serving
	// Duplicates is the share of notifications SNS delivers to the hook twice (0 to 1): delivery
	// is at least once. The second comes DuplicateDelay or less after the first (0: at once, the two
	// racing on two execution environments).
	Duplicates     float64
	DuplicateDelay time.Duration
	// FaultProxy puts test/faultproxy in front of the vendor's AWS endpoint: the hook's calls, and
	// every caller of Endpoint and Backend, go through it before the checking front end, so a test
	// can throttle, slow down or fail them (Faults().Inject), as AWS's quotas and outages would
	// (KMS CreateKey and Sign, STS, DynamoDB). The customers' own calls do not pass through it.
	FaultProxy bool
	// Seed seeds the simulation's random choices (which notifications are delivered twice, and
	// when); 0: a random seed, which Seed reports.
	Seed uint64
}

// Serving is how moto serves the stand-ins' calls.
type Serving int

const (
	// Threaded is one moto_server, which serves requests on many threads: DynamoDB's conditional
	// writes are not atomic there (test/moto's documentation), so racing claims on one account can
	// both pass their condition.
	Threaded Serving = iota
	// SerialDynamoDB sends DynamoDB (the registry, the issuer's key records) to a moto of its own that
	// serves one request at a time (moto.StartSerial), where conditional writes are atomic as in
	// DynamoDB, and everything else to moto_server: what a test of racing deliveries needs.
	SerialDynamoDB
	// Serial serves everything from one serial moto: atomic too, and slower (one request at a time
	// for IAM, STS, KMS and S3 as well).
	Serial
)

// AWS is the running stand-ins: one moto server for the vendor and every customer account, the
// checking front end before it, and the hook Lambda.
type AWS struct {
	cfg     Config
	moto    *moto.Server // every service, or every service but DynamoDB (SerialDynamoDB)
	dynamo  *moto.Server // DynamoDB's own, with SerialDynamoDB
	front   *motoFront   // in front of moto: every client's endpoint for it
	check   *awscheck.Server
	faults  *faultproxy.Proxy           // nil unless Config.FaultProxy
	hooks   chan *lambdaruntime.Runtime // the idle execution environments
	all     []*lambdaruntime.Runtime    // every environment started, dead ones included (Close stops them)
	tmp     string
	vendor  aws.Config
	s3      *s3.Client
	presign *s3.PresignClient
	reg     *registry.Registry

	responses *responses      // CloudFormation's side of the ResponseURLs
	inflight  counter         // notifications whose invocation has not ended
	life      context.Context // the invocations' context: canceled by Close
	stop      context.CancelFunc
	randMu    sync.Mutex
	rand      *rand.Rand

	mu       sync.Mutex            // guards all and accounts
	accounts map[string]aws.Config // each account's administrator, as moto serves it
}

// Start builds the hook (unless cfg.HookBinary is set) and runs the stand-ins; Close stops them.
// On an error everything already started is stopped.
func Start(ctx context.Context, cfg Config) (a *AWS, err error) {
	if cfg.Root == "" {
		return nil, errors.New("sim: Config.Root (the repository's root) is required")
	}
	if cfg.HookConcurrency <= 0 {
		cfg.HookConcurrency = 1
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	a = &AWS{cfg: cfg, accounts: map[string]aws.Config{}, rand: newRand(cfg.Seed)}
	a.life, a.stop = context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		if err != nil {
			_ = a.Close()
			a = nil
		}
	}()
	if a.tmp, err = os.MkdirTemp("", "sim-"); err != nil {
		return a, err
	}
	if cfg.HookBinary == "" {
		if a.cfg.HookBinary, err = BuildHook(ctx, cfg.Root, a.tmp); err != nil {
			return a, err
		}
	}
	if err := a.startMoto(ctx); err != nil {
		return a, err
	}
	if err := a.vendorAccount(ctx); err != nil {
		return a, err
	}
	a.check, err = awscheck.Start(awscheck.Config{
		Moto: a.front.url, Admin: a.Account, Principals: map[string]string{BackendAccessKey: BackendRoleARN},
		Fetch:      a.issuerSite,
		MotoDigest: true, // the issuer signs SHA-256 digests; moto's KMS hashes them again
	})
	if err != nil {
		return a, err
	}
	if cfg.FaultProxy {
		if a.faults, err = faultproxy.Start(a.check.URL()); err != nil {
			return a, err
		}
	}
	// CloudFormation's pre-signed ResponseURLs, on its own endpoint, which hands them on to S3
	if a.responses, err = startResponses(a.front.url); err != nil {
		return a, err
	}
	presigner := s3.NewFromConfig(a.vendor, moto.PathStyle, func(o *s3.Options) { o.BaseEndpoint = aws.String(a.responses.url) })
	a.presign = s3.NewPresignClient(presigner)
	a.hooks = make(chan *lambdaruntime.Runtime, cfg.HookConcurrency)
	for range cfg.HookConcurrency {
		fn, err := a.startHook(ctx)
		if err != nil {
			return a, err
		}
		a.hooks <- fn
	}
	return a, nil
}

// startMoto starts moto as cfg.Serving says, and the front end every client reaches it through.
func (a *AWS) startMoto(ctx context.Context) (err error) {
	start, dynamoURL := moto.Start, ""
	switch a.cfg.Serving {
	case Threaded:
	case Serial:
		start = moto.StartSerial
	case SerialDynamoDB:
		if a.dynamo, err = moto.StartSerial(ctx); err != nil {
			return err
		}
		dynamoURL = a.dynamo.URL()
	default:
		return fmt.Errorf("sim: Config.Serving %d is not one of Threaded, SerialDynamoDB, Serial", a.cfg.Serving)
	}
	if a.moto, err = start(ctx); err != nil {
		return err
	}
	if a.front, err = startMotoFront(a.moto.URL(), dynamoURL); err != nil {
		return err
	}
	// moto's static keys, and the backend's, are the vendor account's
	a.front.learn(moto.AccessKeyID, VendorAccount)
	a.front.learn(BackendAccessKey, VendorAccount)
	if a.vendor, err = a.moto.Config(ctx, VendorAccount); err != nil {
		return err
	}
	a.vendor.BaseEndpoint = aws.String(a.front.url)
	return nil
}

// startHook starts one execution environment of the hook.
func (a *AWS) startHook(ctx context.Context) (*lambdaruntime.Runtime, error) {
	fn, err := lambdaruntime.Start(ctx, lambdaruntime.Config{Binary: a.cfg.HookBinary, Env: a.HookEnv(),
		Stdout: a.cfg.Logs, Stderr: a.cfg.Logs, InitTimeout: 30 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("starting the hook Lambda: %w", err)
	}
	a.mu.Lock()
	a.all = append(a.all, fn)
	a.mu.Unlock()
	return fn, nil
}

// release makes fn idle again; if its process died (a crash, or stopped at its timeout), a new
// execution environment takes its place, as Lambda starts one.
func (a *AWS) release(ctx context.Context, fn *lambdaruntime.Runtime) {
	select {
	case <-fn.Exited():
		if fresh, err := a.startHook(ctx); err == nil {
			fn = fresh
		} // else the dead one stays: the next invocation says why
	default:
	}
	a.hooks <- fn
}

// vendorAccount makes what the vendor's backend stack holds and the hook needs: the registry table,
// the response and issuer buckets, and the signer role, which only the backend role may assume.
func (a *AWS) vendorAccount(ctx context.Context) error {
	if _, err := dynamodb.NewFromConfig(a.vendor).CreateTable(ctx, registry.TableInput(RegistryTable)); err != nil {
		return fmt.Errorf("creating the registry table: %w", err)
	}
	a.reg = &registry.Registry{DB: dynamodb.NewFromConfig(a.vendor), Table: RegistryTable}
	a.s3 = s3.NewFromConfig(a.vendor, moto.PathStyle)
	for _, b := range []string{ResponseBucket, IssuerBucket} {
		if _, err := a.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			return fmt.Errorf("creating bucket %s: %w", b, err)
		}
	}
	name := SignerRoleARN[strings.LastIndex(SignerRoleARN, "/")+1:]
	if _, err := iam.NewFromConfig(a.vendor).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` +
			BackendRoleARN + `"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		return fmt.Errorf("creating the signer role: %w", err)
	}
	return nil
}

// HookEnv is the hook Lambda's environment: the vendor's settings, and Endpoint as its AWS
// endpoint, where it acts as the backend role.
func (a *AWS) HookEnv() []string {
	return append([]string{
		"AWS_ENDPOINT_URL=" + a.Endpoint(),
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=" + BackendAccessKey, "AWS_SECRET_ACCESS_KEY=" + backendSecret,
		"REGISTRY_TABLE=" + RegistryTable,
		"VENDOR_ACCOUNT_ID=" + VendorAccount,
		"RESPONSE_URL_EXTRA_HOSTS=" + strings.TrimPrefix(a.responses.url, "http://") + "," + strings.TrimPrefix(a.check.URL(), "http://"),
		"SIGNER_ROLE_ARN=" + SignerRoleARN,
		"ISSUER_BUCKET=" + IssuerBucket,
		"PROPAGATION_BUDGET=20s", // moto is consistent at once; a refusal is final sooner
		"RESPONSE_MARGIN=3s",
	}, a.cfg.HookEnv...)
}

// BuildHook compiles lambdas/hook as it ships (lambda.norpc), for this machine, into dir.
func BuildHook(ctx context.Context, root, dir string) (string, error) {
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, "./lambdas/hook")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the hook Lambda: %w\n%s", err, b)
	}
	return out, nil
}

// Close stops the hook (invocations still running are cut short), the front ends and moto, and
// removes the build directory.
func (a *AWS) Close() error {
	var errs []error
	if a.stop != nil {
		a.stop()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, a.Settle(ctx))
		cancel()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, fn := range a.all {
		errs = append(errs, fn.Close())
	}
	if a.responses != nil {
		errs = append(errs, a.responses.Close())
	}
	if a.faults != nil {
		errs = append(errs, a.faults.Close())
	}
	if a.check != nil {
		errs = append(errs, a.check.Close())
	}
	if a.front != nil {
		errs = append(errs, a.front.Close())
	}
	for _, m := range []*moto.Server{a.moto, a.dynamo} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	if a.tmp != "" {
		errs = append(errs, os.RemoveAll(a.tmp))
	}
	return errors.Join(errs...)
}

// Seed is the seed of the simulation's random choices (Config.Seed).
func (a *AWS) Seed() uint64 { return a.cfg.Seed }

// MotoURL is moto's endpoint (the front end every client reaches it through, which sends DynamoDB
// to its own server with SerialDynamoDB): what a caller uses to see AWS's state without the
// checking front end's checks.
func (a *AWS) MotoURL() string { return a.front.url }

// Endpoint is the AWS endpoint of the vendor's code (the hook, the API, supportctl): the checking
// front end, which refuses what AWS would refuse, behind the fault proxy if Config.FaultProxy.
func (a *AWS) Endpoint() string {
	if a.faults != nil {
		return a.faults.URL()
	}
	return a.check.URL()
}

// Faults is the fault proxy in front of the vendor's endpoint (Config.FaultProxy), or nil: where a
// test injects AWS's throttling, latency and errors (Inject) and counts the vendor's calls (Calls).
func (a *AWS) Faults() *faultproxy.Proxy { return a.faults }

// Backend is the vendor backend role's configuration, on Endpoint: what the hook Lambda and the API
// run as.
func (a *AWS) Backend() aws.Config {
	return aws.Config{Region: Region, BaseEndpoint: aws.String(a.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider(BackendAccessKey, backendSecret, "")}
}

// Vendor is the vendor account's administrator, on moto.
func (a *AWS) Vendor() aws.Config { return a.vendor }

// Registry is the vendor's registry, read and written as its administrator.
func (a *AWS) Registry() *registry.Registry { return a.reg }

// Account is account's administrator (the customer's own access), on moto: the vendor's static
// key for the vendor account; for any other, a role of it assumed as moto.Server.Config does,
// through the front end, which so learns whose the credentials are.
func (a *AWS) Account(ctx context.Context, account string) (aws.Config, error) {
	if account == VendorAccount {
		return a.vendor, nil
	}
	if !accountID.MatchString(account) {
		return aws.Config{}, fmt.Errorf("sim: account ID %q is not 12 digits", account)
	}
	a.mu.Lock()
	cfg, ok := a.accounts[account]
	a.mu.Unlock()
	if ok {
		return cfg, nil
	}
	cfg = a.vendor.Copy()
	roleARN := "arn:aws:iam::" + account + ":role/" + moto.AssumedRoleName
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(a.vendor), roleARN,
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "sim-admin" }))
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, fmt.Errorf("signing in to account %s: %w", account, err)
	}
	a.mu.Lock()
	a.accounts[account] = cfg
	a.mu.Unlock()
	return cfg, nil
}

var accountID = regexp.MustCompile(`^\d{12}$`)

// HookLogs is what the hook's execution environments have written so far.
func (a *AWS) HookLogs() string {
	var b strings.Builder
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, fn := range a.all {
		b.WriteString(fn.Logs())
	}
	return b.String()
}

// Decisions lists the checking front end's verdicts so far (AssumeRole, AssumeRoleWithWebIdentity,
// Sign, …), in order.
func (a *AWS) Decisions() []awscheck.Decision { return a.check.Decisions() }

// issuerSite is what STS fetches at an issuer URL: the object the hook published under that path
// (the issuer hosts are CloudFront distributions in front of the issuer bucket).
func (a *AWS) issuerSite(ctx context.Context, rawURL string) ([]byte, error) {
	key, ok := strings.CutPrefix(rawURL, "https://")
	if !ok {
		return nil, fmt.Errorf("%s is not an https URL", rawURL)
	}
	out, err := a.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(IssuerBucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}
