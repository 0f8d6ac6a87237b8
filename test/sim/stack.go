package sim

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/supportaccess/gateway/test/cfntemplate"
)

// The committed templates, relative to the repository's root.
const (
	ManagementTemplate = "templates/management-role.yaml"
	GatewayTemplate    = "templates/support-gateway.json"
	StackSetTemplate   = "stacksets/support-gateway-stackset.yaml"
)

// StackInput is what a customer gives CloudFormation to create a stack.
type StackInput struct {
	Account string // the customer's account
	Name    string // the stack's name
	// Template is the template's path under the repository's root (ManagementTemplate, GatewayTemplate).
	Template string
	// Parameters are the stack's parameter values; a parameter left out takes its default.
	Parameters map[string]string
}

// Stack is a stack CreateStack made, with what DeleteStack needs to undo it.
type Stack struct {
	Name, ID, Account string
	// Parameters are the values the stack was created with, defaults included.
	Parameters map[string]string
	// Hook is the answer to the Create of the stack's custom resource (nil if it has none).
	Hook *Response

	vars      map[string]string // parameters, pseudo-parameters, conditions and the resources' Ref and attributes
	resources []*resource       // in creation order
}

// resource is one resource of a stack, as created.
type resource struct {
	logicalID, typ, physicalID string
	props                      map[string]any // resolved
}

// CreateStack creates a stack from a committed template, as CloudFormation does: parameters
// checked against the template (defaults, AllowedValues, AllowedPattern), conditions evaluated,
// each resource created after those it refers to. IAM resources are made in the customer's account
// with the customer's own access; a custom resource is sent to its ServiceToken (Send) and its
// answer decides. If any resource fails, what was created is deleted again (the rollback, the
// custom resource's Delete included) and the error names the resource and CloudFormation's reason.
// Rules are not evaluated: the simulated stacks are always in us-east-1, the Region the templates'
// rules require.
func (a *AWS) CreateStack(ctx context.Context, in StackInput) (*Stack, error) {
	tpl, err := cfntemplate.Load(filepath.Join(a.cfg.Root, in.Template))
	if err != nil {
		return nil, err
	}
	params, err := parameters(tpl, in.Parameters)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", in.Name, err)
	}
	s := &Stack{Name: in.Name, Account: in.Account, Parameters: params,
		ID: fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s", Region, in.Account, in.Name, newUUID())}
	vars := map[string]string{"AWS::AccountId": in.Account, "AWS::Region": Region, "AWS::Partition": "aws",
		"AWS::URLSuffix": "amazonaws.com", "AWS::StackName": s.Name, "AWS::StackId": s.ID}
	for k, v := range params {
		vars[k] = v
	}
	if s.vars, err = tpl.WithConditions(vars); err != nil {
		return nil, fmt.Errorf("stack %s: %w", in.Name, err)
	}
	order, err := creationOrder(tpl)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", in.Name, err)
	}
	resources, _ := tpl["Resources"].(map[string]any)
	for _, id := range order {
		def, _ := resources[id].(map[string]any)
		if c, ok := def["Condition"].(string); ok && s.vars["Condition::"+c] != "true" {
			continue
		}
		typ, _ := def["Type"].(string)
		err := a.createResource(ctx, s, id, typ, def["Properties"])
		if err == nil {
			continue
		}
		failed := fmt.Errorf("stack %s: CREATE_FAILED %s (%s): %w", s.Name, id, typ, err)
		if rbErr := a.DeleteStack(ctx, s); rbErr != nil {
			return nil, fmt.Errorf("%w; the rollback failed too: %w", failed, rbErr)
		}
		return nil, fmt.Errorf("%w; the stack was rolled back", failed)
	}
	return s, nil
}

// DeleteStack deletes the stack's resources in the reverse of their creation order, as CloudFormation
// does: the custom resource first (the templates make it depend on everything else), with a Delete
// request its ServiceToken must answer SUCCESS. It stops at the first resource that cannot be
// deleted (DELETE_FAILED); what remains can be deleted by calling it again.
func (a *AWS) DeleteStack(ctx context.Context, s *Stack) error {
	for len(s.resources) > 0 {
		r := s.resources[len(s.resources)-1]
		if err := a.deleteResource(ctx, s, r); err != nil {
			return fmt.Errorf("stack %s: DELETE_FAILED %s (%s): %w", s.Name, r.logicalID, r.typ, err)
		}
		s.resources = s.resources[:len(s.resources)-1]
	}
	return nil
}

