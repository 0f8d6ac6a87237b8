package gateway

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/awsx"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/test/moto"
)

var motoSrv moto.Shared

func TestMain(m *testing.M) { os.Exit(motoSrv.Run(m)) }

// recorder remembers the name of every IAM operation a client sends, through the SDK's middleware
// stack, so "changes nothing" covers every call, not a list kept by hand.
type recorder struct {
	mu  sync.Mutex
	ops []string
}

func (r *recorder) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("record", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		r.mu.Lock()
		r.ops = append(r.ops, middleware.GetOperationName(ctx))
		r.mu.Unlock()
		return next.HandleInitialize(ctx, in)
	}), middleware.After)
}

var readOnly = regexp.MustCompile(`^(Get|List)`)

// mutations are the recorded operations that change something.
func (r *recorder) mutations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, op := range r.ops {
		if !readOnly.MatchString(op) {
			out = append(out, op)
		}
	}
	return out
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.ops = nil
	r.mu.Unlock()
}

type account struct {
	iam *iam.Client // the customer's own (administrator) access
	rec *Reconciler
	log *recorder // what the reconciler's client sent
	id  string
}

var accounts atomic.Int64

// newAccount is a fresh customer account on moto with the customer-owned boundary in place, as the
// management-role stack creates it.
func newAccount(t *testing.T) account {
	t.Helper()
	id := fmt.Sprintf("2000000000%02d", accounts.Add(1))
	cfg, err := motoSrv.Server(t).Config(t.Context(), id)
	require.NoError(t, err)
	c := iam.NewFromConfig(cfg)
	_, err = c.CreatePolicy(t.Context(), &iam.CreatePolicyInput{PolicyName: aws.String(vendor.BoundaryName()),
		PolicyDocument: aws.String(vendor.Boundary(policy.Target{Partition: "aws", AccountID: id}).JSON())})
	require.NoError(t, err)
	log := &recorder{}
	vendorSide := iam.NewFromConfig(cfg, func(o *iam.Options) { o.APIOptions = append(o.APIOptions, log.middleware) })
	return account{iam: c, log: log, id: id,
		rec: &Reconciler{IAM: vendorSide, Budget: 5 * time.Second, Backoff: awsx.Backoff{First: 10 * time.Millisecond, Max: 100 * time.Millisecond}}}
}

func (a account) target() policy.Target { return policy.Target{Partition: "aws", AccountID: a.id} }

func TestReconcileCreatesThenChangesNothing(t *testing.T) {
	a := newAccount(t)
	d := DesiredState(vendor, a.target(), opts)
	rep, err := a.rec.Reconcile(t.Context(), d, Present)
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Waves, "providers and policy, then the role, then the attachments")
	assert.Equal(t, 1, rep.Passes)

	o, err := Observe(t.Context(), a.iam, d)
	require.NoError(t, err)
	require.NotNil(t, o.Role)
	assert.True(t, policy.Equivalent(d.Role.Trust, o.Role.Trust))
	assert.Equal(t, d.Role.Boundary, o.Role.Boundary)
	assert.ElementsMatch(t, d.Attachments, o.Role.Attached)
	assert.Equal(t, d.Tags, o.Role.Tags)
	require.NotNil(t, o.Policy)
	assert.True(t, policy.Equivalent(d.Policy.Document, o.Policy.Document))
	for _, p := range d.Providers {
		require.NotNil(t, o.Providers[p.ARN], p.ARN)
		assert.Equal(t, p.ClientIDs, o.Providers[p.ARN].ClientIDs)
	}
	assert.Empty(t, Plan(d, o, Present))

	assert.NotEmpty(t, a.log.mutations(), "the recorder sees the first run's changes")
	a.log.reset()
	rep, err = a.rec.Reconcile(t.Context(), d, Present)
	require.NoError(t, err)
	assert.False(t, rep.Changed())
	assert.Empty(t, a.log.mutations(), "the second run makes no call that changes anything")
}

func TestReconcileRollsANewTemplateVersion(t *testing.T) {
	a := newAccount(t)
	d := DesiredState(vendor, a.target(), opts)
	_, err := a.rec.Reconcile(t.Context(), d, Present)
	require.NoError(t, err)
	// Seven template versions in a row: IAM keeps at most five policy versions.
	for i, features := range []policy.Features{{}, {Diagnostic: true}, {Runbooks: true, Diagnostic: true}, {}, {Diagnostic: true}, {Runbooks: true}, {}} {
		next := DesiredState(vendor, a.target(), Options{Features: features, TemplateVersion: "v" + string(rune('2'+i))})
		_, err := a.rec.Reconcile(t.Context(), next, Present)
		require.NoError(t, err)
		o, err := Observe(t.Context(), a.iam, next)
		require.NoError(t, err)
		assert.Empty(t, Plan(next, o, Present))
		assert.LessOrEqual(t, len(o.Policy.Versions), MaxPolicyVersions)
	}
}

