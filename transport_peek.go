//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package consul

import "syscall"

// peekAlive reports whether an idle connection is still open, without
// waiting: a peek that would block means the agent neither closed it nor
// sent anything.
func peekAlive(rc syscall.RawConn) bool {
	var buf [1]byte
	alive := false
	err := rc.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && alive
}
