package auth

import (
	"fmt"
	"strings"
	"unicode"
)

// Identity is the caller, as the verified token names them. Exactly one of Engineer and Tenant is
// set: Verify refuses a token that gives neither role.
type Identity struct {
	Subject  string // sub: the provider's stable ID of the user
	Username string // Cognito's username / cognito:username, else preferred_username; as the token writes it
	Email    string // email, only when email_verified is true; as the token writes it
	Engineer bool   // in the engineer group
	Tenant   string // the tenant whose customer this is; "" for an engineer
	Issuer   string // iss
}

// Principal is the caller in the broker's form, from values the user cannot choose:
//
//   - an engineer: their verified e-mail address;
//   - a customer: "tenant:<tenant>/<verified e-mail>".
//
// identity refuses a token with a role but without a verified e-mail (a Cognito access token has
// none): a customer named by sub could be the vendor's staff unseen (the staff rule reads the
// address), and would be a second name for the person their ID token names.
//
// Never the username or preferred_username: those are chosen (and in some providers changed) by the
// user, so a user named "bob@doit.com" would otherwise be bob@doit.com. The e-mail is what the
// broker's staff rule reads (a customer whose verified address is at a staff domain never decides).
// The e-mail is lower-cased; the tenant is kept as its group spells it, since the registry compares it
// exactly. An Identity without a role has no principal ("").
func (id Identity) Principal() string {
	switch {
	case id.Engineer:
		return strings.ToLower(id.Email)
	case id.Tenant != "" && id.Email != "":
		return "tenant:" + id.Tenant + "/" + strings.ToLower(id.Email)
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// identity maps verified claims to an Identity: the engineer group wins over any tenant group (an
// engineer is never a customer approver); otherwise exactly one tenant group is required.
func (v *Verifier) identity(c claims) (Identity, error) {
	id := Identity{
		Subject:  c.Subject,
		Username: c.username(),
		Email:    c.email(),
		Issuer:   c.Issuer,
	}
	if id.Username == "" && id.Email == "" {
		return Identity{}, refuse(NoUser, "no username, cognito:username or preferred_username, and no verified email")
	}
	var tenants []string
	for _, g := range c.groups {
		if g == v.cfg.EngineerGroup {
			id.Engineer = true
		}
		if t, ok := strings.CutPrefix(g, v.cfg.TenantGroupPrefix); ok {
			tenants = append(tenants, t)
		}
	}
	switch {
	case id.Engineer:
		if id.Email == "" {
			// the engineer's name is their verified address; a Cognito access token has none: send the ID token
			return Identity{}, refuse(EngineerWithoutEmail, "no verified email in an engineer's token")
		}
		if p := id.Principal(); strings.HasPrefix(p, "tenant:") {
			return Identity{}, refuse(NoUser, fmt.Sprintf("an engineer named like a customer principal (%q)", p))
		}
		return id, nil
	case len(tenants) == 0:
		return Identity{}, forbid(id, NoRole, fmt.Sprintf("groups %q have neither %q nor a %q group", c.groups, v.cfg.EngineerGroup, v.cfg.TenantGroupPrefix+"<tenant>"))
	case len(tenants) > 1:
		return Identity{}, forbid(id, TenantAmbiguous, fmt.Sprintf("tenant groups for %q", tenants))
	}
	if err := validTenant(tenants[0]); err != nil {
		return Identity{}, forbid(id, TenantInvalid, fmt.Sprintf("group %q: %v", v.cfg.TenantGroupPrefix+tenants[0], err))
	}
	if id.Email == "" {
		return Identity{}, refuse(CustomerWithoutEmail, "no verified email in a customer's token")
	}
	id.Tenant = tenants[0]
	return id, nil
}

// forbid is the refusal (403) of a verified token whose caller has no role, naming them: their
// verified e-mail address, lower-cased, else "sub:<sub>" (the provider's ID of the user, which they
// cannot choose), at most MaxDetailBytes. Never the username, which they can.
func forbid(id Identity, r Reason, detail string) *Error {
	e := refuse(r, detail)
	e.who = "sub:" + id.Subject
	if id.Email != "" {
		e.who = strings.ToLower(id.Email)
	}
	e.who = Clip(e.who, MaxDetailBytes)
	return e
}

// validTenant: a tenant is written into the principal "tenant:<tenant>/<user>", which the broker
// splits at the first "/"; so no "/", and nothing invisible.
func validTenant(t string) error {
	switch {
	case t == "":
		return fmt.Errorf("the tenant is empty")
	case strings.Contains(t, "/"):
		return fmt.Errorf("a tenant has no %q", "/")
	case strings.ContainsFunc(t, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }):
		return fmt.Errorf("a tenant has no space or control character")
	}
	return nil
}
