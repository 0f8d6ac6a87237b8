package broker_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
)

// Another tenant's refused probes of an account are filed under the prober alone: written under the
// account's audit partition, they were hidden from the owner only by a filter after the read, so a
// customer could grow any account's partition without bound and slow every read of it (found in
// review). The vendor finds them under the prober, the account in the detail.
func TestForeignProbesStayOutOfTheOwnersAuditPartition(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	const prober = "tenant:globex/mallory@globex.example"
	const n = 25
	for range n {
		status, _, _ := api.call("GET", "/requests?account="+acct, prober, "")
		assert.Equal(t, http.StatusNotFound, status)
	}
	foreign := 0
	for _, e := range f.events(t, broker.Filter{Account: acct}) {
		if e.Tenant == "globex" {
			foreign++
		}
	}
	assert.Zero(t, foreign, "%d of globex's refusals are stored in acme's account partition", foreign)
	mine := f.events(t, broker.Filter{Engineer: prober})
	require.Len(t, mine, n, "each refusal is the prober's")
	assert.Equal(t, "account "+acct+" belongs to tenant \"acme\", not \"globex\"", mine[0].Detail)
}
