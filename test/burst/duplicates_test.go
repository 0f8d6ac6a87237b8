package burst

import (
	"context"
	"testing"
	"time"

	"github.com/supportaccess/gateway/test/sim"
)

// Every notification delivered twice at once, the two racing on two execution environments, the
// vendor's AWS quotas in force: each account still registers once, to the tenant, with one signing
// key, and the two answers agree.
func TestEveryNotificationTwiceAtOnce(t *testing.T) {
	needBurst(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	const accounts = 40
	b, err := start(ctx, setup{accounts: accounts, serving: sim.SerialDynamoDB, hooks: 20, duplicates: 1,
		preferences: preferences(0), faults: awsQuotas()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := b.a.Close(); err != nil {
			t.Error(err)
		}
	}()
	for _, step := range []func(context.Context) error{b.organize, b.rollOut} {
		if err := step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	o, err := b.verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests, %d delivered twice, %d KMS keys created; quotas: %s\n%s", o.requests, o.duplicates, o.createKeys, o.quotaLine(), b.Costs())
	for what, l := range o.problems() {
		t.Errorf("%s (%d): %v", what, len(l), l)
	}
	if o.duplicates != accounts {
		t.Errorf("%d notifications delivered twice, want every one (%d)", o.duplicates, accounts)
	}
	if o.createKeys != accounts {
		t.Errorf("the hook's KMS CreateKey succeeded %d times, want %d: one key for each account", o.createKeys, accounts)
	}
}
