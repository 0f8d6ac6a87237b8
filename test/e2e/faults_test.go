package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/gateway"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
	"github.com/supportaccess/gateway/test/faultproxy"
)

// The operations of the management flow a fault is injected on, in the order the flow meets them.
var faultOperations = []struct{ service, operation string }{
	{"sts", "AssumeRole"},                  // proving the role, then its credentials
	{"dynamodb", "Query"},                  // the registry: the account's records
	{"iam", "GetRole"},                     // observing the account
	{"iam", "CreateOpenIDConnectProvider"}, // wave 0
	{"iam", "CreatePolicy"},                // wave 0
	{"iam", "CreateRole"},                  // wave 1
	{"iam", "AttachRolePolicy"},            // wave 2
	{"dynamodb", "TransactWriteItems"},     // recording what is about to be created, then registering
	{"s3", "PutObject"},                    // the response to CloudFormation (not the issuer's documents)
	{"iam", "DetachRolePolicy"},            // Delete, wave 0
	{"iam", "DeleteOpenIDConnectProvider"}, // Delete, wave 0
	{"iam", "DeleteRole"},                  // Delete, wave 1
}

// The faults, each transient: the flow must come out SUCCESS after retries.
var transientFaults = []struct {
	name string
	rule faultproxy.Rule
}{
	{"throttled ×2", faultproxy.Rule{Fault: faultproxy.Throttle, Times: 2}},
	{"500 ×2", faultproxy.Rule{Fault: faultproxy.ServerError, Times: 2}},
	{"503 ×2", faultproxy.Rule{Fault: faultproxy.Unavailable, Times: 2}},
	{"reset ×1", faultproxy.Rule{Fault: faultproxy.Reset, Times: 1}},
	{"no answer for 2 s ×1", faultproxy.Rule{Fault: faultproxy.Timeout, Hold: 2 * time.Second, Times: 1}},
	{"+300 ms ×3", faultproxy.Rule{Fault: faultproxy.Latency, Latency: 300 * time.Millisecond, Times: 3}},
	{"denied for 2 s", faultproxy.Rule{Fault: faultproxy.AccessDenied, For: 2 * time.Second}},
}

// TestFaultMatrix runs a management stack's Create and Delete through the real hook binary with a
// fault injected on one operation of the flow, for every operation × fault, each in an account of
// its own. For each it checks the outcome (SUCCESS after retries, or FAILED with a reason before the
// deadline), that exactly one response reached CloudFormation per request, that a successful Create
// left the account exactly as desired and a failed one left nothing, and that the Delete left
// nothing of the vendor's. The matrix is printed as a table (go test -v).
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	e, proxy := newEnvWithFaults(t, buildHook(t))
	results := map[string]map[string]string{}
	n := 0
	for _, op := range faultOperations {
		results[op.operation] = map[string]string{}
		for _, f := range transientFaults {
			n++
			account := fmt.Sprintf("3000000000%02d", n)
			rule := f.rule
			rule.Service, rule.Operation = op.service, op.operation
			if op.service == "s3" {
				rule.PathPrefix = "/" + responseBucket + "/" // the answer, not the issuer's documents
			}
			t.Run(op.operation+"/"+f.name, func(t *testing.T) {
				results[op.operation][f.name] = runFaultScenario(t, e, proxy, account, rule)
			})
		}
	}
	t.Log("\n" + matrixTable(results))
}

// runFaultScenario plays Create then Delete with rule active and returns the matrix cell.
func runFaultScenario(t *testing.T, e *env, proxy *faultproxy.Proxy, account string, rule faultproxy.Rule) string {
	ext := e.onboard(t, account)
	props := e.deployManagementRole(t, account, ext)
	stack := stackARN(account, "doit-management-role")

	injected := 0
	phase := func(requestType, requestID, physicalID string) response {
		proxy.ResetCalls()
		proxy.Inject(rule)
		defer proxy.Clear()
		r := e.newRequest(t, requestType, stack, requestID, props)
		r.PhysicalResourceID = physicalID
		payload := viaSNS(t, r)
		start := time.Now()
		// Lambda retries an asynchronous invocation that returned an error twice: the runner returns
		// one only when no response could be delivered.
		for attempt := 1; ; attempt++ {
			inv, err := e.fn.Invoke(context.Background(), payload, time.Minute)
			require.NoError(t, err)
			if inv.Error == nil {
				break
			}
			require.Less(t, attempt, 3, "Lambda gives up after two retries: %s", inv.Error.Message)
			time.Sleep(time.Second) // Lambda's retry delay is a minute or more; a second is enough here
		}
		require.Less(t, time.Since(start), time.Minute, "answered before the deadline")
		res, ok := e.answer(t, requestID)
		require.True(t, ok, "%s answered", requestType)
		calls := proxy.Calls()
		puts := 0
		for _, c := range calls {
			if c.Service == "s3" && c.Operation == "PutObject" && c.Status == 200 && strings.HasPrefix(c.Path, "/"+responseBucket+"/") {
				puts++
			}
		}
		assert.Equal(t, 1, puts, "exactly one response reached CloudFormation")
		for _, c := range calls {
			if c.Fault != "" {
				injected++
			}
		}
		return res
	}

	created := phase("Create", "create-"+account, "")
	d, o := e.customerState(t, account, policy.Features{}, policy.TemplateVersion)
	cell := created.Status
	if created.Status == "SUCCESS" {
		assert.Empty(t, gateway.Plan(d, o, gateway.Present), "the account is exactly as desired")
		reg, _, err := e.reg.Get(context.Background(), account, registry.Management)
		require.NoError(t, err)
		assert.Equal(t, registry.Registered, reg.Status)
	} else {
		assert.NotEmpty(t, created.Reason)
		assert.Empty(t, gateway.Plan(d, o, gateway.Absent), "a failed Create leaves nothing behind: %s", created.Reason)
		cell += ": " + firstWords(created.Reason, 6)
	}

	physical := created.PhysicalResourceID
	deleted := phase("Delete", "delete-"+account, physical)
	assert.Equal(t, "SUCCESS", deleted.Status, deleted.Reason)
	assert.Positive(t, injected, "the fault was met")
	_, o = e.customerState(t, account, policy.Features{}, policy.TemplateVersion)
	assert.Empty(t, gateway.Plan(d, o, gateway.Absent), "nothing of the vendor's is left after Delete")
	return fmt.Sprintf("%s (%d injected)", cell, injected)
}

