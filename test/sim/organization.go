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

// Organization is a customer's AWS Organization on moto, driven from its management account, with
// the service-managed StackSets created in it.
type Organization struct {
	sim        *AWS
	Management string // the management account, where the StackSet is created (and which it skips)
	Root       string // the root's ID, r-…
	c          *organizations.Client

	mu        sync.Mutex
	stackSets map[string]*StackSet // by name
}

// CreateOrganization makes management the management account of a new organization (all features).
func (a *AWS) CreateOrganization(ctx context.Context, management string) (*Organization, error) {
	cfg, err := a.Account(ctx, management)
	if err != nil {
		return nil, err
	}
	o := &Organization{sim: a, Management: management, c: organizations.NewFromConfig(cfg), stackSets: map[string]*StackSet{}}
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

// accountCreations is how many account creations run at once: Organizations' quota on creations
// in progress.
const accountCreations = 5

// CreateAccounts creates n member accounts, named prefix-1 … prefix-n, a few at a time, moves
// them into ou, and signs in to each as its administrator (OrganizationAccountAccessRole's part).
// It returns their IDs in the order of their names.
func (o *Organization) CreateAccounts(ctx context.Context, ou, prefix string, n int) ([]string, error) {
	ids := make([]string, n)
	errs := make([]error, n)
	slots := make(chan struct{}, accountCreations)
	var wg sync.WaitGroup
	for i := range n {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			ids[i], errs[i] = o.createAccount(ctx, ou, fmt.Sprintf("%s-%d", prefix, i+1))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ids, nil
}

func (o *Organization) createAccount(ctx context.Context, ou, name string) (string, error) {
	out, err := o.c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name),
		Email: aws.String(name + "@example.com")})
	if err != nil {
		return "", fmt.Errorf("creating account %s: %w", name, err)
	}
	id, err := o.created(ctx, out.CreateAccountStatus)
	if err != nil {
		return "", fmt.Errorf("creating account %s: %w", name, err)
	}
	if _, err := o.c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id),
		SourceParentId: aws.String(o.Root), DestinationParentId: aws.String(ou)}); err != nil {
		return "", fmt.Errorf("moving account %s into %s: %w", id, ou, err)
	}
	if _, err := o.sim.Account(ctx, id); err != nil {
		return "", err
	}
	return id, nil
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

// MoveAccount moves a member account from wherever it is to parent (the root or an OU).
func (o *Organization) MoveAccount(ctx context.Context, account, parent string) error {
	parents, err := o.c.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String(account)})
	if err != nil || len(parents.Parents) != 1 {
		return fmt.Errorf("the parent of account %s: %d parents, %w", account, len(parents.Parents), err)
	}
	if _, err := o.c.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(account),
		SourceParentId: parents.Parents[0].Id, DestinationParentId: aws.String(parent)}); err != nil {
		return fmt.Errorf("moving account %s to %s: %w", account, parent, err)
	}
	return nil
}

// RemoveAccount removes a member account from the organization (it stands alone afterwards).
func (o *Organization) RemoveAccount(ctx context.Context, account string) error {
	if _, err := o.c.RemoveAccountFromOrganization(ctx, &organizations.RemoveAccountFromOrganizationInput{AccountId: aws.String(account)}); err != nil {
		return fmt.Errorf("removing account %s from the organization: %w", account, err)
	}
	return nil
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
	// Preferences replace the template's OperationPreferences (nil: the template's), as a customer
	// who edits them before deploying.
	Preferences *OperationPreferences
}

// StackSet is a service-managed StackSet: where it deploys, what, and its stack instances.
type StackSet struct {
	Name     string
	Template string // the member accounts' template, under the repository's root
	Targets  []string
	// Parameters are the instances' parameters.
	Parameters  map[string]string
	Preferences OperationPreferences
	// AutoDeployment deploys to accounts that join the targets and, unless RetainStacks, deletes
	// the stacks of accounts that leave them (AutoDeploy).
	AutoDeployment, RetainStacks bool
	// Management is the nested stack the StackSet's own stack creates in the management account,
	// which the StackSet never reaches, when its condition holds (CoverManagementAccount); nil: none.
	Management *StackInput

	mu        sync.Mutex
	instances map[string]*Stack // by account; nil: its creation failed (rolled back)
}

// Stacks are the StackSet's stacks, by account (without the accounts whose creation failed).
func (ss *StackSet) Stacks() map[string]*Stack {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	out := map[string]*Stack{}
	for a, s := range ss.instances {
		if s != nil {
			out[a] = s
		}
	}
	return out
}

