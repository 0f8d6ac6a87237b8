package broker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
	"github.com/supportaccess/gateway/internal/issuer"
)

// failingMinter fails as KMS does when the signer role is denied: the error names the vendor's
// account, role and key.
type failingMinter struct{}

const vendorSecretText = "arn:aws:kms:us-east-1:999988887777:key/0b9c-vendor-key"

func (failingMinter) Mint(context.Context, string, issuer.Claims) (string, error) {
	return "", errors.New("operation error KMS: Sign, https response error StatusCode: 400, AccessDeniedException: " +
		"User: arn:aws:sts::999988887777:assumed-role/DoiT-Support-Broker/issuer is not authorized to perform: kms:Sign on resource: " +
		vendorSecretText)
}

// A FAILED event (an AWS or issuer error) is the customer's too, but its error is the vendor's: the
// customer reads that it failed and nothing was issued, never the raw AWS error (the vendor's
// account ID, role and key ARNs), which the vendor's view keeps as the detail. Found in review.
func TestFailedEventsShowCustomersNoVendorDetail(t *testing.T) {
	f := newFixture(t)
	r := f.request(t)
	_, err := f.b.Approve(t.Context(), approver, r.ID)
	require.NoError(t, err)

	db, table := f.db, f.table
	b, err := broker.New(broker.Config{}, f.reg, failingMinter{}, f.sts, db, table)
	require.NoError(t, err)
	b.SetClock(func() time.Time { return f.clock.Now().Add(time.Minute) })
	_, err = b.Credentials(t.Context(), engineer, r.ID)
	require.Error(t, err)

	f.b = b
	api := newAPI(t, f)
	status, body, _ := api.call("GET", "/audit?account="+acct, approver, "")
	require.Equal(t, 200, status, body)
	assert.Contains(t, body, `"FAILED"`)
	assert.NotContains(t, body, "999988887777", "the customer reads no raw AWS error")
	assert.Contains(t, body, `"reason":"internal error: nothing was issued or changed"`)
	status, body, _ = api.call("GET", "/audit?account="+acct, "ops@doit.com", "")
	require.Equal(t, 200, status, body)
	assert.Contains(t, body, vendorSecretText, "the vendor's view keeps the error as the detail")
}
