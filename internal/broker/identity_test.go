package broker_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/supportaccess/gateway/internal/broker"
)

// The spellings of alice@doit.com that look like it, or that a careless comparison takes for
// someone else, are all alice@doit.com.
var aliceVariants = map[string]string{
	"upper case":                     "ALICE@DOIT.COM",
	"mixed case":                     "Alice@Doit.Com",
	"full-width letters":             "ａｌｉｃｅ@doit.com",
	"full-width everything":          "ａｌｉｃｅ＠ｄｏｉｔ．ｃｏｍ",
	"zero-width space":               "alice\u200b@doit.com",
	"zero-width joiner":              "al\u200dice@doit.com",
	"zero-width non-joiner":          "alice\u200c@doit.com",
	"word joiner":                    "alice\u2060@doit.com",
	"byte order mark":                "\ufeffalice@doit.com",
	"soft hyphen":                    "ali\u00adce@doit.com",
	"right-to-left override":         "\u202ealice@doit.com\u202c",
	"variation selector":             "alice\ufe0f@doit.com",
	"combining grapheme joiner":      "alice\u034f@doit.com",
	"Hangul filler":                  "alice\u3164@doit.com",
	"tag characters":                 "alice@doit.com\U000E0041\U000E007F",
	"no-break space at the end":      "alice@doit.com\u00a0",
	"mathematical bold letters":      "\U0001d41a\U0001d425\U0001d422\U0001d41c\U0001d41e@doit.com",
	"circled letters":                "ⓐⓛⓘⓒⓔ@doit.com",
	"fullwidth upper and zero-width": "ＡＬ\u200bＩＣＥ@DOIT.COM",
}

func TestNormalizeIdentity(t *testing.T) {
	for name, v := range aliceVariants {
		assert.Equal(t, "alice@doit.com", broker.NormalizeIdentity(v), name)
	}
	for name, tc := range map[string]struct{ in, want string }{
		"ß folds to ss":                 {"STRAßE@x.de", "strasse@x.de"},
		"ligature":                      {"ﬁona@x.de", "fiona@x.de"},
		"Kelvin sign":                   {"\u212aate@x.de", "kate@x.de"},
		"dotted capital I stays dotted": {"ALİCE@doit.com", "ali\u0307ce@doit.com"},
	} {
		assert.Equal(t, tc.want, broker.NormalizeIdentity(tc.in), name)
	}
	// different people stay different (a look-alike letter of another script is another letter:
	// NFKC maps compatibility forms, not confusables)
	for _, other := range []string{"alice@doit.co", "alice2@doit.com", "\u0430lice@doit.com", "ali ce@doit.com"} {
		assert.NotEqual(t, "alice@doit.com", broker.NormalizeIdentity(other), other)
	}
}

// A customer principal naming the requester, in any spelling, cannot decide on (or dismiss, or
// revoke) their request: the own-request rule compares normalized identities.
func TestBrokerOwnRequestRuleComparesIdentities(t *testing.T) {
	// example.org as the only staff domain, so that the own-request rule itself answers
	f := newFixtureWith(t, broker.Config{StaffDomains: []string{"example.org"}})
	r := f.request(t)
	decide := map[string]func(approver, id string) (broker.Request, error){
		"approve": func(a, id string) (broker.Request, error) { return f.b.Approve(t.Context(), a, id) },
		"dismiss": func(a, id string) (broker.Request, error) {
			return f.b.Dismiss(t.Context(), a, id, "not covered by the contract")
		},
		"revoke": func(a, id string) (broker.Request, error) { return f.b.Revoke(t.Context(), a, id, "") },
	}
	variants := map[string]string{"exactly": engineer}
	for k, v := range aliceVariants {
		variants[k] = v
	}
	for name, v := range variants {
		for action, fn := range decide {
			for _, approver := range []string{"tenant:acme/" + v, v} {
				_, err := fn(approver, r.ID)
				require.ErrorIs(t, err, broker.ErrForbidden, "%s %s by %q", name, action, approver)
				assert.EqualError(t, err, "you cannot decide on your own request "+r.ID, "%s %s by %q", name, action, approver)
				refusal := lastRefusal(t, f.events(t, broker.Filter{Account: acct}))
				assert.Equal(t, action, refusal.Action)
				assert.Equal(t, approver, refusal.Actor, "the audit keeps the principal as given")
			}
		}
	}
	got, err := f.b.Get(t.Context(), r.ID)
	require.NoError(t, err)
	assert.Equal(t, broker.Pending, got.State, "nothing was decided")

	// over HTTP: 403
	api := newAPI(t, f)
	status, body, _ := api.call("POST", "/requests/"+r.ID+"/approve", "tenant:acme/ａｌｉｃｅ@doit.com", "")
	assert.Equal(t, http.StatusForbidden, status, body)
	assert.JSONEq(t, `{"error":"you cannot decide on your own request `+r.ID+`"}`, body)

	// someone else of acme still decides
	_, err = f.b.Approve(t.Context(), approver, r.ID)
	require.NoError(t, err)
}

