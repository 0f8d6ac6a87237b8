package hook

// With awsx.PatientRetryer a throttled KMS CreateKey can wait until its context ends. A management
// Create's key is made within the time that leaves the undo its reserve (withUndoReserve), as its
// IAM resources are: a key that waited for the handler's whole context ran the undo after the
// deadline the watchdog answers at, when Lambda may freeze the process (found in review).

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/supportaccess/gateway/internal/cfnresource"
	"github.com/supportaccess/gateway/internal/issuer"
)

// throttledKeys is KMS CreateKey behind PatientRetryer while KMS keeps refusing: it waits for its
// context, then fails with the context's error.
type throttledKeys struct{ *keysFake }

func (throttledKeys) CreateAccountKey(ctx context.Context, _ string) (issuer.KeyRecord, error) {
	<-ctx.Done()
	return issuer.KeyRecord{}, ctx.Err()
}

func TestAKeyThrottledUntilTheDeadlineLeavesTimeToUndo(t *testing.T) {
	f := newFixture(t)
	f.pending(t)
	f.hook.Keys = throttledKeys{f.keys}
	ctx, cancel := context.WithTimeout(t.Context(), 900*time.Millisecond)
	defer cancel()
	deadline, _ := ctx.Deadline()
	_, err := f.hook.Create(ctx, mgmtEvent(cfnresource.Create, stackA, nil))
	returned := time.Now()
	t.Logf("Create returned %s after the deadline: %v", returned.Sub(deadline), err)
	assert.Len(t, f.prov.removed, 1, "what the Create made is undone")
	assert.True(t, returned.Before(deadline), "the handler (its undo included) returned before the deadline the watchdog answers at")
}
