// Package docs reads the repository's Markdown documents, README.md and docs/*.md, the way the tests
// that keep them true need them: their fenced code blocks, each with the HTML comment that marks it
// (<!-- quickstart -->, <!-- test: with make up -->), their relative links, and the anchors GitHub
// gives their headings.
//
// The documents' conventions are in docs/README.md ("Conventions"): a block fenced sh runs as
// written on this machine; one that needs a real AWS account is fenced text and says so on its
// first line. This package's tests check the conventions and the links; cmd/demo's
// TestDocsRunAgainstMakeUp runs the marked blocks against what make up starts.
package docs
