package sim

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/supportaccess/gateway/test/cfntemplate"
)

// Organization is a customer's AWS Organization on moto, driven from its management account.
type Organization struct {
	sim        *AWS
	Management string // the management account, where the StackSet is created (and which it skips)
	Root       string // the root's ID, r-…
	c          *organizations.Client
}

// CreateOrganization makes management the management account of a new organization (all features).
func (a *AWS) CreateOrganization(ctx context.Context, management string) (*Organization, error) {
	cfg, err := a.Account(ctx, management)
	if err != nil {
		return nil, err
	}
	o := &Organization{sim: a, Management: management, c: organizations.NewFromConfig(cfg)}
	if _, err := o.c.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		return nil, fmt.Errorf("creating the organization: %w", err)
	}
	roots, err := o.c.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) != 1 {
		return nil, fmt.Errorf("the organization's root: %d roots, %w", len(roots.Roots), err)
	}
	o.Root = aws.ToString(roots.Roots[0].Id)
	return o, nil
}

// CreateOU makes an organizational unit under parent (the root, or another OU) and returns its ID.
func (o *Organization) CreateOU(ctx context.Context, parent, name string) (string, error) {
	out, err := o.c.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(parent), Name: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("creating OU %s: %w", name, err)
	}
	return aws.ToString(out.OrganizationalUnit.Id), nil
}

// CreateAccounts creates n member accounts, named prefix-1 … prefix-n, moves them into ou, and
// signs in to each as its administrator (OrganizationAccountAccessRole's part): moto sets up a new
// account's IAM, AWS's managed policies included, at its first request, which takes a while.
func (o *Organization) CreateAccounts(ctx context.Context, ou, prefix string, n int) ([]string, error) {
	var ids []string
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("%s-%d", prefix, i)
		out, err := o.c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name),
			Email: aws.String(name + "@example.com")})
		if err != nil {
			return ids, fmt.Errorf("creating account %s: %w", name, err)
		}
		id, err := o.created(ctx, out.CreateAccountStatus)
		if err != nil {
			return ids, fmt.Errorf("creating account %s: %w", name, err)
		}
		if _, err := o.c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id),
			SourceParentId: aws.String(o.Root), DestinationParentId: aws.String(ou)}); err != nil {
			return ids, fmt.Errorf("moving account %s into %s: %w", id, ou, err)
		}
		if _, err := o.sim.Account(ctx, id); err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// created waits for an account's creation to finish (CreateAccount is asynchronous) and returns its ID.
func (o *Organization) created(ctx context.Context, st *orgtypes.CreateAccountStatus) (string, error) {
	for {
		switch st.State {
		case orgtypes.CreateAccountStateSucceeded:
			return aws.ToString(st.AccountId), nil
		case orgtypes.CreateAccountStateFailed:
			return "", fmt.Errorf("failed: %s", st.FailureReason)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		out, err := o.c.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: st.Id})
		if err != nil {
			return "", err
		}
		st = out.CreateAccountStatus
	}
}

