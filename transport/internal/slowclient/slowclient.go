//go:build unix

// Package slowclient is what the transports' tests and benchmarks use to
// play a client that does not read: a dialer whose connections have a
// small receive buffer, so that the kernel absorbs little of what the
// server sends and the server's own bounds are what the test sees. Only
// tests import it.
package slowclient

import (
	"net"
	"syscall"
)

// ReceiveBuffer is the receive buffer (SO_RCVBUF) of Dialer's
// connections, in bytes.
const ReceiveBuffer = 4096

// Dialer makes connections with a ReceiveBuffer-byte receive buffer, set
// before they connect (the window a client announces is fixed then).
var Dialer = net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
	var err error
	if cerr := rc.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, ReceiveBuffer)
	}); cerr != nil {
		return cerr
	}
	return err
}}
