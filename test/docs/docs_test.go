package docs

import (
	"bytes"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readAll(t *testing.T) (string, []*Document) {
	t.Helper()
	root, err := Root()
	require.NoError(t, err)
	all, err := ReadAll(root)
	require.NoError(t, err)
	require.Greater(t, len(all), 1, "README.md and docs/*.md")
	return root, all
}

// Every relative link in README.md and docs/*.md points to a file or directory that exists, and a
// #fragment to a heading of the Markdown document it names.
func TestRelativeLinksResolve(t *testing.T) {
	root, all := readAll(t)
	byPath := map[string]*Document{}
	for _, d := range all {
		byPath[d.Path] = d
	}
	links := 0
	for _, d := range all {
		for _, l := range d.Links {
			u, err := url.Parse(l.Target)
			if !assert.NoError(t, err, "%s:%d", l.File, l.Line) || u.Scheme != "" || u.Host != "" {
				continue // absolute links are not checked: no network here
			}
			links++
			target := d.Path
			if u.Path != "" {
				target = path.Clean(path.Join(path.Dir(d.Path), u.Path))
				if !assert.False(t, strings.HasPrefix(target, "../"), "%s:%d: %s leaves the repository", l.File, l.Line, l.Target) {
					continue
				}
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(target))); !assert.NoError(t, err, "%s:%d: %s", l.File, l.Line, l.Target) {
					continue
				}
			}
			if u.Fragment == "" {
				continue
			}
			doc := byPath[target]
			if doc == nil && strings.HasSuffix(target, ".md") {
				doc, err = Read(root, target)
				require.NoError(t, err)
			}
			if assert.NotNil(t, doc, "%s:%d: %s: a #fragment of a file that is not Markdown", l.File, l.Line, l.Target) {
				assert.True(t, doc.Anchors[u.Fragment], "%s:%d: %s: %s has no heading with the anchor #%s", l.File, l.Line, l.Target, target, u.Fragment)
			}
		}
	}
	assert.Greater(t, links, 20, "the documents link to each other")
}

// Slug makes the anchors GitHub makes.
func TestSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"The two commands": "the-two-commands",
		"`templates/management-role.yaml` (seed 000, improved)":                           "templatesmanagement-roleyaml-seed-000-improved",
		"The vendor's backend stack (`cdk/backend*.go`, stack `support-gateway-backend`)": "the-vendors-backend-stack-cdkbackendgo-stack-support-gateway-backend",
		"Fault matrix (`TestFaultMatrix`, `make test`)":                                   "fault-matrix-testfaultmatrix-make-test",
		"What `make demo` shows":                                                          "what-make-demo-shows",
		"Operations: supportctl":                                                          "operations-supportctl",
	} {
		assert.Equal(t, want, Slug(heading), heading)
	}
	d, err := Parse("x.md", "# A\n\n## A\n\n```sh\n# A\n```\n")
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"a": true, "a-1": true}, d.Anchors, "a repeated heading gets -1; a comment in code is no heading")
}

var (
	// a placeholder to fill in, such as <vendor account> or <id>; "<<" and "< file" are shell
	placeholder = regexp.MustCompile(`<[A-Za-z][^<>]*>`)
	// a command that acts on AWS itself
	awsCommand = regexp.MustCompile(`(?m)^\s*(aws|npx aws-cdk(@\S*)?|cdk)\s`)
)

const (
	needsAWS   = "# needs a real AWS account"
	withMakeUp = "# with make up running and its export block pasted"
)