// Accounts lists the member accounts under targets (the root or OUs, their child OUs included),
// sorted, without the management account: where a service-managed StackSet deploys.
func (o *Organization) Accounts(ctx context.Context, targets []string) ([]string, error) {
	seen := map[string]bool{}
	var walk func(parent string) error
	walk = func(parent string) error {
		accounts := organizations.NewListAccountsForParentPaginator(o.c, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)})
		for accounts.HasMorePages() {
			page, err := accounts.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("listing the accounts of %s: %w", parent, err)
			}
			for _, a := range page.Accounts {
				if id := aws.ToString(a.Id); id != o.Management && a.Status == orgtypes.AccountStatusActive {
					seen[id] = true
				}
			}
		}
		ous := organizations.NewListOrganizationalUnitsForParentPaginator(o.c, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)})
		for ous.HasMorePages() {
			page, err := ous.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("listing the OUs of %s: %w", parent, err)
			}
			for _, ou := range page.OrganizationalUnits {
				if err := walk(aws.ToString(ou.Id)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, t := range targets {
		if err := walk(t); err != nil {
			return nil, err
		}
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}

// StackSetInput is what the customer gives CloudFormation to create the StackSet stack in the
// management account: the committed StackSet template's parameters (OrganizationalUnitIds,
// TenantToken, the feature switches; a parameter left out takes its default).
type StackSetInput struct {
	Parameters map[string]string
	// Preferences override the template's OperationPreferences (nil: the template's).
	Preferences *Preferences
}

// Preferences are a StackSet operation's: how many accounts at a time, and how many may fail
// before the operation stops (accounts not started by then are not attempted).
type Preferences struct {
	MaxConcurrent    int // at least 1
	FailureTolerance int // failed accounts tolerated; one more stops the operation
}

// Instance states, as StackSets report them.
const (
	Current   = "CURRENT"   // the account's stack was created
	Failed    = "FAILED"    // its creation failed (and was rolled back)
	Cancelled = "CANCELLED" // not attempted: the operation had stopped
)

// Instance is the StackSet's stack in one account.
type Instance struct {
	Account string
	Status  string // Current, Failed or Cancelled
	Reason  string // why it failed or was cancelled
	Stack   *Stack // nil unless Current
	Took    time.Duration
}

// Operation is one StackSet operation's outcome, an instance per target account, in account order.
type Operation struct {
	StackSet    string
	Template    string // the member accounts' template, under the repository's root
	Preferences Preferences
	Instances   []Instance
	// Management is the gateway stack the StackSet's own stack made in the management account
	// (CoverManagementAccount), nil if it made none.
	Management *Instance
	Took       time.Duration
}

// Count is how many instances are in status.
func (op *Operation) Count(status string) int {
	n := 0
	for _, in := range op.Instances {
		if in.Status == status {
			n++
		}
	}
	return n
}

// stackSet is the committed StackSet template's AWS::CloudFormation::StackSet, resolved.
type stackSet struct {
	name, template string
	targets        []string
	parameters     map[string]string
	prefs          map[string]any // OperationPreferences, as the template has them
	// here is the nested stack the StackSet's own stack creates in the management account, if its
	// condition holds (nil otherwise).
	here *StackInput
}

// preferences are the template's OperationPreferences for n target accounts: counts, or
// percentages of n rounded down (at least one account at a time), as StackSets compute them.
func (ss stackSet) preferences(n int) Preferences {
	p := Preferences{MaxConcurrent: intOf(ss.prefs["MaxConcurrentCount"]), FailureTolerance: intOf(ss.prefs["FailureToleranceCount"])}
	if pct, ok := ss.prefs["MaxConcurrentPercentage"]; ok {
		p.MaxConcurrent = intOf(pct) * n / 100
	}
	if pct, ok := ss.prefs["FailureTolerancePercentage"]; ok {
		p.FailureTolerance = intOf(pct) * n / 100
	}
	p.MaxConcurrent = max(1, p.MaxConcurrent)
	if mode, _ := ss.prefs["ConcurrencyMode"].(string); mode != "SOFT_FAILURE_TOLERANCE" {
		// STRICT_FAILURE_TOLERANCE, the default: at most the failure tolerance + 1 at once
		p.MaxConcurrent = min(p.MaxConcurrent, p.FailureTolerance+1)
	}
	return p
}

// DeployStackSet is the customer creating the committed StackSet template's stack in the management
// account: CloudFormation creates the StackSet (service-managed) and a stack instance in every
// member account of the target OUs, in us-east-1, with the StackSet's parameters, each as
// CreateStack does it (the gateway template, its Custom::Hook sent to the vendor). It returns the
// operation's instances; the error says why it stopped (more failures than tolerated, or ctx).
func (o *Organization) DeployStackSet(ctx context.Context, in StackSetInput) (*Operation, error) {
	started := time.Now()
	ss, err := o.resolveStackSet(in.Parameters)
	if err != nil {
		return nil, err
	}
	accounts, err := o.Accounts(ctx, ss.targets)
	if err != nil {
		return nil, err
	}
	prefs := ss.preferences(len(accounts))
	if in.Preferences != nil {
		prefs = *in.Preferences
	}
	op := &Operation{StackSet: ss.name, Template: ss.template, Preferences: prefs, Instances: make([]Instance, len(accounts))}
	if ss.here != nil { // the StackSet's own stack, in the management account, creates it before the StackSet
		t := time.Now()
		stack, err := o.sim.CreateStack(ctx, *ss.here)
		op.Management = &Instance{Account: o.Management, Status: Current, Stack: stack, Took: time.Since(t)}
		if err != nil {
			op.Management.Status, op.Management.Reason = Failed, err.Error()
			return op, fmt.Errorf("the StackSet's stack: its ManagementAccountGateway: %w", err)
		}
	}
	op.Preferences.MaxConcurrent = max(1, op.Preferences.MaxConcurrent)
	for i, a := range accounts {
		op.Instances[i] = Instance{Account: a, Status: Cancelled, Reason: "not attempted: the operation stopped"}
	}
	var (
		mu     sync.Mutex
		failed int
		wg     sync.WaitGroup
		slots  = make(chan struct{}, op.Preferences.MaxConcurrent)
	)
	stopped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return failed > op.Preferences.FailureTolerance
	}
	for i, account := range accounts {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil || stopped() {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			t := time.Now()
			stack, err := o.sim.CreateStack(ctx, StackInput{Account: account, Name: "StackSet-" + ss.name + "-" + newUUID(),
				Template: ss.template, Parameters: ss.parameters})
			res := Instance{Account: account, Status: Current, Stack: stack, Took: time.Since(t)}
			if err != nil {
				res.Status, res.Reason = Failed, err.Error()
			}
			mu.Lock()
			defer mu.Unlock()
			op.Instances[i] = res
			if err != nil {
				failed++
			}
		}()
	}
	wg.Wait()
	op.Took = time.Since(started)
	switch {
	case ctx.Err() != nil:
		return op, ctx.Err()
	case failed > op.Preferences.FailureTolerance:
		return op, fmt.Errorf("StackSet %s: the operation stopped: %d of %d accounts failed, %d tolerated", ss.name, failed, len(accounts), op.Preferences.FailureTolerance)
	}
	return op, nil
}

// resolveStackSet reads the committed StackSet template with the customer's parameters: the
// StackSet's name, member template, targets, instance parameters and operation preferences.
func (o *Organization) resolveStackSet(given map[string]string) (stackSet, error) {
	tpl, err := cfntemplate.Load(filepath.Join(o.sim.cfg.Root, StackSetTemplate))
	if err != nil {
		return stackSet{}, err
	}
	params, err := parameters(tpl, given)
	if err != nil {
		return stackSet{}, fmt.Errorf("the StackSet stack: %w", err)
	}
	vars := map[string]string{"AWS::AccountId": o.Management, "AWS::Region": Region, "AWS::Partition": "aws"}
	for k, v := range params {
		vars[k] = v
	}
	if vars, err = tpl.WithConditions(vars); err != nil {
		return stackSet{}, err
	}
	resources, _ := tpl["Resources"].(map[string]any)
	var raw, nested any
	for id, r := range resources {
		def, _ := r.(map[string]any)
		switch {
		case def["Type"] == "AWS::CloudFormation::Stack" && id == "ManagementAccountGateway":
			if c, ok := def["Condition"].(string); !ok || vars["Condition::"+c] == "true" {
				nested = def["Properties"]
			}
			continue
		case def["Type"] != "AWS::CloudFormation::StackSet":
			return stackSet{}, fmt.Errorf("resource %s (%v): only AWS::CloudFormation::StackSet is simulated here", id, def["Type"])
		case raw != nil:
			return stackSet{}, errors.New("the template has more than one StackSet")
		}
		raw = def["Properties"]
	}
	var ss stackSet
	if nested != nil {
		resolved, err := cfntemplate.Resolve(nested, vars)
		if err != nil {
			return stackSet{}, err
		}
		n := &props{m: resolved.(map[string]any), used: map[string]bool{}}
		in := StackInput{Account: o.Management, Name: "StackSet-stack-ManagementAccountGateway-" + newUUID(),
			Template: Published[n.str("TemplateURL")], Parameters: map[string]string{}}
		if in.Template == "" {
			return stackSet{}, fmt.Errorf("ManagementAccountGateway: TemplateURL %q is not a template the vendor publishes", n.str("TemplateURL"))
		}
		pm, _ := n.m["Parameters"].(map[string]any)
		for k, v := range pm {
			in.Parameters[k] = fmt.Sprint(v)
		}
		n.used["Parameters"] = true
		if err := n.done("AWS::CloudFormation::Stack"); err != nil {
			return stackSet{}, err
		}
		ss.here = &in
	}
	resolved, err := cfntemplate.Resolve(raw, vars)
	if err != nil {
		return stackSet{}, err
	}
	p := &props{m: resolved.(map[string]any), used: map[string]bool{}}
	ss.name, ss.parameters = p.str("StackSetName"), map[string]string{}
	if pm := p.str("PermissionModel"); pm != "SERVICE_MANAGED" {
		return stackSet{}, fmt.Errorf("PermissionModel %q: only SERVICE_MANAGED is simulated", pm)
	}
	if !slices.Contains(p.strings("Capabilities"), "CAPABILITY_NAMED_IAM") {
		return stackSet{}, errors.New("the gateway template names its IAM resources: the StackSet needs CAPABILITY_NAMED_IAM")
	}
	url := p.str("TemplateURL")
	if ss.template = Published[url]; ss.template == "" {
		return stackSet{}, fmt.Errorf("TemplateURL %q is not a template the vendor publishes", url)
	}
	for _, e := range p.list("Parameters") {
		kv, _ := e.(map[string]any)
		ss.parameters[fmt.Sprint(kv["ParameterKey"])] = fmt.Sprint(kv["ParameterValue"])
	}
	for _, g := range p.list("StackInstancesGroup") {
		group, _ := g.(map[string]any)
		if regions := fmt.Sprint(group["Regions"]); regions != "[us-east-1]" {
			return stackSet{}, fmt.Errorf("regions %s: only us-east-1 is simulated", regions)
		}
		targets, _ := group["DeploymentTargets"].(map[string]any)
		for _, ou := range strings.Split(fmt.Sprint(targets["OrganizationalUnitIds"]), ",") {
			ss.targets = append(ss.targets, strings.TrimSpace(ou))
		}
	}
	ss.prefs, _ = p.m["OperationPreferences"].(map[string]any)
	p.used["OperationPreferences"] = true
	p.used["AutoDeployment"], p.used["Description"] = true, true // accounts joining later: not simulated yet
	if err := p.done("AWS::CloudFormation::StackSet"); err != nil {
		return stackSet{}, err
	}
	return ss, nil
}

// intOf reads a template number (YAML gives int, JSON float64); 0 when absent.
func intOf(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case float64:
		return int(x)
	}
	return 0
}
