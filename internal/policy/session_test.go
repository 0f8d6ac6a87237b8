package policy

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSessionPolicyFitsSTSLimit(t *testing.T) {
	for _, f := range []Features{{}, {Runbooks: true}, {Diagnostic: true}, {Runbooks: true, Diagnostic: true}} {
		s := NewSessionPolicy(longest, f)
		t.Logf("%+v: %d of %d characters", f, s.Size(), SessionPolicyLimit)
		assert.LessOrEqual(t, s.Size(), SessionPolicyLimit, "%+v", f)
	}
}

func TestSessionPolicyIsReadOnlyPlusSupport(t *testing.T) {
	s := NewSessionPolicy(Target{Partition: "aws", AccountID: "111122223333"}, Features{})
	assert.Equal(t, []string{"arn:aws:iam::aws:policy/SecurityAudit", "arn:aws:iam::aws:policy/AWSSupportAccess"}, s.ManagedARNs)
	var denied Strings
	for _, st := range s.Inline.Statement {
		if st.Effect == Deny {
			denied = append(denied, st.Action...)
		}
	}
	for _, a := range SensitiveReads {
		if !slices.Contains(denied, a) {
			// not denied: then nothing in the session may admit it
			for _, p := range append(ReadOnlyActions(), "support:*") {
				assert.False(t, ActionMatches(p, a), "%s is admitted by %s and not denied", a, p)
			}
		}
	}
}

var update = flag.Bool("update", false, "rewrite testdata/session-policy.json")

// The escalation suite (test/iam) simulates sessions with this file; it must be what the code builds.
func TestSessionPolicyGolden(t *testing.T) {
	got := map[string]any{}
	for name, f := range map[string]Features{"default": {}, "all": {Runbooks: true, Diagnostic: true}} {
		s := NewSessionPolicy(Target{Partition: "aws", AccountID: "111122223333"}, f)
		got[name] = map[string]any{"ManagedArns": s.ManagedARNs, "Inline": s.Inline}
	}
	b, err := json.MarshalIndent(got, "", "  ")
	require.NoError(t, err)
	b = append(b, '\n')
	path := filepath.Join("testdata", "session-policy.json")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run: go test ./internal/policy -run TestSessionPolicyGolden -update")
	assert.Equal(t, string(want), string(b), "run: go test ./internal/policy -run TestSessionPolicyGolden -update")
}
