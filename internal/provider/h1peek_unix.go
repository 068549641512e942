//go:build unix

package provider

import "syscall"

// peekOpen reports whether the socket fd is still open with nothing
// unread, by a non-blocking one-byte peek. EAGAIN: nothing to read, still
// open. No error: 0 bytes (the FIN) or bytes the upstream sent unasked;
// either way the connection is not reusable.
func peekOpen(fd uintptr) bool {
	var buf [1]byte
	_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR
}
