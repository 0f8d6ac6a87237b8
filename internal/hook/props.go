package hook

import (
	"fmt"
	"strings"
)

// managementProps are the Hook properties of templates/management-role.yaml. Stacks made from seed
// 000's template send only RoleArn and AccountId until they are updated.
type managementProps struct {
	RoleArn         string `cfn:"RoleArn,required"`
	AccountID       string `cfn:"AccountId,required"`
	ExternalID      string `cfn:"ExternalId"`
	BoundaryArn     string `cfn:"BoundaryArn"`
	Runbooks        bool   `cfn:"Runbooks"`
	DiagnosticTool  bool   `cfn:"DiagnosticTool"`
	TemplateVersion string `cfn:"TemplateVersion"`
}

// gatewayProps are the Hook properties of templates/support-gateway.json.
type gatewayProps struct {
	RoleArn         string   `cfn:"RoleArn,required"`
	AccountID       string   `cfn:"AccountId,required"`
	TenantToken     string   `cfn:"TenantToken"`
	ProviderArns    []string `cfn:"ProviderArns,required"`
	Runbooks        bool     `cfn:"Runbooks"`
	DiagnosticTool  bool     `cfn:"DiagnosticTool"`
	TemplateVersion string   `cfn:"TemplateVersion"`
}

// arn is the parts of an ARN the rules look at.
type arn struct {
	Partition, Service, Region, Account, Resource string
}

func parseARN(s string) (arn, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" {
		return arn{}, fmt.Errorf("%q is not an ARN", s)
	}
	return arn{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, nil
}
