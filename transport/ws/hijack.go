package ws

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
)

// readBufferSize is the size of the read buffer a connection keeps. The
// client sends only small commands (at most Options.ReadLimit), and the
// library reads a bigger payload past the buffer.
const readBufferSize = 512

// hijackWriter records the connection that websocket.Accept hijacks, so
// that the handler can cut it at once: the library's own close waits for a
// close handshake, which an unresponsive peer never completes.
//
// It also gives the library a 512-byte read buffer of its own instead of
// net/http's 4 KiB one, which net/http drops once ServeHTTP has returned.
// Unless the connection compresses its messages, it gives the library a
// controlBufferSize write buffer over a frameWriter in place of net/http's
// 4 KiB one, and the handler writes its text frames through the
// frameWriter (see frame.go). With compression, the library writes every
// frame, through net/http's buffer.
type hijackWriter struct {
	http.ResponseWriter
	conn   net.Conn
	frames *frameWriter // nil with compression
}

// Hijack hijacks the underlying connection and records it.
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return c, brw, err
	}
	w.conn = c
	brw = smallReader(c, brw)
	// websocket.Accept has set the response headers, the negotiated
	// extension among them, before it hijacks.
	if brw != nil && brw.Writer != nil && brw.Writer.Buffered() == 0 && w.Header().Get("Sec-WebSocket-Extensions") == "" {
		w.frames = &frameWriter{nc: c}
		brw = &bufio.ReadWriter{Reader: brw.Reader, Writer: bufio.NewWriterSize(w.frames, controlBufferSize)}
	}
	return c, brw, nil
}

// smallReader returns brw with a readBufferSize reader over c in place of
// its reader, holding the bytes that reader had buffered: the client may
// send its first commands right behind the upgrade request. It returns brw
// itself when those bytes do not fit, or when brw has no reader to
// replace.
func smallReader(c net.Conn, brw *bufio.ReadWriter) *bufio.ReadWriter {
	if brw == nil || brw.Reader == nil || brw.Reader.Buffered() > readBufferSize {
		return brw
	}
	n := brw.Reader.Buffered()
	if n == 0 {
		return &bufio.ReadWriter{Reader: bufio.NewReaderSize(c, readBufferSize), Writer: brw.Writer}
	}
	held, _ := brw.Reader.Peek(n) // cannot fail: n bytes are buffered
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(held), c), readBufferSize)
	// Buffer the held bytes now (a bytes.Reader gives them in one read, so
	// c is not read), so that net/http's buffer can go: the library takes
	// what br buffers and then resets br's source (see websocket.Accept).
	if _, err := br.Peek(n); err != nil {
		return brw // not reached
	}
	return &bufio.ReadWriter{Reader: br, Writer: brw.Writer}
}

// Unwrap returns the underlying ResponseWriter, for
// http.ResponseController.
func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// canHijack reports whether w, or a ResponseWriter it unwraps to, can be
// hijacked, as websocket.Accept requires. An HTTP/2 stream cannot.
func canHijack(w http.ResponseWriter) bool {
	for {
		switch t := w.(type) {
		case http.Hijacker:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
}
