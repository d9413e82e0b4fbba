//go:build unix

package sse_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/sse"
)

// A Shutdown whose context ends while a stream is stuck writing to a
// client that does not read closes it at once and reports the context's
// error. The client's receive buffer is made small before it connects, so
// that the kernel cannot absorb the stream.
func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{QueueSize: 8192, WriteTimeout: time.Hour})
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	c, err := d.Dial("tcp", s.srv.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("GET /?topic=t HTTP/1.1\r\nHost: test\r\n\r\n"))
	require.NoError(t, err)
	require.NoError(t, c.SetDeadline(time.Now().Add(testTimeout)))
	r := newReader(c)
	resp, err := http.ReadResponse(r.br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, err = r.next() // the snapshot: the stream is subscribed
	require.NoError(t, err)

	payload := []byte(`"` + strings.Repeat("x", 8<<10) + `"`)
	for range 2000 { // 16 MiB: far more than the socket buffers hold
		_, err := hub.Publish("t", payload)
		require.NoError(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, s.h.Shutdown(ctx), context.DeadlineExceeded)
	assert.Equal(t, 0, s.h.Len())
}
