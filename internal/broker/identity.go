package broker

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Who a principal is, for the rules that compare people: a requester never decides on their own
// request, and the vendor's staff never decide for a customer.
//
// Principals are compared as normalized identities, never as strings: "ALICE@DOIT.COM",
// "ａｌｉｃｅ@doit.com" (full-width) and "alice\u200b@doit.com" (a zero-width space) are all
// alice@doit.com. The stored principal stays as the sign-in gave it; only the rules compare the
// normal forms.

// DefaultStaffDomains are the vendor's staff e-mail domains (Config.StaffDomains) of the source
// documents.
var DefaultStaffDomains = []string{"doit.com"}

// NormalizeIdentity is the form in which the broker compares identities: the text without its
// invisible characters (Unicode's default-ignorable code points: format characters, category Cf,
// such as zero-width spaces and joiners, bidirectional controls and soft hyphens; variation
// selectors; Hangul fillers and the combining grapheme joiner), in compatibility composition
// (NFKC: full-width and other compatibility forms become the plain characters), case folded, and
// without white space at either end. It is Unicode's NFKC_Casefold, plus the trim.
func NormalizeIdentity(s string) string {
	s = strings.Map(dropIgnorable, s)
	s = norm.NFKC.String(s)
	s = cases.Fold().String(s) // a Caser keeps state: one per call
	s = norm.NFKC.String(s)    // folding can leave text that NFKC composes further
	s = strings.Map(dropIgnorable, s)
	return strings.TrimFunc(s, unicode.IsSpace)
}

// invisible reports a default-ignorable code point: a character that renders as nothing, so that
// two identities differing only by it look the same.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

func dropIgnorable(r rune) rune {
	if invisible(r) {
		return -1
	}
	return r
}

// tenantPrincipal parses a customer principal "tenant:<tenant>/<user>".
func tenantPrincipal(p string) (tenant, user string, ok bool) {
	rest, ok := strings.CutPrefix(p, "tenant:")
	if !ok {
		return "", "", false
	}
	tenant, user, ok = strings.Cut(rest, "/")
	return tenant, user, ok && tenant != "" && user != ""
}

// person is the identity of a principal: the user part of a customer principal, the whole of any
// other, normalized.
func person(principal string) string {
	if _, user, ok := tenantPrincipal(principal); ok {
		return NormalizeIdentity(user)
	}
	return NormalizeIdentity(principal)
}

// samePerson reports whether two principals name one person: "tenant:acme/alice@doit.com" is the
// engineer alice@doit.com.
func samePerson(a, b string) bool { return person(a) == person(b) }

// staffDomain returns the staff domain a normalized identity is an e-mail address at (the domain
// itself or a subdomain of it), or "".
func (b *Broker) staffDomain(identity string) string {
	at := strings.LastIndexByte(identity, '@')
	if at < 0 {
		return ""
	}
	// U+3002 (。), the ideographic full stop, separates domain labels as "." does (UTS #46); NFKC
	// has already made U+FF0E and U+FF61 into it or into "."
	domain := strings.TrimSuffix(strings.ReplaceAll(identity[at+1:], "\u3002", "."), ".")
	for _, d := range b.cfg.StaffDomains {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return d
		}
	}
	return ""
}

// MayActForCustomer says why the customer principal p cannot decide for, or configure, its tenant
// (a refusal of ErrForbidden), or nil: its user is one of the vendor's staff (Config.StaffDomains).
// The console asks it before the changes it makes without the broker (tenant tokens, links).
func (b *Broker) MayActForCustomer(p string) error { return b.mayActForCustomer(p) }

// mayActForCustomer says why the customer principal p cannot decide for its tenant, or nil: its user
// is one of the vendor's staff.
func (b *Broker) mayActForCustomer(p string) error {
	if d := b.staffDomain(person(p)); d != "" {
		return refuse(ErrForbidden, "%q is an address at %s, a domain of the vendor's staff: the vendor's staff never decide for a customer", p, d)
	}
	return nil
}

// ValidateStaffDomains says why domains cannot be Config.StaffDomains, or nil: each must be a
// domain name with at least two labels, without "@", "/" or spaces.
func ValidateStaffDomains(domains []string) error {
	_, err := normalizeStaffDomains(domains)
	return err
}

// normalizeStaffDomains checks and normalizes Config.StaffDomains.
func normalizeStaffDomains(domains []string) ([]string, error) {
	out := make([]string, 0, len(domains))
	for _, d := range domains {
		n := strings.TrimSuffix(NormalizeIdentity(d), ".")
		if n == "" || strings.ContainsAny(n, "@/ ") || !strings.Contains(n, ".") || strings.HasPrefix(n, ".") || strings.Contains(n, "..") {
			return nil, fmt.Errorf("staff domain %q is not a domain name such as doit.com", d)
		}
		out = append(out, n)
	}
	return out, nil
}
