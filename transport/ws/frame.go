package ws

import (
	"encoding/binary"
	"net"
	"sync"
)

// frameHead is the room a frame buffer keeps in front of its payload for
// the frame header: a server's header is at most 10 bytes (RFC 6455,
// section 5.2: no mask; 8 bytes of length above 65535).
const frameHead = 10

// controlBufferSize is the size of the write buffer the library keeps for
// its control frames (pings, pongs, close) on a connection whose messages
// fanout frames itself: a control frame is at most 2+125 bytes, so each
// is one write.
const controlBufferSize = 256

// WebSocket opcodes (RFC 6455, section 5.2).
const (
	opText  = 0x1
	opClose = 0x8
	finBit  = 0x80
)

// frameWriter writes the frames of a connection that does not compress
// its messages. fanout writes its text frames itself, header and payload
// in one write from the writer's pooled buffer, so that an idle
// connection keeps no 4 KiB write buffer; the library writes its control
// frames through a small bufio.Writer over Write.
//
// mu orders the two: a frame is never written into the middle of another,
// and no text frame follows a close frame.
type frameWriter struct {
	nc     net.Conn
	mu     sync.Mutex
	closed bool // a close frame was written (or tried): nothing may follow

	// writeTextAlone's header and gathered write, under mu, so that it
	// allocates nothing.
	head   [frameHead]byte
	bufs   [2][]byte
	gather net.Buffers
}

// Write writes what the library's control buffer flushes. The library
// flushes after every frame, and a control frame fits the buffer, so each
// call is one whole frame, and p[0] its first header byte.
func (f *frameWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(p) > 0 && p[0]&0x0f == opClose {
		f.closed = true
	}
	return f.nc.Write(p)
}

// writeText writes one final text frame. Its payload is buf[frameHead:],
// and buf[:frameHead] is room for the header, so that the frame goes in
// one write.
func (f *frameWriter) writeText(buf []byte) error {
	h := putHeader(buf[:frameHead], len(buf)-frameHead)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return net.ErrClosed
	}
	_, err := f.nc.Write(buf[frameHead-h:])
	return err
}

// writeTextAlone writes p as one final text frame without copying it (a
// shared encoding too big to batch): a gathered write on a TCP
// connection.
func (f *frameWriter) writeTextAlone(p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return net.ErrClosed
	}
	h := putHeader(f.head[:], len(p))
	f.bufs = [2][]byte{f.head[frameHead-h:], p}
	f.gather = f.bufs[:]
	_, err := f.gather.WriteTo(f.nc)
	f.bufs, f.gather = [2][]byte{}, nil // do not keep p alive
	return err
}

// putHeader writes the header of a final, unmasked text frame of n bytes
// at the end of head, which is frameHead bytes long, and returns its
// length.
func putHeader(head []byte, n int) int {
	switch {
	case n < 126:
		head[8], head[9] = finBit|opText, byte(n)
		return 2
	case n <= 0xffff:
		head[6], head[7] = finBit|opText, 126
		binary.BigEndian.PutUint16(head[8:], uint16(n))
		return 4
	default:
		head[0], head[1] = finBit|opText, 127
		binary.BigEndian.PutUint64(head[2:], uint64(n))
		return 10
	}
}
