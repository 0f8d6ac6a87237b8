package sim

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/supportaccess/gateway/internal/hook"
	"github.com/supportaccess/gateway/internal/issuer"
	"github.com/supportaccess/gateway/internal/policy"
	"github.com/supportaccess/gateway/internal/registry"
)

// What the vendor's operators run with supportctl, on the stand-ins.

// CreateSubjectKey is supportctl issuer create-subject-key, the operator's once-per-vendor-account
// setup before customers onboard: the issuer's pairwise-subject HMAC key. Without it, the first
// proofs each make one, and all but one are scheduled for deletion again (safe, but a burst's first
// proofs then spend a KMS CreateKey each). It returns the key's ID.
func (a *AWS) CreateSubjectKey(ctx context.Context) (string, error) {
	iss, err := issuer.New(issuer.Config{Vendor: policy.DefaultVendor(), Partition: "aws", VendorAccount: VendorAccount,
		SignerRoleARN: SignerRoleARN}, kms.NewFromConfig(a.vendor), &issuer.DynamoStore{DB: dynamodb.NewFromConfig(a.vendor), Table: RegistryTable})
	if err != nil {
		return "", err
	}
	return iss.EnsureSubjectKey(ctx)
}

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
const sweepBudget = 500 * time.Millisecond
