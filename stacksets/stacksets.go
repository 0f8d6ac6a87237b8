// Package stacksets holds the StackSet template as committed (make templates writes it from the CDK
// app), for programs that show or serve it, as package templates does the others.
package stacksets

import "embed"

// StackSet is the StackSet template's file name.
const StackSet = "support-gateway-stackset.yaml"

// Files holds the StackSet template, by file name.
//
//go:embed support-gateway-stackset.yaml
var Files embed.FS
