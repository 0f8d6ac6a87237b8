// Package cfntemplate reads the committed CloudFormation templates in tests and evaluates the few
// intrinsic functions they use (Ref, Fn::Sub, Fn::GetAtt, Fn::If with AWS::NoValue, and Fn::Equals
// in Conditions), the way CloudFormation would for given parameter and attribute values. Anything
// else is an error, never a silent pass-through.
package cfntemplate

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is a parsed template.
type Template map[string]any

// Load reads a YAML or JSON template.
func Load(path string) (Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// A plain map: yaml.v3 would give nested mappings the named type too.
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return Template(m), nil
}

// Properties returns a resource's Properties, or an error naming what is missing.
func (t Template) Properties(logicalID string) (map[string]any, error) {
	resources, _ := t["Resources"].(map[string]any)
	r, _ := resources[logicalID].(map[string]any)
	props, ok := r["Properties"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the template has no resource %s with Properties", logicalID)
	}
	return props, nil
}

// WithConditions returns vars with the template's Conditions evaluated for them, as
// "Condition::Name" = "true" or "false" (Fn::If reads them). Only Fn::Equals is supported.
func (t Template) WithConditions(vars map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		out[k] = v
	}
	conditions, _ := t["Conditions"].(map[string]any)
	for name, c := range conditions {
		m, _ := c.(map[string]any)
		args, ok := m["Fn::Equals"].([]any)
		if len(m) != 1 || !ok || len(args) != 2 {
			return nil, fmt.Errorf("condition %s: only Fn::Equals of two values is supported here", name)
		}
		a, err := Resolve(args[0], vars)
		if err != nil {
			return nil, fmt.Errorf("condition %s: %w", name, err)
		}
		b, err := Resolve(args[1], vars)
		if err != nil {
			return nil, fmt.Errorf("condition %s: %w", name, err)
		}
		out["Condition::"+name] = strconv.FormatBool(fmt.Sprint(a) == fmt.Sprint(b))
	}
	return out, nil
}

var placeholder = regexp.MustCompile(`\$\{([^}]+)\}`)

// noValue is what Ref AWS::NoValue resolves to: the property or list element is dropped.
type noValue struct{}

// Resolve evaluates Ref, Fn::Sub, Fn::GetAtt and Fn::If in v. vars maps parameter and
// pseudo-parameter names to values, "LogicalId.Attribute" to attribute values, and
// "Condition::Name" to a condition's value (Template.WithConditions).
func Resolve(v any, vars map[string]string) (any, error) {
	r, err := resolve(v, vars)
	if _, ok := r.(noValue); ok {
		return nil, err
	}
	return r, err
}

func resolve(v any, vars map[string]string) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				switch k {
				case "Ref":
					name, _ := arg.(string)
					if name == "AWS::NoValue" {
						return noValue{}, nil
					}
					return lookup(vars, name)
				case "Fn::If":
					parts, _ := arg.([]any)
					var name string
					if len(parts) == 3 {
						name, _ = parts[0].(string)
					}
					if name == "" {
						return nil, fmt.Errorf("Fn::If wants [Condition, IfTrue, IfFalse], got %v", arg)
					}
					c, err := lookup(vars, "Condition::"+name)
					if err != nil {
						return nil, err
					}
					if c == "true" {
						return resolve(parts[1], vars)
					}
					return resolve(parts[2], vars)
				case "Fn::Sub":
					body, ok := arg.(string)
					if !ok {
						return nil, fmt.Errorf("Fn::Sub with variables is not supported here")
					}
					var missing error
					out := placeholder.ReplaceAllStringFunc(body, func(m string) string {
						val, err := lookup(vars, m[2:len(m)-1])
						if err != nil && missing == nil {
							missing = err
						}
						return val
					})
					return out, missing
				case "Fn::GetAtt":
					parts, _ := arg.([]any)
					if len(parts) != 2 {
						return nil, fmt.Errorf("Fn::GetAtt wants [LogicalId, Attribute], got %v", arg)
					}
					return lookup(vars, fmt.Sprintf("%v.%v", parts[0], parts[1]))
				}
				if strings.HasPrefix(k, "Fn::") {
					return nil, fmt.Errorf("intrinsic %s is not supported here", k)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := resolve(e, vars)
			if err != nil {
				return nil, err
			}
			if _, drop := r.(noValue); !drop {
				out[k] = r
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			r, err := resolve(e, vars)
			if err != nil {
				return nil, err
			}
			if _, drop := r.(noValue); !drop {
				out = append(out, r)
			}
		}
		return out, nil
	default:
		return v, nil
	}
}

func lookup(vars map[string]string, name string) (string, error) {
	v, ok := vars[name]
	if !ok {
		return "", fmt.Errorf("no value for %s", name)
	}
	return v, nil
}

// Stringify turns every scalar into a string, as CloudFormation does with custom-resource
// properties (ServiceTimeout 300 arrives as "300", true as "true").
func Stringify(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Stringify(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Stringify(e)
		}
		return out
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return v
	}
}
