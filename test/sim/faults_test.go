package sim

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/test/faultproxy"
)

// With Config.FaultProxy the hook's calls pass the fault proxy: KMS's CreateKey throttled twice (a
// quota reached) and DynamoDB slowed down, a gateway stack still registers its account, and the
// proxy saw the throttled calls and the retry that went through.
func TestFaultProxyBeforeTheVendorsEndpoint(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	a, err := Start(ctx, Config{Root: "../..", FaultProxy: true})
	require.NoError(t, err)
	defer func() { assert.NoError(t, a.Close()) }()
	a.Faults().Inject(
		faultproxy.Rule{Service: "kms", Operation: "CreateKey", Fault: faultproxy.Throttle, Times: 2},
		faultproxy.Rule{Service: "dynamodb", Fault: faultproxy.Latency, Latency: 20 * time.Millisecond},
	)
	token, err := a.Registry().IssueTenantToken(ctx, "acme")
	require.NoError(t, err)
	const account = "333344445555"
	_, err = a.CreateStack(ctx, StackInput{Account: account, Name: "support-gateway", Template: GatewayTemplate,
		Parameters: map[string]string{"ServiceToken": HookTopic, "TenantToken": token}})
	require.NoError(t, err)
	require.NoError(t, a.Settle(ctx))
	o, _, err := a.Registry().Get(ctx, account, registry.Gateway)
	require.NoError(t, err)
	assert.Equal(t, registry.Registered, o.Status)

	var throttled, created, slowed int
	for _, c := range a.Faults().Calls() {
		switch {
		case c.Operation == "CreateKey" && c.Fault == "Throttle":
			throttled++
		case c.Operation == "CreateKey" && c.Status == 200:
			created++
		case c.Service == "dynamodb" && c.Fault == "Latency":
			slowed++
		}
	}
	assert.Equal(t, 2, throttled)
	assert.Equal(t, 2, created, "retried until KMS took them: the account's key and the vendor's subject key (its first proof)")
	assert.Positive(t, slowed)
	keys, err := a.KeyStates(ctx, account)
	require.NoError(t, err)
	assert.Equal(t, []string{"Enabled"}, keys, "one key, for all the retries")
}
