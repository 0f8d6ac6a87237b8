package broker_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A query pair that does not parse (a ';' in it, a bad %-escape) is refused: url.URL.Query drops it
// silently, so the filter the caller sent was ignored and the answer was the unfiltered list (found
// in review). Every route that reads a query parses it the same way.
func TestUnparsableQueriesAreRefused(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	_, err := f.b.Request(t.Context(), engineer, acct, ticket, "acct's", time.Hour)
	require.NoError(t, err)
	for _, path := range []string{"/requests?account=" + gwAcct + ";", "/requests?account=%zz", "/requests?state=PENDING;&account=" + gwAcct + "%",
		"/audit?account=" + acct + ";", "/pre-approvals?account=%zz", "/requests/req-000000000000000000000000?%zz"} {
		status, body, _ := api.call("GET", path, approver, "")
		assert.Equal(t, http.StatusBadRequest, status, "%s answered %d %s", path, status, body)
		assert.Contains(t, body, "the query does not parse", path)
	}
}
