//go:build linux

package main

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// bindNoPort is the Control of a dialer with a local address: it sets
// IP_BIND_ADDRESS_NO_PORT, so that the kernel picks the connection's port
// at connect, where a port may serve several destinations, rather than at
// bind, where it must be free for every destination: with it each local
// address has 28 000 ports per destination, not 28 000 in all. Without
// it (before Linux 4.2) the dial still works: the error is ignored.
func bindNoPort(_, _ string, c syscall.RawConn) error {
	return c.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
}
