// Package templates holds the customer templates as committed (make templates writes them from the
// CDK app), for programs that show or serve them: the console shows a customer the template before
// it is deployed.
package templates

import "embed"

// Management and Gateway are the file names of the management-role and support-gateway templates.
const (
	Management = "management-role.yaml"
	Gateway    = "support-gateway.json"
)

// Files holds both templates, by file name.
//
//go:embed management-role.yaml support-gateway.json
var Files embed.FS
