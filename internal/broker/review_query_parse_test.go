package broker_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// REVIEW FINDING (low, correctness): r.URL.Query() drops a pair it cannot parse (a ';' in it, a bad
// %-escape) without error, so checkQuery never sees it: a filter the caller sent is silently
// ignored and the answer is the unfiltered list (200), not a 400.
func TestReviewUnparsableQueryPairsAreIgnored(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	_, err := f.b.Request(t.Context(), engineer, acct, ticket, "acct's", time.Hour)
	require.NoError(t, err)
	for _, q := range []string{"account=" + gwAcct + ";", "account=%zz", "state=PENDING;&account=" + gwAcct + "%"} {
		status, body, _ := api.call("GET", "/requests?"+q, approver, "")
		assert.Equal(t, http.StatusBadRequest, status, "BREAK: ?%s answered %d %s", q, status, body)
	}
}
