package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Version is the only IAM policy language version the package emits.
const Version = "2012-10-17"

// Effect is Allow or Deny.
type Effect string

const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Strings is a set of IAM strings. It marshals as a bare string when it holds one value, as IAM
// itself shows it, and as a list otherwise.
type Strings []string

// MarshalJSON writes one value as a string and several as a list.
func (s Strings) MarshalJSON() ([]byte, error) {
	if len(s) == 1 {
		return json.Marshal(s[0])
	}
	return json.Marshal([]string(s))
}

// UnmarshalJSON accepts both a string and a list of strings.
func (s *Strings) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = Strings{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("policy strings: want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

// Principal names who a trust policy admits.
type Principal struct {
	AWS       Strings `json:"AWS,omitempty"`
	Federated Strings `json:"Federated,omitempty"`
	Service   Strings `json:"Service,omitempty"`
}

// Condition maps an operator (StringEquals, ArnEquals, …) to condition keys and their values.
type Condition map[string]map[string]Strings

// Statement is one IAM policy statement.
type Statement struct {
	Sid         string     `json:"Sid,omitempty"`
	Effect      Effect     `json:"Effect"`
	Principal   *Principal `json:"Principal,omitempty"`
	Action      Strings    `json:"Action,omitempty"`
	NotAction   Strings    `json:"NotAction,omitempty"`
	Resource    Strings    `json:"Resource,omitempty"`
	NotResource Strings    `json:"NotResource,omitempty"`
	Condition   Condition  `json:"Condition,omitempty"`
}

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// NewDocument returns a document with the fixed Version and the given statements.
func NewDocument(statements ...Statement) Document {
	return Document{Version: Version, Statement: statements}
}

// JSON returns the document as compact JSON, the form IAM stores and counts.
func (d Document) JSON() string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		// Every field is a string, a slice or a map of strings: encoding cannot fail.
		panic(fmt.Sprintf("policy: encoding document: %v", err))
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// Size is the number of characters IAM counts against its quotas: whitespace is not counted.
func (d Document) Size() int {
	n := 0
	for _, r := range d.JSON() {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// Parse reads a policy document from JSON.
func Parse(s string) (Document, error) {
	var d Document
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return Document{}, fmt.Errorf("parsing policy document: %w", err)
	}
	return d, nil
}

// Equivalent reports whether two documents mean the same: same statements in any order, with
// actions, resources, principals and condition values compared as sets (actions case-insensitively,
// as IAM does). It is how a reconciler decides whether a stored document has drifted.
func Equivalent(a, b Document) bool {
	if a.Version != b.Version || len(a.Statement) != len(b.Statement) {
		return false
	}
	ka, kb := make([]string, len(a.Statement)), make([]string, len(b.Statement))
	for i := range a.Statement {
		ka[i] = canonicalStatement(a.Statement[i])
		kb[i] = canonicalStatement(b.Statement[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}

func canonicalStatement(s Statement) string {
	c := s
	c.Sid = "" // a statement ID is a label, not part of what the statement means
	c.Action = lowerSet(s.Action)
	c.NotAction = lowerSet(s.NotAction)
	c.Resource = set(s.Resource)
	c.NotResource = set(s.NotResource)
	if s.Principal != nil {
		c.Principal = &Principal{AWS: set(s.Principal.AWS), Federated: set(s.Principal.Federated), Service: set(s.Principal.Service)}
	}
	if s.Condition != nil {
		c.Condition = Condition{}
		for op, kv := range s.Condition {
			c.Condition[op] = map[string]Strings{}
			for k, v := range kv {
				// Condition keys are case-insensitive; values are not.
				c.Condition[op][strings.ToLower(k)] = set(v)
			}
		}
	}
	// Strings marshals one value as a bare string and several as a list, so a set of one and a
	// lone string compare equal, as they do in IAM.
	b, _ := json.Marshal(c)
	return string(b)
}

func set(in Strings) Strings {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

func lowerSet(in Strings) Strings {
	out := make(Strings, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(s)
	}
	return set(out)
}
