package docs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// Markers name what a block is for, in the HTML comment on the line before its fence.
const (
	// MarkQuickstart is README.md's quickstart: the commands TestDocsRunAgainstMakeUp runs.
	MarkQuickstart = "quickstart"
	// MarkQuickstartOutput is what the quickstart prints, in the order it prints it; "…" stands
	// for what differs from run to run.
	MarkQuickstartOutput = "quickstart output"
	// MarkWithMakeUp is a block TestDocsRunAgainstMakeUp runs against make up.
	MarkWithMakeUp = "test: with make up"
)

// Markers are every marker a document may use.
var Markers = []string{MarkQuickstart, MarkQuickstartOutput, MarkWithMakeUp}

// Block is one fenced code block.
type Block struct {
	File   string // the document's path, relative to the repository's root
	Line   int    // the line of the opening fence, from 1
	Lang   string // the fence's info string, e.g. "sh" or "text"
	Marker string // the HTML comment on the line before the fence, without <!-- -->, or ""
	Text   string // the block's content, every line ending in a newline
}

// FirstLine is the block's first line.
func (b Block) FirstLine() string {
	first, _, _ := strings.Cut(b.Text, "\n")
	return first
}

func (b Block) String() string { return fmt.Sprintf("%s:%d", b.File, b.Line) }

// Link is one inline Markdown link.
type Link struct {
	File   string
	Line   int
	Target string
}

// Document is one Markdown file, read.
type Document struct {
	Path    string          // relative to the repository's root
	Blocks  []Block         // its fenced code blocks, in order
	Links   []Link          // its inline links outside code, in order
	Anchors map[string]bool // the anchors of its headings, as GitHub makes them
}

var (
	fence      = regexp.MustCompile("^(```+)\\s*(\\S*)\\s*$")
	marker     = regexp.MustCompile(`^<!--\s*(.*?)\s*-->$`)
	heading    = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	codeSpan   = regexp.MustCompile("`[^`]*`")
	inlineLink = regexp.MustCompile(`\]\(([^()\s]+)\)`)
)

// Parse reads a document's source.
func Parse(path, src string) (*Document, error) {
	d := &Document{Path: path, Anchors: map[string]bool{}}
	lines := strings.Split(src, "\n")
	seen := map[string]int{}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := fence.FindStringSubmatch(line); m != nil {
			b := Block{File: path, Line: i + 1, Lang: m[2]}
			if i > 0 {
				if mm := marker.FindStringSubmatch(strings.TrimSpace(lines[i-1])); mm != nil {
					b.Marker = mm[1]
				}
			}
			var text strings.Builder
			closed := false
			for i++; i < len(lines); i++ {
				if strings.TrimSpace(lines[i]) == m[1] {
					closed = true
					break
				}
				text.WriteString(lines[i] + "\n")
			}
			if !closed {
				return nil, fmt.Errorf("%s:%d: a code block that is never closed", path, b.Line)
			}
			b.Text = text.String()
			d.Blocks = append(d.Blocks, b)
			continue
		}
		if m := heading.FindStringSubmatch(line); m != nil {
			a := Slug(m[1])
			if n := seen[a]; n > 0 {
				d.Anchors[fmt.Sprintf("%s-%d", a, n)] = true
			} else {
				d.Anchors[a] = true
			}
			seen[a]++
		}
		for _, m := range inlineLink.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, ""), -1) {
			d.Links = append(d.Links, Link{File: path, Line: i + 1, Target: m[1]})
		}
	}
	return d, nil
}

// Slug is the anchor GitHub gives a heading: lower case, code marks and punctuation dropped
// (letters, digits, '_', '-' and spaces stay), spaces made '-'. Duplicates get -1, -2… (Parse).
func Slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Root is the repository's root: the nearest directory above the working directory whose go.mod
// is the module's.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/supportaccess/gateway\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the repository: no go.mod of github.com/supportaccess/gateway above the working directory")
		}
		dir = parent
	}
}

// Paths are the documents these rules hold for, relative to root: README.md and docs/*.md.
func Paths(root string) ([]string, error) {
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	paths := []string{"README.md"}
	for _, d := range docs {
		rel, err := filepath.Rel(root, d)
		if err != nil {
			return nil, err
		}
		paths = append(paths, filepath.ToSlash(rel))
	}
	sort.Strings(paths[1:])
	return paths, nil
}

// Read reads and parses a document, its path relative to root.
func Read(root, path string) (*Document, error) {
	src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
	if err != nil {
		return nil, err
	}
	return Parse(path, string(src))
}

// ReadAll reads every document Paths names.
func ReadAll(root string) ([]*Document, error) {
	paths, err := Paths(root)
	if err != nil {
		return nil, err
	}
	var all []*Document
	for _, p := range paths {
		d, err := Read(root, p)
		if err != nil {
			return nil, err
		}
		all = append(all, d)
	}
	return all, nil
}

// Marked are the blocks of the documents with the marker m, in document order.
func Marked(all []*Document, m string) []Block {
	var out []Block
	for _, d := range all {
		for _, b := range d.Blocks {
			if b.Marker == m {
				out = append(out, b)
			}
		}
	}
	return out
}

// Pattern is a regular expression for one line of expected output: the line as written, with
// each "…" standing for anything on that line.
func Pattern(line string) *regexp.Regexp {
	parts := strings.Split(strings.TrimSpace(line), "…")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(strings.Join(parts, ".*"))
}
