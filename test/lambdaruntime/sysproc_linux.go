package lambdaruntime

import "syscall"

// sysProcAttr puts the function in its own process group, which Close signals, and has
// the kernel kill it if the test process dies without calling Close (a go test
// that timed out or was interrupted), so no orphan outlives the tests.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
