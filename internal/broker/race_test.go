package broker_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
)

// A revocation that lands while STS opens the session: the SESSION_ISSUED event is written only
// while the request is still approved, so the credentials STS returned are not handed out (409),
// and the refusal records the session (its key's last four characters, never a secret).
func TestBrokerRevokeWhileTheSessionIsIssued(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	r := f.request(t)
	_, err := f.b.Approve(ctx, approver, r.ID)
	require.NoError(t, err)
	f.sts.during = func() {
		_, err := f.b.Revoke(ctx, "tenant:acme/carol", r.ID, "")
		require.NoError(t, err)
	}

	c, err := f.b.Credentials(ctx, engineer, r.ID)
	require.ErrorIs(t, err, broker.ErrConflict)
	assert.EqualError(t, err, "cannot get credentials for request "+r.ID+": it was revoked by tenant:acme/carol; the session STS opened for it was not handed out")
	assert.Zero(t, c, "no credentials")
	assert.Equal(t, 1, f.sts.count(), "STS had opened the session")

	events := f.events(t, broker.Filter{Account: acct})
	var types []broker.EventType
	for _, e := range events {
		types = append(types, e.Type)
	}
	assert.Equal(t, []broker.EventType{broker.EventRequested, broker.EventApproved, broker.EventTokenMinted,
		broker.EventRevoked, broker.EventRefused}, types, "no SESSION_ISSUED")
	refusal := events[len(events)-1]
	assert.Equal(t, "credentials", refusal.Action)
	assert.Equal(t, err.Error(), refusal.Reason)
	assert.Equal(t, "WXYZ", refusal.AccessKeyLast, "the session STS opened, by its key's last four characters")
	assert.Equal(t, "alice@doit.com-SUP-1234", refusal.SessionName)
	assert.Equal(t, f.clock.Now().Add(time.Hour), refusal.SessionExpiry)
	blob, err := json.Marshal(events)
	require.NoError(t, err)
	for _, secret := range []string{"secret-value", "session-token-value", "ASIAEXAMPLEKEY1"} {
		assert.NotContains(t, string(blob), secret)
	}

	// asked again: refused before any token
	f.sts.during = nil
	_, err = f.b.Credentials(ctx, engineer, r.ID)
	require.ErrorIs(t, err, broker.ErrConflict)
	assert.Equal(t, 1, f.sts.count())
	assert.Equal(t, 1, f.mint.count())
}

// The same over HTTP: 409 with the reason, and no credentials in the answer.
func TestBrokerHTTPRevokeWhileTheSessionIsIssued(t *testing.T) {
	f := newFixture(t)
	api := newAPI(t, f)
	r := f.request(t)
	_, err := f.b.Approve(t.Context(), approver, r.ID)
	require.NoError(t, err)
	f.sts.during = func() {
		status, body, _ := api.call("POST", "/requests/"+r.ID+"/revoke", approver, "")
		require.Equal(t, http.StatusOK, status, body)
	}
	status, body, hdr := api.call("POST", "/requests/"+r.ID+"/credentials", engineer, "")
	assert.Equal(t, http.StatusConflict, status, body)
	assert.JSONEq(t, `{"error":"cannot get credentials for request `+r.ID+`: it was revoked by tenant:acme/bob; the session STS opened for it was not handed out"}`, body)
	assert.Equal(t, "no-store", hdr.Get("Cache-Control"))
	for _, secret := range []string{"secret-value", "session-token-value", "ASIA"} {
		assert.NotContains(t, body, secret)
	}
}

// A revocation that lands while the token is minted: the TOKEN_MINTED event is written only while
// the request is approved, so STS is never asked.
func TestBrokerRevokeWhileTheTokenIsMinted(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	r := f.request(t)
	_, err := f.b.Approve(ctx, approver, r.ID)
	require.NoError(t, err)
	f.mint.during = func() {
		_, err := f.b.Revoke(ctx, approver, r.ID, "")
		require.NoError(t, err)
	}
	_, err = f.b.Credentials(ctx, engineer, r.ID)
	require.ErrorIs(t, err, broker.ErrConflict)
	assert.EqualError(t, err, "cannot get credentials for request "+r.ID+": it was revoked by tenant:acme/bob")
	assert.Zero(t, f.sts.count(), "STS was not asked")
	assert.Zero(t, f.count(t, broker.Filter{Account: acct}, broker.EventTokenMinted))
}

// The approved window ends while STS opens the session: not handed out either.
func TestBrokerWindowEndsWhileTheSessionIsIssued(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	r := f.request(t)
	_, err := f.b.Approve(ctx, approver, r.ID)
	require.NoError(t, err)
	f.clock.Advance(40 * time.Minute)
	f.sts.during = func() { f.clock.Advance(20 * time.Minute) }
	_, err = f.b.Credentials(ctx, engineer, r.ID)
	require.ErrorIs(t, err, broker.ErrConflict)
	assert.EqualError(t, err, "cannot get credentials for request "+r.ID+": it has expired; the session STS opened for it was not handed out")
	assert.Zero(t, f.count(t, broker.Filter{Account: acct}, broker.EventSession))
}