// parameters checks given against the template's Parameters and fills in the defaults.
func parameters(tpl cfntemplate.Template, given map[string]string) (map[string]string, error) {
	declared, _ := tpl["Parameters"].(map[string]any)
	for name := range given {
		if _, ok := declared[name]; !ok {
			return nil, fmt.Errorf("parameter %s is not in the template", name)
		}
	}
	out := map[string]string{}
	for name, d := range declared {
		def, _ := d.(map[string]any)
		v, ok := given[name]
		if !ok {
			dv, has := def["Default"]
			if !has {
				return nil, fmt.Errorf("parameter %s must have a value", name)
			}
			v = fmt.Sprint(dv)
		}
		if allowed, ok := def["AllowedValues"].([]any); ok && !slices.ContainsFunc(allowed, func(x any) bool { return fmt.Sprint(x) == v }) {
			return nil, fmt.Errorf("parameter %s: %q is not one of %v", name, v, allowed)
		}
		if p, ok := def["AllowedPattern"].(string); ok {
			re, err := regexp.Compile("^(?:" + longRepeat.ReplaceAllString(p, "{$1,}") + ")$")
			if err != nil {
				return nil, fmt.Errorf("parameter %s: AllowedPattern: %w", name, err)
			}
			if !re.MatchString(v) {
				return nil, fmt.Errorf("parameter %s: %q does not match %s", name, v, p)
			}
		}
		out[name] = v
	}
	return out, nil
}

// longRepeat is a repeat count over Go's limit of 1000 (CloudFormation's Java patterns have none):
// its upper bound is not checked here.
var longRepeat = regexp.MustCompile(`\{(\d+),\d{4,}\}`)

// creationOrder sorts the template's resources so that each comes after those it refers to (Ref,
// Fn::GetAtt, Fn::Sub) or names in DependsOn; among ready resources, by logical ID.
func creationOrder(tpl cfntemplate.Template) ([]string, error) {
	resources, _ := tpl["Resources"].(map[string]any)
	deps := map[string][]string{}
	for id, r := range resources {
		def, _ := r.(map[string]any)
		set := map[string]bool{}
		switch d := def["DependsOn"].(type) {
		case string:
			set[d] = true
		case []any:
			for _, x := range d {
				set[fmt.Sprint(x)] = true
			}
		}
		references(def["Properties"], set)
		for name := range set {
			if _, ok := resources[name]; ok {
				deps[id] = append(deps[id], name)
			}
		}
	}
	var order []string
	done := map[string]bool{}
	for len(order) < len(resources) {
		var ready []string
		for id := range resources {
			if !done[id] && !slices.ContainsFunc(deps[id], func(d string) bool { return !done[d] }) {
				ready = append(ready, id)
			}
		}
		if len(ready) == 0 {
			return nil, errors.New("the resources' references form a cycle")
		}
		sort.Strings(ready)
		for _, id := range ready {
			done[id] = true
		}
		order = append(order, ready...)
	}
	return order, nil
}

var subName = regexp.MustCompile(`\$\{([^}!][^}.]*)`)

// references adds to set every name v refers to through Ref, Fn::GetAtt or Fn::Sub.
func references(v any, set map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, arg := range x {
			switch k {
			case "Ref":
				set[fmt.Sprint(arg)] = true
			case "Fn::GetAtt":
				if parts, ok := arg.([]any); ok && len(parts) > 0 {
					set[fmt.Sprint(parts[0])] = true
				}
			case "Fn::Sub":
				if body, ok := arg.(string); ok {
					for _, m := range subName.FindAllStringSubmatch(body, -1) {
						set[m[1]] = true
					}
				}
			}
			references(arg, set)
		}
	case []any:
		for _, e := range x {
			references(e, set)
		}
	}
}

// props are a resource's resolved properties, read by name with their expected types.
type props struct {
	m    map[string]any
	used map[string]bool
	errs []error
}

func (p *props) str(name string) string {
	p.used[name] = true
	v, ok := p.m[name]
	if !ok {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case int, float64, bool:
		return fmt.Sprint(x)
	}
	p.errs = append(p.errs, fmt.Errorf("property %s: want a string, got %T", name, v))
	return ""
}

func (p *props) list(name string) []any {
	p.used[name] = true
	v, ok := p.m[name]
	if !ok {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		p.errs = append(p.errs, fmt.Errorf("property %s: want a list, got %T", name, v))
	}
	return l
}

func (p *props) strings(name string) []string {
	var out []string
	for _, e := range p.list(name) {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// done reports a property no simulation reads (never passed over in silence) and any type error.
func (p *props) done(typ string) error {
	for name := range p.m {
		if !p.used[name] {
			p.errs = append(p.errs, fmt.Errorf("property %s of %s is not simulated", name, typ))
		}
	}
	return errors.Join(p.errs...)
}

// joined is the physical ID CloudFormation makes for resources without a name property.
func joined(s *Stack, logicalID string) string {
	return s.Name + "-" + logicalID + "-" + strings.ToUpper(newUUID()[:13])
}

// Resource is one resource of a stack as CloudFormation lists it.
type Resource struct {
	LogicalID, Type, PhysicalID string
}

// Resources lists the stack's resources in creation order.
func (s *Stack) Resources() []Resource {
	out := make([]Resource, len(s.resources))
	for i, r := range s.resources {
		out[i] = Resource{LogicalID: r.logicalID, Type: r.typ, PhysicalID: r.physicalID}
	}
	return out
}
