package ws

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSmallReader: the small read buffer keeps the bytes net/http had
// buffered and then reads the connection; when they do not fit, net/http's
// reader is kept as it is.
func TestSmallReader(t *testing.T) {
	for _, held := range []int{0, 1, readBufferSize} {
		srv, cl := net.Pipe()
		brw := bufio.NewReadWriter(bufio.NewReaderSize(strings.NewReader(strings.Repeat("h", held)), 4096), bufio.NewWriter(srv))
		_, err := brw.Reader.Peek(held) // what net/http had buffered
		require.NoError(t, err)
		got := smallReader(srv, brw)
		assert.Equal(t, readBufferSize, got.Reader.Size(), "held %d", held)
		assert.Same(t, brw.Writer, got.Writer)
		assert.Equal(t, held, got.Reader.Buffered(), "held %d", held)
		go func() {
			_, _ = cl.Write([]byte("from the connection"))
			_ = cl.Close()
		}()
		b, err := io.ReadAll(got.Reader)
		require.NoError(t, err)
		assert.Equal(t, strings.Repeat("h", held)+"from the connection", string(b))
		_ = srv.Close()
	}

	brw := bufio.NewReadWriter(bufio.NewReaderSize(strings.NewReader(strings.Repeat("h", readBufferSize+1)), 4096), nil)
	_, err := brw.Reader.Peek(readBufferSize + 1)
	require.NoError(t, err)
	assert.Same(t, brw, smallReader(nil, brw), "too much buffered: net/http's reader is kept")
	assert.Nil(t, smallReader(nil, nil))
}

// TestHijackWriteBuffer: without compression, the library gets a small
// write buffer for its control frames (fanout writes its text frames
// itself); with compression, it keeps net/http's and writes every frame.
func TestHijackWriteBuffer(t *testing.T) {
	for _, ext := range []string{"", "permessage-deflate"} {
		type hijacked struct {
			size   int
			frames bool
		}
		got := make(chan hijacked, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ext != "" {
				w.Header().Set("Sec-WebSocket-Extensions", ext)
			}
			hw := &hijackWriter{ResponseWriter: w}
			c, brw, err := hw.Hijack()
			if !assert.NoError(t, err) {
				return
			}
			got <- hijacked{brw.Writer.Size(), hw.frames != nil}
			_ = c.Close()
		}))
		resp, err := http.Get(srv.URL)
		if err == nil {
			_ = resp.Body.Close()
		}
		h := <-got
		srv.Close()
		if ext == "" {
			assert.Equal(t, hijacked{controlBufferSize, true}, h)
		} else {
			assert.Equal(t, hijacked{4096, false}, h, "with %s", ext)
		}
	}
}

// TestNoFrameAfterClose: once the library has written a close frame, a
// text frame fails instead of following it on the wire.
func TestNoFrameAfterClose(t *testing.T) {
	srv, cl := net.Pipe()
	wire := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(cl)
		wire <- b
	}()
	f := &frameWriter{nc: srv}
	text := append(make([]byte, frameHead), "before"...)
	require.NoError(t, f.writeText(text))
	closeFrame := []byte{finBit | opClose, 2, 0x03, 0xe8} // 1000
	_, err := f.Write(closeFrame)
	require.NoError(t, err)
	assert.ErrorIs(t, f.writeText(text), net.ErrClosed)
	assert.ErrorIs(t, f.writeTextAlone([]byte("after")), net.ErrClosed)
	require.NoError(t, srv.Close())
	assert.Equal(t, append([]byte{finBit | opText, 6, 'b', 'e', 'f', 'o', 'r', 'e'}, closeFrame...), <-wire)
}
