//go:build unix

package main

import (
	"io/fs"
	"syscall"
)

// fileOwner is the user ID that owns the file info describes.
func fileOwner(info fs.FileInfo) (uid int, ok bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