// Instance states, as StackSets report them.
const (
	Current   = "CURRENT"   // the account's stack was created
	Failed    = "FAILED"    // its creation failed (and was rolled back), or its deletion
	Cancelled = "CANCELLED" // not attempted: the operation had stopped
	Deleted   = "DELETED"   // the account left the targets and its stack was deleted
)

// Instance is one account's part in a StackSet operation.
type Instance struct {
	Account string
	Action  string // Create or Delete
	Status  string // Current, Deleted, Failed or Cancelled
	Reason  string // why it failed or was cancelled
	Stack   *Stack // the stack created (Current) or deleted (Deleted)
	Took    time.Duration
}

// Operation actions.
const (
	Create = "CREATE"
	Delete = "DELETE"
)

// Operation is one StackSet operation's outcome, an instance per account it acted on, in account
// order (the creations first, for an auto-deployment).
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

// StackSet is the StackSet of that name DeployStackSet created, or nil.
func (o *Organization) StackSet(name string) *StackSet {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stackSets[name]
}

// DeployStackSet is the customer creating the committed StackSet template's stack in the management
// account: CloudFormation creates the StackSet (service-managed) and a stack instance in every
// member account of its target OUs, in us-east-1, with the StackSet's parameters, each as
// CreateStack does it (the gateway template, its Custom::Hook sent to the vendor), as many at a
// time as the operation preferences give. It returns the operation's instances; the error says why
// it stopped (more failures than tolerated, or ctx). An operation stopped by its failures fails the
// StackSet resource: its stack is rolled back, which deletes the stacks the operation created and
// the StackSet.
func (o *Organization) DeployStackSet(ctx context.Context, in StackSetInput) (*Operation, error) {
	started := time.Now()
	ss, err := o.resolveStackSet(in.Parameters)
	if err != nil {
		return nil, err
	}
	if in.Preferences != nil {
		ss.Preferences = *in.Preferences
	}
	o.mu.Lock()
	if o.stackSets[ss.Name] != nil {
		o.mu.Unlock()
		return nil, fmt.Errorf("StackSet %s already exists", ss.Name)
	}
	o.stackSets[ss.Name] = ss
	o.mu.Unlock()
	accounts, err := o.Accounts(ctx, ss.Targets)
	if err != nil {
		return nil, err
	}
	var here *Instance
	if ss.Management != nil { // the StackSet's own stack, in the management account, creates it first
		t := time.Now()
		stack, err := o.sim.CreateStack(ctx, *ss.Management)
		here = &Instance{Account: o.Management, Action: Create, Status: Current, Stack: stack, Took: time.Since(t)}
		if err != nil {
			o.mu.Lock()
			delete(o.stackSets, ss.Name)
			o.mu.Unlock()
			here.Status, here.Reason = Failed, err.Error()
			return &Operation{StackSet: ss.Name, Template: ss.Template, Management: here},
				fmt.Errorf("the StackSet's stack: its ManagementAccountGateway: %w", err)
		}
	}
	jobs := make([]job, len(accounts))
	for i, a := range accounts {
		jobs[i] = job{account: a, action: Create}
	}
	op, err := o.run(ctx, ss, jobs, started)
	if op != nil {
		op.Management = here
	}
	if err != nil && ctx.Err() == nil {
		// the StackSet resource failed: its stack rolls back, which deletes the StackSet and the
		// stacks it made
		var undo []job
		for a := range ss.Stacks() {
			undo = append(undo, job{account: a, action: Delete})
		}
		slices.SortFunc(undo, func(a, b job) int { return strings.Compare(a.account, b.account) })
		ss.Preferences = OperationPreferences{MaxConcurrentPercentage: 100, ConcurrencyMode: SoftFailureTolerance, FailureTolerancePercentage: 100}
		if _, rbErr := o.run(ctx, ss, undo, time.Now()); rbErr != nil {
			return op, fmt.Errorf("%w; the rollback failed too: %w", err, rbErr)
		}
		o.mu.Lock()
		delete(o.stackSets, ss.Name)
		o.mu.Unlock()
		return op, fmt.Errorf("%w; the StackSet's stack was rolled back, deleting the StackSet", err)
	}
	return op, err
}

