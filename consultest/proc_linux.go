package consultest

import "syscall"

// sysProcAttr makes the agent die with the process that started it, so
// that a test binary killed by a timeout leaves no agent behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
