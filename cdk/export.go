package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"gopkg.in/yaml.v3"
)

// Key orders a reader expects, by kind of mapping; keys not listed follow alphabetically. Sorting
// every mapping makes the exported templates independent of map iteration order anywhere upstream.
var (
	sectionOrder   = []string{"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings", "Conditions", "Resources", "Outputs"}
	resourceOrder  = []string{"Type", "Condition", "DependsOn", "Properties", "DeletionPolicy", "UpdateReplacePolicy", "Metadata"}
	parameterOrder = []string{"Type", "Description", "Default", "AllowedValues", "AllowedPattern"}
	policyOrder    = []string{"Version", "Statement", "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
	groupOrder     = []string{"Label", "Parameters"}
)

// orderFor picks the key order of a mapping from where it sits and what it holds.
func orderFor(n *yaml.Node, path []string) []string {
	has := func(k string) bool {
		for i := 0; i < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				return true
			}
		}
		return false
	}
	switch {
	case len(path) == 0:
		return sectionOrder
	case len(path) == 2 && path[0] == "Resources":
		return resourceOrder
	case len(path) == 2 && path[0] == "Parameters":
		return parameterOrder
	case has("Statement") || has("Effect"):
		return policyOrder
	case has("Label") && has("Parameters"):
		return groupOrder
	}
	return nil
}

// Template reads a synthesized template into an ordered tree with canonical key order.
func Template(assembly cxapi.CloudAssembly, stack string) (*yaml.Node, error) {
	path := *assembly.GetStackArtifact(jsii.String(stack)).TemplateFullPath()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading synthesized template of %s: %w", stack, err)
	}
	var doc yaml.Node
	// JSON is YAML: decoding it as YAML keeps order, types and quoting in one tree.
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parsing synthesized template of %s: %w", stack, err)
	}
	root := doc.Content[0]
	canonicalize(root, nil)
	return root, nil
}

// canonicalize orders every mapping below n; path is the keys from the template's root to n.
func canonicalize(n *yaml.Node, path []string) {
	n.Style = 0
	n.Line, n.Column = 0, 0
	switch n.Kind {
	case yaml.MappingNode:
		order := orderFor(n, path)
		rank := func(k string) int {
			if i := slices.Index(order, k); i >= 0 {
				return i
			}
			return len(order)
		}
		type pair struct{ k, v *yaml.Node }
		pairs := make([]pair, 0, len(n.Content)/2)
		for i := 0; i < len(n.Content); i += 2 {
			pairs = append(pairs, pair{n.Content[i], n.Content[i+1]})
		}
		slices.SortStableFunc(pairs, func(a, b pair) int {
			if ra, rb := rank(a.k.Value), rank(b.k.Value); ra != rb {
				return ra - rb
			}
			return strings.Compare(a.k.Value, b.k.Value)
		})
		n.Content = n.Content[:0]
		for _, p := range pairs {
			p.k.Style, p.k.Line, p.k.Column = 0, 0, 0
			canonicalize(p.v, append(slices.Clip(path), p.k.Value))
			n.Content = append(n.Content, p.k, p.v)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			canonicalize(c, append(slices.Clip(path), "[]"))
		}
	}
}

// Render writes a template tree as YAML or JSON, by the file's extension.
func Render(root *yaml.Node, path string) ([]byte, error) {
	switch filepath.Ext(path) {
	case ".yaml", ".yml":
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(root); err != nil {
			return nil, fmt.Errorf("encoding %s: %w", path, err)
		}
		return buf.Bytes(), enc.Close()
	case ".json":
		var buf bytes.Buffer
		if err := writeJSON(&buf, root, ""); err != nil {
			return nil, fmt.Errorf("encoding %s: %w", path, err)
		}
		buf.WriteByte('\n')
		return buf.Bytes(), nil
	default:
		return nil, fmt.Errorf("%s: templates are .yaml or .json", path)
	}
}

func writeJSON(buf *bytes.Buffer, n *yaml.Node, indent string) error {
	inner := indent + "  "
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		open, close, step := "{", "}", 2
		if n.Kind == yaml.SequenceNode {
			open, close, step = "[", "]", 1
		}
		if len(n.Content) == 0 {
			buf.WriteString(open + close)
			return nil
		}
		buf.WriteString(open + "\n")
		for i := 0; i < len(n.Content); i += step {
			buf.WriteString(inner)
			if step == 2 {
				writeString(buf, n.Content[i].Value)
				buf.WriteString(": ")
			}
			if err := writeJSON(buf, n.Content[i+step-1], inner); err != nil {
				return err
			}
			if i+step < len(n.Content) {
				buf.WriteByte(',')
			}
			buf.WriteByte('\n')
		}
		buf.WriteString(indent + close)
		return nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			writeString(buf, n.Value)
		case "!!int", "!!float", "!!bool", "!!null":
			buf.WriteString(n.Value)
		default:
			return fmt.Errorf("unexpected scalar %q tagged %s", n.Value, n.Tag)
		}
		return nil
	default:
		return fmt.Errorf("unexpected YAML node kind %d", n.Kind)
	}
}

func writeString(buf *bytes.Buffer, s string) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a Go string always encodes
	buf.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// Export renders every published template from a synthesized assembly, keyed by its path.
func Export(assembly cxapi.CloudAssembly) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, t := range Templates {
		root, err := Template(assembly, t.stack)
		if err != nil {
			return nil, err
		}
		b, err := Render(root, t.path)
		if err != nil {
			return nil, err
		}
		out[t.path] = b
	}
	return out, nil
}
