package main

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/supportaccess/gateway/internal/policy"
)

// cfnDocument renders a policy document for a template. Strings holding ${...} placeholders become
// Fn::Sub. Where a placeholder sits in a map key (the account ID in an OIDC condition key, say),
// CloudFormation cannot substitute it in place, so the whole document becomes one Fn::Sub of its
// JSON text.
func cfnDocument(d policy.Document) any {
	text := d.JSON()
	var tree any
	if err := json.Unmarshal([]byte(text), &tree); err != nil {
		panic(err) // d.JSON() is valid JSON by construction
	}
	if placeholderInKey(tree) {
		return sub(text)
	}
	return subStrings(tree)
}

// sub wraps a string in Fn::Sub if it holds a placeholder; a string that is nothing but one
// placeholder is a plain Ref.
func sub(s string) *string {
	if m := lonePlaceholder.FindStringSubmatch(s); m != nil {
		return awscdk.Fn_Ref(jsii.String(m[1]))
	}
	if strings.Contains(s, "${") {
		return awscdk.Fn_Sub(jsii.String(s), nil)
	}
	return jsii.String(s)
}

var lonePlaceholder = regexp.MustCompile(`^\$\{([A-Za-z0-9:]+)\}$`)

func subStrings(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = subStrings(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = subStrings(e)
		}
		return x
	case string:
		return sub(x)
	default:
		return v
	}
}

func placeholderInKey(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if strings.Contains(k, "${") || placeholderInKey(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if placeholderInKey(e) {
				return true
			}
		}
	}
	return false
}

func subs(in []string) *[]*string {
	out := make([]*string, len(in))
	for i, s := range in {
		out[i] = sub(s)
	}
	return &out
}
