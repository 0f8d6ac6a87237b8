package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

// loadToken reads the token cached at path, refusing a cache someone else could have read or put
// there (checkCache), and a token past its expiry.
func loadToken(path string, now time.Time) (cachedToken, error) {
	return readToken(path, os.Getuid(), now)
}

// readToken is loadToken for the user uid.
func readToken(path string, uid int, now time.Time) (cachedToken, error) {
	t, err := readCache(path, uid, true)
	if errors.Is(err, errNoCache) {
		return cachedToken{}, errNotSignedIn
	}
	if err != nil {
		return cachedToken{}, err
	}
	if !t.Expiry.IsZero() && !now.Before(t.Expiry) {
		return cachedToken{}, errNotSignedIn
	}
	return t, nil
}

// errNoCache: nothing is at the cache's path (or its directory is missing).
var errNoCache = errors.New("no token cache")

// readCache reads the token cache at path for the user uid, whatever its token's expiry: errNoCache
// when there is none; an error when it is not a cache supportctl login could have written for uid
// (checkCacheDir, checkCacheFile) or holds no token, so that login and logout never replace or
// remove a file that is not one (SUPPORTCTL_TOKEN_FILE=~/.ssh/id_ed25519 supportctl logout). With
// private false, a cache others can read is read all the same (logout removes it: the token may be
// known).
func readCache(path string, uid int, private bool) (cachedToken, error) {
	dir := filepath.Dir(path)
	dirInfo, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return cachedToken{}, errNoCache
	}
	if err != nil {
		return cachedToken{}, fmt.Errorf("token cache: %w", err)
	}
	if err := checkCacheDir(dir, dirInfo, uid); err != nil {
		return cachedToken{}, err
	}
	// Lstat, so that a link is seen as one; the file opened must be the one looked at
	linkInfo, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cachedToken{}, errNoCache
	}
	if err != nil {
		return cachedToken{}, fmt.Errorf("token cache: %w", err)
	}
	if err := checkCacheFile(path, linkInfo, uid, private); err != nil {
		return cachedToken{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return cachedToken{}, fmt.Errorf("token cache: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return cachedToken{}, fmt.Errorf("token cache: %w", err)
	}
	if !os.SameFile(linkInfo, info) {
		return cachedToken{}, fmt.Errorf("token cache: %s was replaced while it was read: run supportctl login", path)
	}
	var t cachedToken
	dec := json.NewDecoder(io.LimitReader(f, maxCacheBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil || t.Token == "" || t.Issuer == "" {
		return cachedToken{}, fmt.Errorf("token cache: %s is not a token cache supportctl wrote: "+
			"set SUPPORTCTL_TOKEN_FILE to another path (if the file is an old cache of yours, remove it), then run supportctl login", path)
	}
	return t, nil
}

// maxCacheBytes bounds what is read of a token cache: a token is a few KiB.
const maxCacheBytes = 256 << 10

// checkCacheDir refuses a directory whose owner is not uid or root, or that group or others can
// write to: they could replace the token with theirs, and the user would act as them.
func checkCacheDir(dir string, info fs.FileInfo, uid int) error {
	if owner, ok := fileOwner(info); ok && owner != uid && owner != 0 {
		return fmt.Errorf("token cache: %s belongs to uid %d, not to you (uid %d) or root: its owner could replace the token; "+
			"if it is yours, run: sudo chown %d %s (or keep the token elsewhere with SUPPORTCTL_TOKEN_FILE)", dir, owner, uid, uid, shellQuote(dir))
	}
	if perm := info.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("token cache: others can write to %s (mode %04o): they could replace the token; "+
			"run: chmod go-w %s (or keep the token elsewhere with SUPPORTCTL_TOKEN_FILE)", dir, perm, shellQuote(dir))
	}
	return nil
}

// checkCacheFile refuses what supportctl login does not write: a symbolic link, anything but a
// regular file, a file whose owner is not uid (someone else's token, under which the user would
// act), and a file group or others can read or write (the token may be known).
func checkCacheFile(path string, info fs.FileInfo, uid int, private bool) error {
	q := shellQuote(path)
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("token cache: %s is a symbolic link: supportctl keeps the token in a regular file of its own; "+
			"set SUPPORTCTL_TOKEN_FILE to another path, then run supportctl login", path)
	case !info.Mode().IsRegular():
		return fmt.Errorf("token cache: %s is not a regular file: move it away, then run supportctl login", path)
	}
	if owner, ok := fileOwner(info); ok && owner != uid {
		return fmt.Errorf("token cache: %s belongs to uid %d, not to you (uid %d): it may hold someone else's token; "+
			"if it is yours, run: sudo chown %d %s; else run: rm %s, then supportctl login", path, owner, uid, uid, q, q)
	}
	if perm := info.Mode().Perm(); private && perm&0o077 != 0 {
		return fmt.Errorf("token cache: %s is open to others (mode %04o, want 0600): run: chmod 600 %s; "+
			"the token may be known, so also run supportctl logout, then supportctl login", path, perm, q)
	}
	return nil
}

// shellQuote is p as a shell word: as is when it has only characters no shell treats specially,
// else in single quotes.
func shellQuote(p string) string {
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+,:@%=", r)) {
			return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
		}
	}
	return p
}

// removeToken deletes the cache at path, only if it is one (readCache), and returns the token it
// held; errNoCache when there is none (already signed out).
func removeToken(path string) (cachedToken, error) {
	t, err := readCache(path, os.Getuid(), false)
	if err != nil {
		return cachedToken{}, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return cachedToken{}, fmt.Errorf("token cache: %w", err)
	}
	return t, nil
}

// tokenEmail is the e-mail claim of a cached JWT, read without verifying it, to say whose token it
// is ("" if it has none); nothing is decided on it.
func tokenEmail(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Email string `json:"email"`
	}
	_ = json.Unmarshal(payload, &c)
	return c.Email
}
