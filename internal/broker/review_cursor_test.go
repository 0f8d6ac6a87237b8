package broker_test

import (
	"encoding/base64"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
)

// REVIEW (held): a cursor crafted from another tenant's request key (or taken from another caller's
// list) positions only inside the caller's own partition: no other tenant's request comes back.
func TestReviewCraftedCursorsStayInTheCallersPartition(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	var acme []broker.Request
	for range 3 {
		f.clock.Advance(time.Second)
		acme = append(acme, f.request(t))
	}
	f.clock.Advance(time.Second)
	g, err := f.b.Request(t.Context(), "eve@doit.com", other, ticket, "globex's", time.Hour)
	require.NoError(t, err)
	const globex = "tenant:globex/mallory@globex.example"
	far := "REQUEST#2999-01-01T00:00:00.000000000Z#" + acme[0].ID
	for _, key := range []string{
		"REQUEST#" + acme[2].CreatedAt.UTC().Format("2006-01-02T15:04:05.000000000Z") + "#" + acme[2].ID,
		far,
		"REQUEST#2000-01-01T00:00:00.000000000Z#" + acme[0].ID,
	} {
		c := url.QueryEscape(base64.RawURLEncoding.EncodeToString([]byte(key)))
		for _, who := range []string{globex, "eve@doit.com"} {
			got := ids(api.list("/requests?cursor="+c, who).Requests)
			for _, r := range acme {
				assert.NotContains(t, got, r.ID, "%s with cursor %s", who, key)
			}
		}
		got := ids(api.list("/requests?account="+other+"&cursor="+c, "ops@doit.com").Requests)
		for _, r := range acme {
			assert.NotContains(t, got, r.ID)
		}
	}
	c := url.QueryEscape(base64.RawURLEncoding.EncodeToString([]byte(far)))
	assert.Equal(t, []string{g.ID}, ids(api.list("/requests?cursor="+c, globex).Requests))
}