// The vendor's staff never decide for a customer, whichever tenant their principal names and however
// the address is spelled.
func TestBrokerVendorStaffNeverDecide(t *testing.T) {
	staff := map[string]string{
		"the vendor's domain":        "tenant:acme/bob@doit.com",
		"upper case":                 "tenant:acme/Bob@DOIT.COM",
		"a subdomain":                "tenant:acme/bob@eu.doit.com",
		"a trailing dot":             "tenant:acme/bob@doit.com.",
		"full-width":                 "tenant:acme/ｂｏｂ＠ｄｏｉｔ．ｃｏｍ",
		"ideographic full stop":      "tenant:acme/bob@doit\u3002com",
		"halfwidth ideographic stop": "tenant:acme/bob@doit\uff61com",
		"zero-width space in domain": "tenant:acme/bob@do\u200bit.com",
		"quoted local part with @":   `tenant:acme/"bob@x"@doit.com`,
	}
	reason := "a domain of the vendor's staff: the vendor's staff never decide for a customer"
	for name, p := range staff {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			r := f.request(t)
			for action, fn := range map[string]func() error{
				"approve":     func() error { _, err := f.b.Approve(t.Context(), p, r.ID); return err },
				"dismiss":     func() error { _, err := f.b.Dismiss(t.Context(), p, r.ID, "not covered by the contract"); return err },
				"revoke":      func() error { _, err := f.b.Revoke(t.Context(), p, r.ID, ""); return err },
				"pre-approve": func() error { _, err := f.b.PreApprove(t.Context(), p, acct, time.Hour); return err },
			} {
				err := fn()
				require.ErrorIs(t, err, broker.ErrForbidden, action)
				assert.ErrorContains(t, err, reason, action)
				assert.ErrorContains(t, err, "doit.com", action)
				refusal := lastRefusal(t, f.events(t, broker.Filter{Account: acct}))
				assert.Equal(t, action, refusal.Action)
				assert.Equal(t, err.Error(), refusal.Reason)
			}
			got, err := f.b.Get(t.Context(), r.ID)
			require.NoError(t, err)
			assert.Equal(t, broker.Pending, got.State)
			assert.Equal(t, broker.Pending, f.request(t).State, "no standing approval was set")

			status, body, _ := newAPI(t, f).call("POST", "/requests/"+r.ID+"/approve", p, "")
			assert.Equal(t, http.StatusForbidden, status, body)
			assert.Contains(t, body, reason)
		})
	}
	// customers' own addresses, however close to the vendor's, decide
	for _, p := range []string{"tenant:acme/bob@notdoit.com", "tenant:acme/bob@doit.com.example.org", "tenant:acme/bob",
		"tenant:acme/doit.com", "tenant:acme/bob@doit.co"} {
		f := newFixture(t)
		r := f.request(t)
		_, err := f.b.Approve(t.Context(), p, r.ID)
		assert.NoError(t, err, p)
	}
}

// Config.StaffDomains names the vendor's domains; the default is doit.com.
func TestBrokerStaffDomainsConfig(t *testing.T) {
	f := newFixtureWith(t, broker.Config{StaffDomains: []string{"DOIT-INTL.COM", "doit.com"}})
	r := f.request(t)
	_, err := f.b.Approve(t.Context(), "tenant:acme/carol@doit-intl.com", r.ID)
	require.ErrorIs(t, err, broker.ErrForbidden)
	assert.ErrorContains(t, err, "an address at doit-intl.com")
	for _, bad := range []string{"@doit.com", "doit", ".doit.com", "doit..com", "doit.com/x", " "} {
		_, err := broker.New(broker.Config{StaffDomains: []string{bad}}, newRegistry(), &fakeMinter{}, &fakeSTS{}, nil, "t")
		assert.ErrorContains(t, err, "is not a domain name", bad)
	}
}

// A standing approval set by the requester, or by the vendor's staff (stored before the staff rule
// named its domain), does not approve a request: it waits for a customer's decision.
func TestBrokerStandingApprovalNeverApprovesItsOwnApprover(t *testing.T) {
	lenient := newFixtureWith(t, broker.Config{StaffDomains: []string{"example.org"}})
	_, err := lenient.b.PreApprove(t.Context(), "tenant:acme/ALICE@doit.com", acct, time.Hour)
	require.NoError(t, err, "doit.com is not a staff domain in this configuration")
	r, err := lenient.b.Request(t.Context(), engineer, acct, ticket, "why", time.Hour)
	require.NoError(t, err)
	assert.Equal(t, broker.Pending, r.State, "the standing approval is alice's own")
	r, err = lenient.b.Request(t.Context(), "carol@doit.com", acct, ticket, "why", time.Hour)
	require.NoError(t, err)
	assert.Equal(t, broker.Approved, r.State, "it approves anyone else's")

	strict, err := broker.New(broker.Config{}, lenient.reg, lenient.mint, lenient.sts, lenient.db, lenient.table)
	require.NoError(t, err)
	r, err = strict.Request(t.Context(), "carol@doit.com", acct, ticket, "why", time.Hour)
	require.NoError(t, err)
	assert.Equal(t, broker.Pending, r.State, "its approver is one of the vendor's staff")
}