// AutoDeploy is StackSets' automatic deployment acting on what changed in the organization since
// the StackSets were deployed or last auto-deployed: for each StackSet with AutoDeployment enabled,
// a stack in each account of its targets that has none (an account created in, or moved into, a
// target OU), and the stack of each account no longer under its targets (moved to another OU, or
// removed from the organization) deleted, unless RetainStacksOnAccountRemoval (then only
// forgotten). An account moved between two of its target OUs keeps its stack untouched. Each
// StackSet's changes are one operation, run with its operation preferences (AWS does not apply
// them to automatic deployments, nor say what it applies: a choice of this simulation).
func (o *Organization) AutoDeploy(ctx context.Context) ([]*Operation, error) {
	o.mu.Lock()
	var sets []*StackSet
	for _, ss := range o.stackSets {
		if ss.AutoDeployment {
			sets = append(sets, ss)
		}
	}
	o.mu.Unlock()
	slices.SortFunc(sets, func(a, b *StackSet) int { return strings.Compare(a.Name, b.Name) })
	var ops []*Operation
	for _, ss := range sets {
		started := time.Now()
		targeted, err := o.Accounts(ctx, ss.Targets)
		if err != nil {
			return ops, err
		}
		var jobs, deletes []job
		ss.mu.Lock()
		for _, a := range targeted {
			if _, ok := ss.instances[a]; !ok {
				jobs = append(jobs, job{account: a, action: Create})
			}
		}
		for a, stack := range ss.instances {
			switch {
			case slices.Contains(targeted, a):
			case stack == nil || ss.RetainStacks: // nothing to delete, or kept: no longer the StackSet's
				delete(ss.instances, a)
			default:
				deletes = append(deletes, job{account: a, action: Delete})
			}
		}
		ss.mu.Unlock()
		slices.SortFunc(deletes, func(a, b job) int { return strings.Compare(a.account, b.account) })
		op, err := o.run(ctx, ss, append(jobs, deletes...), started)
		ops = append(ops, op)
		if err != nil {
			return ops, err
		}
	}
	return ops, nil
}

// job is one account's part in an operation.
type job struct{ account, action string }

// run runs jobs, as many at a time as ss's preferences allow for their number, and stops starting
// new ones once more have failed than they tolerate.
func (o *Organization) run(ctx context.Context, ss *StackSet, jobs []job, started time.Time) (*Operation, error) {
	prefs, err := ss.Preferences.For(len(jobs))
	if err != nil {
		return nil, fmt.Errorf("StackSet %s: %w", ss.Name, err)
	}
	op := &Operation{StackSet: ss.Name, Template: ss.Template, Preferences: prefs, Instances: make([]Instance, len(jobs))}
	for i, j := range jobs {
		op.Instances[i] = Instance{Account: j.account, Action: j.action, Status: Cancelled, Reason: "not attempted: the operation stopped"}
	}
	var (
		mu      sync.Mutex
		changed = sync.NewCond(&mu)
		running int
		failed  int
		wg      sync.WaitGroup
	)
	for i, j := range jobs {
		mu.Lock()
		for running >= prefs.Concurrency(failed) && failed <= prefs.FailureTolerance && ctx.Err() == nil {
			changed.Wait()
		}
		stop := failed > prefs.FailureTolerance || ctx.Err() != nil
		if !stop {
			running++
		}
		mu.Unlock()
		if stop {
			break
		}
		wg.Go(func() {
			res := o.act(ctx, ss, j)
			mu.Lock()
			defer mu.Unlock()
			op.Instances[i] = res
			running--
			if res.Status == Failed {
				failed++
			}
			changed.Broadcast()
		})
	}
	wg.Wait()
	op.Took = time.Since(started)
	switch {
	case ctx.Err() != nil:
		return op, ctx.Err()
	case failed > prefs.FailureTolerance:
		return op, fmt.Errorf("StackSet %s: the operation stopped: %d of %d accounts failed, %d tolerated", ss.Name, failed, len(jobs), prefs.FailureTolerance)
	}
	return op, nil
}

// act creates or deletes the StackSet's stack in one account, and records the outcome on ss.
func (o *Organization) act(ctx context.Context, ss *StackSet, j job) Instance {
	t := time.Now()
	res := Instance{Account: j.account, Action: j.action}
	switch j.action {
	case Create:
		stack, err := o.sim.CreateStack(ctx, StackInput{Account: j.account, Name: "StackSet-" + ss.Name + "-" + newUUID(),
			Template: ss.Template, Parameters: ss.Parameters})
		res.Status, res.Stack = Current, stack
		if err != nil {
			res.Status, res.Reason = Failed, err.Error()
		}
		ss.mu.Lock()
		ss.instances[j.account] = stack // nil if it failed: not attempted again
		ss.mu.Unlock()
	case Delete:
		ss.mu.Lock()
		stack := ss.instances[j.account]
		ss.mu.Unlock()
		res.Status, res.Stack = Deleted, stack
		if err := o.sim.DeleteStack(ctx, stack); err != nil {
			res.Status, res.Reason = Failed, err.Error()
			break
		}
		ss.mu.Lock()
		delete(ss.instances, j.account)
		ss.mu.Unlock()
	}
	res.Took = time.Since(t)
	return res
}