func firstWords(s string, n int) string {
	w := strings.Fields(s)
	if len(w) > n {
		w = append(w[:n], "…")
	}
	return strings.Join(w, " ")
}

func matrixTable(results map[string]map[string]string) string {
	var b strings.Builder
	b.WriteString("| operation |")
	for _, f := range transientFaults {
		b.WriteString(" " + f.name + " |")
	}
	b.WriteString("\n|---|")
	for range transientFaults {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, op := range faultOperations {
		b.WriteString("| " + op.service + ":" + op.operation + " |")
		for _, f := range transientFaults {
			b.WriteString(" " + results[op.operation][f.name] + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// A fault that never clears: the management role refuses the vendor for good (the customer edited its
// trust, say). The Create answers FAILED with a reason the customer can act on, within the
// propagation budget and long before CloudFormation's deadline, leaving nothing; its rollback Delete
// succeeds at once.
func TestPersistentRefusalFailsBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	e, proxy := newEnvWithFaults(t, buildHook(t))
	account := "300000000099"
	ext := e.onboard(t, account)
	props := e.deployManagementRole(t, account, ext)
	proxy.Inject(faultproxy.Rule{Service: "sts", Operation: "AssumeRole", Fault: faultproxy.AccessDenied})
	r := e.newRequest(t, "Create", stackARN(account, "doit-management-role"), "create-refused", props)
	start := time.Now()
	e.invoke(t, viaSNS(t, r))
	elapsed := time.Since(start)
	res, ok := e.answer(t, r.RequestID)
	require.True(t, ok)
	assert.Equal(t, "FAILED", res.Status)
	assert.Contains(t, res.Reason, "cannot be assumed with this stack's ExternalId")
	assert.Contains(t, res.Reason, "AccountNumberParameter and ExternalId")
	assert.Less(t, elapsed, 30*time.Second, "the 20 s propagation budget, not CloudFormation's 5 minutes")
	d, o := e.customerState(t, account, policy.Features{}, policy.TemplateVersion)
	assert.Empty(t, gateway.Plan(d, o, gateway.Absent), "nothing was made")

	rollback := e.newRequest(t, "Delete", stackARN(account, "doit-management-role"), "delete-refused", props)
	rollback.PhysicalResourceID = res.PhysicalResourceID
	start = time.Now()
	e.invoke(t, viaSNS(t, rollback))
	res, _ = e.answer(t, rollback.RequestID)
	assert.Equal(t, "SUCCESS", res.Status)
	assert.Less(t, time.Since(start), 5*time.Second, "the Delete of a failed Create succeeds at once")
}

// The management role no longer trusts the vendor when its stack is deleted (the customer edited it,
// say): the Delete still answers SUCCESS, within the propagation budget, and the registry says what
// was left behind, for operators.
func TestDeleteWhenTheRoleIsGoneRecordsLeftovers(t *testing.T) {
	t.Parallel()
	e, proxy := newEnvWithFaults(t, buildHook(t))
	account := "300000000098"
	ext := e.onboard(t, account)
	props := e.deployManagementRole(t, account, ext)
	stack := stackARN(account, "doit-management-role")
	create := e.newRequest(t, "Create", stack, "create-gone", props)
	e.invoke(t, viaSNS(t, create))
	res, _ := e.answer(t, create.RequestID)
	require.Equal(t, "SUCCESS", res.Status, res.Reason)

	proxy.Inject(faultproxy.Rule{Service: "sts", Operation: "AssumeRole", Fault: faultproxy.AccessDenied})
	del := e.newRequest(t, "Delete", stack, "delete-gone", props)
	del.PhysicalResourceID = res.PhysicalResourceID
	start := time.Now()
	e.invoke(t, viaSNS(t, del))
	res, _ = e.answer(t, del.RequestID)
	assert.Equal(t, "SUCCESS", res.Status, "never block the customer's deletion")
	assert.Less(t, time.Since(start), 30*time.Second)
	o, _, err := e.reg.Get(context.Background(), account, registry.Management)
	require.NoError(t, err)
	assert.Equal(t, registry.Deregistered, o.Status)
	d, got := e.customerState(t, account, policy.Features{}, policy.TemplateVersion)
	assert.ElementsMatch(t, []string{d.Role.ARN, d.Policy.ARN, d.Providers[0].ARN, d.Providers[1].ARN}, o.Leftovers)
	assert.NotNil(t, got.Role, "the leftovers are really there, and on record")
}