// commands is a shell block without its comments: whole comment lines, and what follows " # ".
func commands(text string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if i := strings.Index(line, " # "); i >= 0 {
			line = line[:i]
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// Every block fenced sh runs as written: bash parses it, and it holds no placeholder to fill in
// and no "…" standing for something left out (both only in comments, which show output).
func TestShellBlocksRunAsWritten(t *testing.T) {
	bash, err := exec.LookPath("bash")
	require.NoError(t, err, "bash is required: the documents' sh blocks are bash")
	_, all := readAll(t)
	n := 0
	for _, d := range all {
		for _, b := range d.Blocks {
			if b.Lang != "sh" {
				continue
			}
			n++
			cmd := exec.Command(bash, "-n")
			cmd.Stdin = strings.NewReader(b.Text)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			assert.NoError(t, cmd.Run(), "%s: bash -n: %s", b, stderr.String())
			assert.Empty(t, placeholder.FindAllString(commands(b.Text), -1), "%s: a placeholder in a block fenced sh: fence it text and say what it needs", b)
			assert.NotContains(t, commands(b.Text), "…", "%s: \"…\" outside a comment in a block fenced sh", b)
			assert.NotContains(t, b.Text, needsAWS, "%s: a block that needs a real AWS account is fenced text", b)
		}
	}
	assert.Greater(t, n, 5)
}

// Commands that act on AWS itself are only in blocks fenced text whose first line says they need
// a real AWS account; and such a block is never fenced sh.
func TestAWSCommandsAreMarked(t *testing.T) {
	_, all := readAll(t)
	for _, d := range all {
		for _, b := range d.Blocks {
			if awsCommand.MatchString(commands(b.Text)) {
				assert.True(t, strings.HasPrefix(b.FirstLine(), needsAWS), "%s: a command on AWS in a block whose first line is not %q", b, needsAWS)
			}
			if strings.HasPrefix(b.FirstLine(), needsAWS) {
				assert.Equal(t, "text", b.Lang, "%s: a block that needs a real AWS account is fenced text, not %q", b, b.Lang)
			}
		}
	}
}

// The markers are the known ones; the README has one quickstart (sh) and what it prints (text);
// the blocks run against make up are sh and say so on their first line.
func TestMarkers(t *testing.T) {
	_, all := readAll(t)
	for _, d := range all {
		for _, b := range d.Blocks {
			if b.Marker != "" {
				assert.Contains(t, Markers, b.Marker, "%s: an unknown marker", b)
			}
			if b.Marker == MarkQuickstart || b.Marker == MarkQuickstartOutput {
				assert.Equal(t, "README.md", b.File, "%s: the quickstart is the README's", b)
			}
		}
	}
	quick, out := Marked(all, MarkQuickstart), Marked(all, MarkQuickstartOutput)
	if assert.Len(t, quick, 1) {
		assert.Equal(t, "sh", quick[0].Lang)
	}
	if assert.Len(t, out, 1) {
		assert.Equal(t, "text", out[0].Lang)
	}
	for _, b := range Marked(all, MarkWithMakeUp) {
		assert.Equal(t, "sh", b.Lang, "%s", b)
		assert.Equal(t, withMakeUp, b.FirstLine(), "%s: its first line says what it needs", b)
	}
	assert.NotEmpty(t, Marked(all, MarkWithMakeUp))
}

// Every document in docs/ is in docs/README.md's contents and in the README's.
func TestEveryDocumentIsInTheContents(t *testing.T) {
	root, all := readAll(t)
	linked := func(from string) []string {
		d, err := Read(root, from)
		require.NoError(t, err)
		var out []string
		for _, l := range d.Links {
			if u, err := url.Parse(l.Target); err == nil && u.Scheme == "" && u.Path != "" {
				out = append(out, path.Clean(path.Join(path.Dir(from), u.Path)))
			}
		}
		return out
	}
	fromIndex, fromReadme := linked("docs/README.md"), linked("README.md")
	for _, d := range all {
		if d.Path == "README.md" || d.Path == "docs/README.md" {
			continue
		}
		assert.True(t, slices.Contains(fromIndex, d.Path), "docs/README.md does not link %s", d.Path)
		assert.True(t, slices.Contains(fromReadme, d.Path), "README.md does not link %s", d.Path)
	}
	assert.True(t, slices.Contains(fromReadme, "docs/README.md"), "README.md links docs/README.md")
}
