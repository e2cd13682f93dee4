//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package consul

import "syscall"

// peekAlive cannot look at an idle connection without blocking here: a
// connection the agent closed fails on its next request, which is sent
// again (when replayable) on a new one.
func peekAlive(syscall.RawConn) bool { return true }
