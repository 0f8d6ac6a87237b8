package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nobody is a user ID that is not the test's (the conventional nobody).
const nobody = 65534

// TestLoadTokenRefusesAnUnsafeCache: the token is read only from a regular file of the user's own,
// mode 0600, in a directory only they (or root) can change; anything else is refused with the
// command that fixes it, and nothing is read from it.
func TestLoadTokenRefusesAnUnsafeCache(t *testing.T) {
	now := time.Now()
	// cache writes a cached token as saveToken does: token.json, 0600, in a 0700 directory.
	cache := func(t *testing.T) (dir, path string) {
		dir = filepath.Join(t.TempDir(), "supportctl")
		path = filepath.Join(dir, "token.json")
		require.NoError(t, saveToken(path, cachedToken{Issuer: "https://idp.example", Token: "tok", Expiry: now.Add(time.Hour)}))
		return dir, path
	}
	me := os.Getuid()

	t.Run("as saveToken writes it", func(t *testing.T) {
		_, path := cache(t)
		tok, err := loadToken(path, now)
		require.NoError(t, err)
		assert.Equal(t, "tok", tok.Token)
	})
	for _, mode := range []os.FileMode{0o640, 0o604, 0o620, 0o602, 0o660, 0o644} {
		t.Run("file mode "+mode.String(), func(t *testing.T) {
			_, path := cache(t)
			require.NoError(t, os.Chmod(path, mode))
			_, err := loadToken(path, now)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "is open to others")
			assert.Contains(t, err.Error(), "chmod 600 "+path)
		})
	}
	for _, mode := range []os.FileMode{0o770, 0o707, 0o730, 0o777, os.ModeSticky | 0o777} {
		t.Run("directory mode "+mode.String(), func(t *testing.T) {
			dir, path := cache(t)
			require.NoError(t, os.Chmod(dir, mode))
			_, err := loadToken(path, now)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "others can write to "+dir)
			assert.Contains(t, err.Error(), "chmod go-w "+dir)
		})
	}
	t.Run("a directory others can read is fine", func(t *testing.T) {
		dir, path := cache(t)
		require.NoError(t, os.Chmod(dir, 0o755))
		_, err := loadToken(path, now)
		require.NoError(t, err)
	})
	t.Run("a symbolic link to a safe file", func(t *testing.T) {
		dir, target := cache(t)
		link := filepath.Join(dir, "link.json")
		require.NoError(t, os.Symlink(target, link))
		_, err := loadToken(link, now)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "is a symbolic link")
		assert.NotContains(t, err.Error(), "rm ", "never a removal of a path supportctl did not write")
	})
	t.Run("a symbolic link to nothing", func(t *testing.T) {
		dir, _ := cache(t)
		link := filepath.Join(dir, "dangling.json")
		require.NoError(t, os.Symlink(filepath.Join(dir, "nothing"), link))
		_, err := loadToken(link, now)
		assert.ErrorContains(t, err, "is a symbolic link")
	})
	t.Run("not a regular file", func(t *testing.T) {
		dir, _ := cache(t)
		sub := filepath.Join(dir, "sub")
		require.NoError(t, os.Mkdir(sub, 0o700))
		_, err := loadToken(sub, now)
		assert.ErrorContains(t, err, "is not a regular file")
	})
	t.Run("the file is another user's", func(t *testing.T) {
		// as another user would see it: the file, and its directory, are not theirs
		_, path := cache(t)
		_, err := readToken(path, nobody, now)
		assert.ErrorContains(t, err, "not to you (uid 65534)")
	})
	t.Run("the file is another user's, for real", func(t *testing.T) {
		if me != 0 {
			t.Skip("only root can give a file away; the case above covers the check")
		}
		_, path := cache(t)
		require.NoError(t, os.Lchown(path, nobody, nobody))
		_, err := loadToken(path, now)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "belongs to uid 65534, not to you (uid 0)")
		assert.Contains(t, err.Error(), "sudo chown 0 "+path)
	})
	t.Run("the directory is another user's", func(t *testing.T) {
		if me != 0 {
			t.Skip("only root can give a directory away")
		}
		dir, path := cache(t)
		require.NoError(t, os.Lchown(dir, nobody, nobody))
		_, err := loadToken(path, now)
		require.Error(t, err)
		assert.Contains(t, err.Error(), dir+" belongs to uid 65534")
		assert.Contains(t, err.Error(), "sudo chown 0 "+dir)
	})
	t.Run("a path with a space is quoted in the command", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "my config")
		path := filepath.Join(dir, "token.json")
		require.NoError(t, saveToken(path, cachedToken{Token: "tok"}))
		require.NoError(t, os.Chmod(path, 0o644))
		_, err := loadToken(path, now)
		assert.ErrorContains(t, err, "chmod 600 '"+path+"'")
	})
}
