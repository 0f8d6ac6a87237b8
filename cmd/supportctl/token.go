package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// errNotSignedIn is what every broker command says when there is no usable token: no cache, an
// expired token, or a token the server refused (401).
var errNotSignedIn = errors.New("not signed in or the token expired: run supportctl login")

// cachedToken is what supportctl login keeps between commands: the bearer token it sends to the
// API, and where it came from. The file is the user's alone, like ~/.aws/credentials: mode 0600 in
// a directory of mode 0700.
type cachedToken struct {
	Issuer   string `json:"issuer"`
	ClientID string `json:"clientId"`
	// Token is the bearer token the API gets: the ID token when the provider gave one (it names the
	// person by their verified e-mail address), else the access token.
	Token  string    `json:"token"`
	Expiry time.Time `json:"expiry,omitzero"`
}

// tokenPath is where the token is cached: SUPPORTCTL_TOKEN_FILE, else
// $XDG_CONFIG_HOME/supportctl/token.json, else ~/.config/supportctl/token.json.
func tokenPath(getenv func(string) string) (string, error) {
	if p := getenv("SUPPORTCTL_TOKEN_FILE"); p != "" {
		return p, nil
	}
	if dir := getenv("XDG_CONFIG_HOME"); dir != "" {
		return filepath.Join(dir, "supportctl", "token.json"), nil
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".config", "supportctl", "token.json"), nil
	}
	return "", errors.New("where to keep the token? set SUPPORTCTL_TOKEN_FILE, XDG_CONFIG_HOME or HOME")
}

// saveToken writes t to path with mode 0600, creating its directory with mode 0700. The file is
// written whole to a temporary file beside it and renamed, so a reader never sees half a token.
func saveToken(path string, t cachedToken) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	if info.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("token cache: others can write to %s (mode %04o): choose another place with SUPPORTCTL_TOKEN_FILE", dir, info.Mode().Perm())
	}
	body, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".token-*") // mode 0600
	if err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	defer os.Remove(f.Name()) // after the rename, nothing is there
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return fmt.Errorf("token cache: %w", err)
	}
	if _, err := f.Write(append(body, '\n')); err != nil {
		_ = f.Close()
		return fmt.Errorf("token cache: writing %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("token cache: writing %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	return nil
}

// loadToken reads the token cached at path. It refuses a file others can read or write (someone
// else may have read the token, or put theirs there) and a token past its expiry.
func loadToken(path string, now time.Time) (cachedToken, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cachedToken{}, errNotSignedIn
	}
	if err != nil {
		return cachedToken{}, fmt.Errorf("token cache: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return cachedToken{}, fmt.Errorf("token cache: %w", err)
	}
	if !info.Mode().IsRegular() {
		return cachedToken{}, fmt.Errorf("token cache: %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return cachedToken{}, fmt.Errorf("token cache: %s is open to others (mode %04o, want 0600): the token may be known; "+
			"run supportctl logout, then supportctl login", path, perm)
	}
	var t cachedToken
	if err := json.NewDecoder(f).Decode(&t); err != nil || t.Token == "" {
		return cachedToken{}, fmt.Errorf("token cache: %s holds no token: run supportctl login", path)
	}
	if !t.Expiry.IsZero() && !now.Before(t.Expiry) {
		return cachedToken{}, errNotSignedIn
	}
	return t, nil
}

// removeToken deletes the cache; a missing one is fine (already signed out).
func removeToken(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("token cache: %w", err)
	}
	return nil
}
