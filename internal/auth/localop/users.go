package localop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// User is one person who can sign in to the local OpenID Provider.
type User struct {
	// Username signs in (case-insensitively) and is the token's sub and preferred_username.
	Username string `yaml:"username" json:"username"`
	// Email, when set, is in the tokens as a verified address (email_verified true).
	Email string `yaml:"email" json:"email"`
	// Password, when set, must be given to sign in; when empty the username alone signs in
	// (the provider only listens on a loopback address).
	Password string `yaml:"password" json:"password"`
	// Groups go into the tokens' groups claim, e.g. doit-engineers or tenant:acme.
	Groups []string `yaml:"groups" json:"groups"`
}

// usersFile is the file's shape (YAML; JSON is YAML too):
//
//	users:
//	  - username: alice
//	    email: alice@doit.com
//	    password: alice-local
//	    groups: [doit-engineers]
//	  - username: bob
//	    email: bob@acme.example
//	    groups: ["tenant:acme"]
type usersFile struct {
	Users []User `yaml:"users"`
}

// LoadUsers reads a users file (see usersFile). Unknown fields are refused, so a typo such as
// "group:" fails loudly instead of signing someone in without their role.
func LoadUsers(path string) ([]User, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("localop: reading users: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f usersFile
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("localop: %s: %w", path, err)
	}
	if err := validateUsers(f.Users); err != nil {
		return nil, fmt.Errorf("localop: %s: %w", path, err)
	}
	return f.Users, nil
}

func validateUsers(users []User) error {
	if len(users) == 0 {
		return errors.New("no users")
	}
	seen := map[string]bool{}
	var errs []error
	for i, u := range users {
		key := strings.ToLower(u.Username)
		switch {
		case strings.TrimSpace(u.Username) == "" || u.Username != strings.TrimSpace(u.Username):
			errs = append(errs, fmt.Errorf("user %d: a username without surrounding spaces is required", i+1))
		case seen[key]:
			errs = append(errs, fmt.Errorf("user %d: username %q is taken (usernames are case-insensitive)", i+1, u.Username))
		}
		seen[key] = true
		for _, g := range u.Groups {
			if strings.TrimSpace(g) == "" {
				errs = append(errs, fmt.Errorf("user %q: an empty group", u.Username))
			}
		}
	}
	return errors.Join(errs...)
}
