package e2e

import (
	"bytes"
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/policy"
)

// TestRepairAfterDrift: a registered account drifted by hand is shown by the dry run, then repaired
// by the vendor's repair command (the same provisioning step as the hook, on the vendor's config).
func TestRepairAfterDrift(t *testing.T) {
	t.Parallel()
	e := newEnv(t, buildHook(t))
	ctx := context.Background()
	e.registeredManagementStack(t, customerAccount)

	d, _ := e.customerState(t, customerAccount, policy.Features{}, policy.TemplateVersion)
	c := iam.NewFromConfig(e.customer(t, customerAccount))
	_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(d.Role.Name), PolicyArn: aws.String(d.Attachments[0])})
	require.NoError(t, err)
	_, err = c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String(d.Role.Name), MaxSessionDuration: aws.Int32(43200)})
	require.NoError(t, err)

	h, p := e.vendorHook(t)
	var out bytes.Buffer
	require.NoError(t, h.Repair(ctx, p, nil, true, &out))
	assert.Contains(t, out.String(), "111122223333\t2 changes")
	assert.Contains(t, out.String(), "AttachRolePolicy")
	assert.Contains(t, out.String(), "UpdateRole")
	_, still := e.customerState(t, customerAccount, policy.Features{}, policy.TemplateVersion)
	assert.NotEmpty(t, gateway.Plan(d, still, gateway.Present), "the dry run changed nothing")

	out.Reset()
	require.NoError(t, h.Repair(ctx, p, []string{customerAccount}, false, &out))
	assert.Equal(t, "111122223333\tconverged\n", out.String())
	_, fixed := e.customerState(t, customerAccount, policy.Features{}, policy.TemplateVersion)
	assert.Empty(t, gateway.Plan(d, fixed, gateway.Present))
}
