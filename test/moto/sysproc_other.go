//go:build unix && !linux

package moto

import "syscall"

// sysProcAttr puts the server in its own process group, which Close signals.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
