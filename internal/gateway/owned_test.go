package gateway

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOwnership(t *testing.T) {
	d := DesiredState(vendor, acct, opts)
	full := converged(d)
	providersOnly := Observed{Providers: full.Providers}
	primary, standby := d.Providers[0].ARN, d.Providers[1].ARN

	assert.Empty(t, Unowned(d, Observed{}, nil), "an empty account")
	assert.ElementsMatch(t, []string{primary, standby}, Unowned(d, providersOnly, nil), "the support-gateway stack's providers are not ours")
	assert.Empty(t, Unowned(d, full, d.ARNs()))
	assert.Equal(t, []string{standby}, Unowned(d, full, []string{d.Role.ARN, d.Policy.ARN, primary}))

	// towards Absent, what is not ours is not there
	assert.Empty(t, Plan(d, OnlyOwned(d, providersOnly, nil), Absent), "never delete the other stack's providers")
	mine := OnlyOwned(d, full, []string{d.Role.ARN, d.Policy.ARN})
	got := Plan(d, mine, Absent)
	for _, s := range got {
		assert.NotEqual(t, DeleteProvider, s.Op, "%s", s)
	}
	assert.Contains(t, got, Step{1, DeleteRole, d.Role.ARN, ""})
	assert.Equal(t, Plan(d, full, Absent), Plan(d, OnlyOwned(d, full, d.ARNs()), Absent), "owning everything changes nothing")

	// what a plan creates
	assert.Equal(t, d.ARNs(), Creates(Plan(d, Observed{}, Present)))
	wrongClients := converged(d)
	wrongClients.Providers[primary] = &ObservedProvider{ClientIDs: []string{"someone-else"}}
	assert.Equal(t, []string{primary}, Creates(Plan(d, wrongClients, Present)), "a recreated provider is created")
	assert.Empty(t, Creates(Plan(d, full, Present)))
}

// Issue 9 B.1 against moto: the support-gateway stack's providers exist in the account; the
// management flow's reconcile refuses before any change, and its Absent reconcile never deletes them.
func TestReconcileNeverTakesOrDeletesWhatItDidNotCreate(t *testing.T) {
	a := newAccount(t)
	ctx := t.Context()
	d := DesiredState(vendor, a.target(), opts)
	for _, p := range d.Providers { // the customer's support-gateway stack made these
		_, err := a.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
			Url: aws.String(p.URL), ClientIDList: p.ClientIDs})
		require.NoError(t, err)
	}
	a.rec.Owned = []string{}
	claimed := 0
	a.rec.Claim = func(context.Context, []string) error { claimed++; return nil }
	_, err := a.rec.Reconcile(ctx, d, Present)
	var notOwned *NotOwnedError
	require.ErrorAs(t, err, &notOwned)
	assert.ElementsMatch(t, []string{d.Providers[0].ARN, d.Providers[1].ARN}, notOwned.ARNs)
	assert.Empty(t, a.log.mutations(), "refused before any change")
	assert.Zero(t, claimed)

	_, err = a.rec.Reconcile(ctx, d, Absent)
	require.NoError(t, err)
	assert.Empty(t, a.log.mutations(), "nothing of the vendor's, nothing deleted")
	for _, p := range d.Providers {
		_, err := a.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(p.ARN)})
		assert.NoError(t, err, "the support-gateway stack's provider is still there")
	}
}

// What a reconcile creates is claimed before it is created, and a claim that cannot be recorded
// stops the reconcile before any creation.
func TestReconcileClaimsBeforeCreating(t *testing.T) {
	a := newAccount(t)
	ctx := t.Context()
	d := DesiredState(vendor, a.target(), opts)
	a.rec.Owned = []string{}
	a.rec.Claim = func(context.Context, []string) error { return errors.New("the registry is down") }
	_, err := a.rec.Reconcile(ctx, d, Present)
	require.ErrorContains(t, err, "the registry is down")
	assert.Empty(t, a.log.mutations())

	var claims [][]string
	a.rec.Claim = func(_ context.Context, arns []string) error {
		assert.Empty(t, a.log.mutations(), "claimed before anything is created")
		claims = append(claims, arns)
		return nil
	}
	_, err = a.rec.Reconcile(ctx, d, Present)
	require.NoError(t, err)
	assert.Equal(t, [][]string{d.ARNs()}, claims)
	assert.Equal(t, d.ARNs(), a.rec.Owned)

	// with what it owns recorded, it removes all of it
	a.log.reset()
	_, err = a.rec.Reconcile(ctx, d, Absent)
	require.NoError(t, err)
	o, err := Observe(ctx, a.iam, d)
	require.NoError(t, err)
	assert.Empty(t, Plan(d, o, Absent), "nothing left")
}
