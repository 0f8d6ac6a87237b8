package sim

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// Sweep is the vendor's periodic sweep (supportctl sweep) run at a time of the caller's choosing:
// the hook's rules built as the hook Lambda builds them, as the backend role, on a clock that reads
// at. What the hook leaves for later is due minutes to days after the event (a deleted stack's
// registration ends once STS has refused its role for five minutes; its signing keys are retired
// once it can no longer be restored, a week later), which a test cannot wait for. paces are the
// sweep's (a zero field: the default); it returns the lines the sweep printed.
func (a *AWS) Sweep(ctx context.Context, at time.Time, paces hook.Paces) (string, error) {
	logs := io.Discard
	if a.cfg.Logs != nil {
		logs = a.cfg.Logs
	}
	h, _, err := hook.New(a.Backend(), hook.Settings{Vendor: policy.DefaultVendor(), VendorAccountID: VendorAccount,
		Table: RegistryTable, SignerRoleARN: SignerRoleARN, IssuerBucket: IssuerBucket, Paces: paces,
		Budget: sweepBudget, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		return "", err
	}
	clock := func() time.Time { return at }
	h.Clock = clock
	if r, ok := h.Registry.(*registry.Registry); ok {
		r.Now = clock // the paces' windows too
	}
	var out strings.Builder
	err = h.Sweep(ctx, &out)
	return out.String(), err
}

// sweepBudget bounds how long the sweep's proofs retry STS's refusals: moto has nothing to
// propagate, so a refusal is final at once.
const sweepBudget = 2 * time.Second
