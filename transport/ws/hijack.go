package ws

import (
	"bufio"
	"net"
	"net/http"
)

// hijackWriter records the connection that websocket.Accept hijacks, so
// that the handler can cut it at once: the library's own close waits for a
// close handshake, which an unresponsive peer never completes.
//
// The library keeps net/http's 4 KiB read and write buffers; smaller ones
// of our own would not save memory, since net/http's connection, alive as
// long as ServeHTTP runs, still references its own.
type hijackWriter struct {
	http.ResponseWriter
	conn net.Conn
}

// Hijack hijacks the underlying connection and records it.
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	w.conn = c
	return c, brw, err
}

// Unwrap returns the underlying ResponseWriter, for
// http.ResponseController.
func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
