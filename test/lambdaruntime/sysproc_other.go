//go:build unix && !linux

package lambdaruntime

import "syscall"

// sysProcAttr puts the function in its own process group, which Close signals.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
