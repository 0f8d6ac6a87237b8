package quotas

import (
	"fmt"
	"math"
	"slices"

	"github.com/supportaccess/gateway/test/faultproxy"
)

// Evidence is how sure a figure is.
type Evidence string

const (
	// Documented: read on AWS's own page (a stored copy of it).
	Documented Evidence = "documented"
	// Quoted: AWS's page could not be read here; independent pages quote the figure from it.
	Quoted Evidence = "quoted, unconfirmed"
	// Assumed: AWS documents no figure; the value is this project's assumption (Note says why).
	Assumed Evidence = "assumed"
)

// Scope is whose bucket a quota is.
type Scope string

const (
	// VendorAccount: the vendor account's, per Region; every customer account in a burst
	// shares it, so one rule in front of the vendor models it.
	VendorAccount Scope = "vendor account"
	// CustomerAccount: each customer account's own; a burst of n accounts has n of them, so
	// one shared rule models it only in a test with one customer account.
	CustomerAccount Scope = "each customer account"
)

// Source is a page that documents a figure.
type Source struct {
	Title, URL string
}

// Quota is one of AWS's request-rate quotas, as a token bucket.
type Quota struct {
	// Name is AWS's name for the quota where it has one ("CreateKey request rate").
	Name string
	// Service is the signing name ("kms"), and Operations the operations that share the
	// quota (nil: every operation of the service), as faultproxy.Rule matches them.
	Service    string
	Operations []string
	// Rate is the documented requests a second.
	Rate float64
	// Burst is the bucket's size. AWS documents none of them; the table assumes one second's
	// worth of requests (KMS: "in each one-second interval").
	Burst    int
	Scope    Scope
	Evidence Evidence
	// Reference quotas are documented for the reader only: Rules leaves them out (Note says why).
	Reference bool
	Sources   []Source
	// Note is what the figure depends on, and what was assumed.
	Note string
}

func (q Quota) String() string {
	return fmt.Sprintf("%s %v: %g/s, burst %d (%s, %s)", q.Service, q.Operations, q.Rate, q.Burst, q.Scope, q.Evidence)
}

// Rule is the quota as a faultproxy rate rule at scale: Rate × scale a second, with a burst of
// Burst × scale (at least 1). Scale 1 is AWS's rate; 0.1 runs the same shape with a tenth of
// the calls.
func (q Quota) Rule(scale float64) faultproxy.Rule {
	if !(scale > 0) || math.IsInf(scale, 0) {
		panic(fmt.Sprintf("quotas: scale %v: want a positive number", scale))
	}
	return faultproxy.Rule{
		Service:    q.Service,
		Operations: slices.Clone(q.Operations),
		Rate:       q.Rate * scale,
		Burst:      max(1, int(math.Round(float64(q.Burst)*scale))),
	}
}

// Rules is the quotas in qs, Reference ones left out, as faultproxy rate rules at scale (see
// Quota.Rule), in the order of qs. Inject them before other rules: a rate rule counts only the
// calls that reach it.
func Rules(qs []Quota, scale float64) []faultproxy.Rule {
	var rules []faultproxy.Rule
	for _, q := range qs {
		if !q.Reference {
			rules = append(rules, q.Rule(scale))
		}
	}
	return rules
}

// Vendor is the quotas of the table whose bucket is the vendor account's: the ones a burst of
// customer accounts shares, and the ones a proxy in front of the hook models faithfully.
func Vendor() []Quota { return In(VendorAccount) }

// In is the quotas of the table of one scope.
func In(scope Scope) []Quota {
	var out []Quota
	for _, q := range Table() {
		if q.Scope == scope {
			out = append(out, q)
		}
	}
	return out
}