// resolveStackSet reads the committed StackSet template with the customer's parameters: the
// StackSet's name, member template, targets, instance parameters and operation preferences.
func (o *Organization) resolveStackSet(given map[string]string) (*StackSet, error) {
	tpl, err := cfntemplate.Load(filepath.Join(o.sim.cfg.Root, StackSetTemplate))
	if err != nil {
		return nil, err
	}
	params, err := parameters(tpl, given)
	if err != nil {
		return nil, fmt.Errorf("the StackSet stack: %w", err)
	}
	vars := map[string]string{"AWS::AccountId": o.Management, "AWS::Region": Region, "AWS::Partition": "aws"}
	for k, v := range params {
		vars[k] = v
	}
	if vars, err = tpl.WithConditions(vars); err != nil {
		return nil, err
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
			return nil, fmt.Errorf("resource %s (%v): only AWS::CloudFormation::StackSet is simulated here", id, def["Type"])
		case raw != nil:
			return nil, errors.New("the template has more than one StackSet")
		}
		raw = def["Properties"]
	}
	here, err := o.managementStack(nested, vars)
	if err != nil {
		return nil, err
	}
	resolved, err := cfntemplate.Resolve(raw, vars)
	if err != nil {
		return nil, err
	}
	p := &props{m: resolved.(map[string]any), used: map[string]bool{}}
	ss := &StackSet{Name: p.str("StackSetName"), Parameters: map[string]string{}, instances: map[string]*Stack{}, Management: here}
	if pm := p.str("PermissionModel"); pm != "SERVICE_MANAGED" {
		return nil, fmt.Errorf("PermissionModel %q: only SERVICE_MANAGED is simulated", pm)
	}
	if !slices.Contains(p.strings("Capabilities"), "CAPABILITY_NAMED_IAM") {
		return nil, errors.New("the gateway template names its IAM resources: the StackSet needs CAPABILITY_NAMED_IAM")
	}
	url := p.str("TemplateURL")
	if ss.Template = Published[url]; ss.Template == "" {
		return nil, fmt.Errorf("TemplateURL %q is not a template the vendor publishes", url)
	}
	for _, e := range p.list("Parameters") {
		kv, _ := e.(map[string]any)
		ss.Parameters[fmt.Sprint(kv["ParameterKey"])] = fmt.Sprint(kv["ParameterValue"])
	}
	for _, g := range p.list("StackInstancesGroup") {
		group, _ := g.(map[string]any)
		if regions := fmt.Sprint(group["Regions"]); regions != "[us-east-1]" {
			return nil, fmt.Errorf("regions %s: only us-east-1 is simulated", regions)
		}
		targets, _ := group["DeploymentTargets"].(map[string]any)
		for _, ou := range strings.Split(fmt.Sprint(targets["OrganizationalUnitIds"]), ",") {
			ss.Targets = append(ss.Targets, strings.TrimSpace(ou))
		}
	}
	if ss.Preferences, err = operationPreferences(p); err != nil {
		return nil, err
	}
	if auto, ok := p.m["AutoDeployment"].(map[string]any); ok {
		p.used["AutoDeployment"] = true
		ss.AutoDeployment, ss.RetainStacks = fmt.Sprint(auto["Enabled"]) == "true", fmt.Sprint(auto["RetainStacksOnAccountRemoval"]) == "true"
	}
	p.used["Description"] = true
	if err := p.done("AWS::CloudFormation::StackSet"); err != nil {
		return nil, err
	}
	return ss, nil
}

// managementStack is the StackSet template's ManagementAccountGateway (a nested stack of the
// gateway template in the management account) from its properties, resolved with vars; nil if
// there is none.
func (o *Organization) managementStack(nested any, vars map[string]string) (*StackInput, error) {
	if nested == nil {
		return nil, nil
	}
	resolved, err := cfntemplate.Resolve(nested, vars)
	if err != nil {
		return nil, err
	}
	n := &props{m: resolved.(map[string]any), used: map[string]bool{}}
	in := StackInput{Account: o.Management, Name: "StackSet-stack-ManagementAccountGateway-" + newUUID(),
		Template: Published[n.str("TemplateURL")], Parameters: map[string]string{}}
	if in.Template == "" {
		return nil, fmt.Errorf("ManagementAccountGateway: TemplateURL %q is not a template the vendor publishes", n.str("TemplateURL"))
	}
	pm, _ := n.m["Parameters"].(map[string]any)
	for k, v := range pm {
		in.Parameters[k] = fmt.Sprint(v)
	}
	n.used["Parameters"] = true
	if err := n.done("AWS::CloudFormation::Stack"); err != nil {
		return nil, err
	}
	return &in, nil
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
