package ws

import (
	"bufio"
	"io"
	"net"
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