func TestReconcileRepairsDrift(t *testing.T) {
	a := newAccount(t)
	d := DesiredState(vendor, a.target(), opts)
	_, err := a.rec.Reconcile(t.Context(), d, Present)
	require.NoError(t, err)
	ctx := t.Context()
	// Drift by hand, as a customer administrator could.
	_, err = a.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(d.Role.Name), PolicyArn: aws.String(d.Attachments[0])})
	require.NoError(t, err)
	_, err = a.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(d.Role.Name),
		PolicyDocument: aws.String(vendor.WebIdentityTrust(policy.Target{Partition: "aws", AccountID: "999999999999"}).JSON())})
	require.NoError(t, err)
	_, err = a.iam.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(d.Providers[1].ARN)})
	require.NoError(t, err)
	_, err = a.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(d.Providers[1].URL),
		ClientIDList: []string{"sts.amazonaws.com"}})
	require.NoError(t, err)
	_, err = a.iam.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(d.Policy.ARN), SetAsDefault: true,
		PolicyDocument: aws.String(policy.NewDocument(policy.Statement{Effect: policy.Allow, Action: policy.Strings{"s3:ListBucket"}, Resource: policy.Strings{"*"}}).JSON())})
	require.NoError(t, err)

	steps, err := a.rec.Diff(ctx, d, Present)
	require.NoError(t, err)
	var ops []Op
	for _, s := range steps {
		ops = append(ops, s.Op)
	}
	assert.ElementsMatch(t, []Op{AttachPolicy, UpdateTrust, RecreateProvider, SetDefaultVersion}, ops, "%v", steps)

	_, err = a.rec.Reconcile(ctx, d, Present)
	require.NoError(t, err)
	steps, err = a.rec.Diff(ctx, d, Present)
	require.NoError(t, err)
	assert.Empty(t, steps, "repaired")
}

func TestReconcileAbsentRemovesOnlyWhatIsOurs(t *testing.T) {
	a := newAccount(t)
	ctx := t.Context()
	d := DesiredState(vendor, a.target(), opts)
	_, err := a.rec.Reconcile(ctx, d, Present)
	require.NoError(t, err)
	// The customer's own things, some of them on our role.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	_, err = a.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("Admin"), AssumeRolePolicyDocument: aws.String(trust)})
	require.NoError(t, err)
	_, err = a.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("DoiT-SupportX"), AssumeRolePolicyDocument: aws.String(trust)})
	require.NoError(t, err)
	_, err = a.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String("https://token.actions.githubusercontent.com"), ClientIDList: []string{"sts.amazonaws.com"}})
	require.NoError(t, err)
	_, err = a.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(d.Role.Name), PolicyName: aws.String("added-by-hand"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`)})
	require.NoError(t, err)

	_, err = a.rec.Reconcile(ctx, d, Absent)
	require.NoError(t, err)
	o, err := Observe(ctx, a.iam, d)
	require.NoError(t, err)
	assert.Nil(t, o.Role)
	assert.Nil(t, o.Policy)
	for _, p := range d.Providers {
		assert.Nil(t, o.Providers[p.ARN])
	}
	for _, name := range []string{"Admin", "DoiT-SupportX"} {
		_, err := a.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		assert.NoError(t, err, "the customer's role %s is untouched", name)
	}
	providers, err := a.iam.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	require.NoError(t, err)
	require.Len(t, providers.OpenIDConnectProviderList, 1)
	assert.True(t, strings.Contains(aws.ToString(providers.OpenIDConnectProviderList[0].Arn), "githubusercontent"))
	_, err = a.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(d.Role.Boundary)})
	assert.NoError(t, err, "the customer's boundary is untouched")

	a.log.reset()
	rep, err := a.rec.Reconcile(ctx, d, Absent)
	require.NoError(t, err)
	assert.False(t, rep.Changed())
	assert.Empty(t, a.log.mutations(), "deleting again changes nothing")
}

// Two reconciles of one account at once (a duplicate delivery, a repair during a hook): both
// observe the same state and race on every create, then on every delete. EntityAlreadyExists and
// NoSuchEntity mean the other got there first; both converge.
func TestConcurrentReconcilesConverge(t *testing.T) {
	a := newAccount(t)
	d := DesiredState(vendor, a.target(), opts)
	for _, goal := range []Goal{Present, Absent} {
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := a.rec.Reconcile(t.Context(), d, goal)
				errs <- err
			}()
		}
		require.NoError(t, <-errs)
		require.NoError(t, <-errs)
		o, err := Observe(t.Context(), a.iam, d)
		require.NoError(t, err)
		assert.Empty(t, Plan(d, o, goal), "converged to %v", goal)
	}
	raced := 0
	for _, op := range a.log.mutations() {
		if strings.HasPrefix(op, "Create") || strings.HasPrefix(op, "Delete") {
			raced++
		}
	}
	assert.Greater(t, raced, 8, "both sides sent creates and deletes: the race really happened")
}

// Against moto: an AWS managed policy moto does not have (as when it is started without
// MOTO_IAM_LOAD_MANAGED_POLICIES=true) fails the reconcile within seconds, naming the policy and the
// likely cause, instead of retrying NoSuchEntity for the whole propagation budget.
func TestReconcileNamesAMissingManagedPolicy(t *testing.T) {
	a := newAccount(t)
	a.rec.Budget = time.Minute
	d := DesiredState(vendor, a.target(), opts)
	missing := a.target().AWSManagedPolicyARN("NotInThisStandIn")
	d.Attachments = append(d.Attachments, missing)
	start := time.Now()
	_, err := a.rec.Reconcile(t.Context(), d, Present)
	var m *MissingManagedPolicyError
	require.ErrorAs(t, err, &m)
	assert.Equal(t, missing, m.PolicyARN)
	assert.ErrorContains(t, err, "AttachRolePolicy "+d.Role.ARN+": the AWS managed policy "+missing+" does not exist")
	assert.ErrorContains(t, err, "MOTO_IAM_LOAD_MANAGED_POLICIES=true")
	assert.Less(t, time.Since(start), 20*time.Second, "not the minute's budget")
	o, err := Observe(t.Context(), a.iam, d)
	require.NoError(t, err)
	assert.ElementsMatch(t, d.Attachments[:len(d.Attachments)-1], o.Role.Attached, "the policies that exist are attached")
}
