package console_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/console"
)

// Review: a standing-approval form whose duration is not one the page offers (a tampered select:
// 7200 s, over the console's cap; "x") is refused by the console itself, before the broker: that
// refusal is neither audited nor logged, while the broker's own refusals of the same form (60 s)
// are audited, and the console audits its other refusals (forged forms, another tenant's account
// or token). Every refusal of a state change should leave a REFUSED event under the principal.
func TestReviewStandingFormRefusalsAreAudited(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	token := csrf(t, b.signIn("bob", bobPassword))
	refusals := func() int {
		n := 0
		for _, ev := range e.events(broker.Filter{Engineer: bob}) {
			if ev.Type == broker.EventRefused {
				n++
			}
		}
		return n
	}
	before := refusals()
	b.post(console.Prefix+"standing", url.Values{"csrf": {token}, "account": {acmeAccount}, "max": {"60"}}, nil)
	assert.Equal(t, before+1, refusals(), "the broker's refusal (60 s) is audited")
	for _, bad := range []string{"7200", "x"} {
		before = refusals()
		p := b.post(console.Prefix+"standing", url.Values{"csrf": {token}, "account": {acmeAccount}, "max": {bad}}, nil)
		assert.Contains(t, p.body, "Nothing was changed", bad)
		assert.Equal(t, before+1, refusals(), "the console's refusal of max=%s is audited", bad)
	}
	assert.Contains(t, e.logs.String(), `"max_seconds":7200`, "the refusal of 7200 s is at least logged")
}
