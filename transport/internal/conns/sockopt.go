package conns

import "net"

// SetSendBuffer caps the kernel send buffer (SO_SNDBUF) of c, or of the
// connection c wraps (a *tls.Conn's NetConn), at n bytes, so that a client
// that stops reading fills it soon and the handler's own limits (queue,
// lag, write deadline) take over. n <= 0 leaves the kernel's size, which
// it grows up to megabytes on a fast link. Linux doubles the value for
// its bookkeeping. A connection that has no such buffer is left alone.
func SetSendBuffer(c net.Conn, n int) {
	if n <= 0 {
		return
	}
	for range 8 { // wrappers of wrappers, but not forever
		switch t := c.(type) {
		case interface{ SetWriteBuffer(int) error }:
			_ = t.SetWriteBuffer(n) // best effort: a refusal leaves the default
			return
		case interface{ NetConn() net.Conn }:
			c = t.NetConn()
		default:
			return
		}
	}
}

// Discard closes c so that the kernel drops what c has not sent yet,
// with a reset (SO_LINGER 0), instead of keeping it, for minutes, for a
// peer that does not read. It is for connections cut because they are
// stuck; a connection that ends normally is closed with Close.
func Discard(c net.Conn) error {
	inner := c
	for range 8 {
		if t, ok := inner.(interface{ SetLinger(int) error }); ok {
			_ = t.SetLinger(0)
			break
		}
		w, ok := inner.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		inner = w.NetConn()
	}
	return c.Close()
}
