//go:build unix

package sse_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/internal/slowclient"
	"github.com/fanout-go/fanout/transport/sse"
)

// neverReader opens a stream of topic from a client whose receive buffer
// is made small before it connects, so that the kernel cannot absorb the
// stream; it reads the first event (the stream is subscribed) and then
// never reads again.
func (s *server) neverReader(t *testing.T, topic string) net.Conn {
	t.Helper()
	c, err := slowclient.Dialer.Dial("tcp", s.srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Write([]byte("GET /?topic=" + topic + " HTTP/1.1\r\nHost: test\r\n\r\n"))
	require.NoError(t, err)
	require.NoError(t, c.SetDeadline(time.Now().Add(testTimeout)))
	r := newReader(c)
	resp, err := http.ReadResponse(r.br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, err = r.next() // the snapshot: the stream is subscribed
	require.NoError(t, err)
	return c
}

// backlog publishes 16 MiB on topic: far more than socket buffers hold.
func backlog(t *testing.T, hub *fanout.Hub, topic string) {
	t.Helper()
	payload := []byte(`"` + strings.Repeat("x", 8<<10) + `"`)
	for range 2000 {
		_, err := hub.Publish(topic, payload)
		require.NoError(t, err)
	}
}

// A Shutdown whose context ends while a stream is stuck writing to a
// client that does not read closes it at once and reports the context's
// error.
func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{QueueSize: 8192, WriteTimeout: time.Hour, MaxLag: -1})
	s.neverReader(t, "t")
	backlog(t, hub, "t")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, s.h.Shutdown(ctx), context.DeadlineExceeded)
	assert.Equal(t, 0, s.h.Len())
}

// TestNeverReadingCutByLag has streams whose clients stop reading behind
// a large backlog, with no write timeout and no heartbeat to find them:
// the lag bound ends them, and their subscribers (and queues) go. With
// MaxLag disabled, as before it existed, they stay open.
func TestNeverReadingCutByLag(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{QueueSize: 8192, WriteTimeout: time.Hour, Heartbeat: time.Hour, MaxLag: 200 * time.Millisecond})
	for range 4 {
		s.neverReader(t, "t")
	}
	require.Equal(t, 4, s.h.Len())
	backlog(t, hub, "t")
	require.Eventually(t, func() bool { return s.h.Len() == 0 && hub.Stats().Subscribers == 0 },
		testTimeout, 10*time.Millisecond, "never-reading streams still open")
}

// TestNeverReadingClose has Close meet streams whose clients never read,
// their writers stuck with no write timeout: it returns, having cut them.
func TestNeverReadingClose(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{QueueSize: 8192, WriteTimeout: time.Hour, MaxLag: -1})
	for range 4 {
		s.neverReader(t, "t")
	}
	backlog(t, hub, "t")
	require.NoError(t, s.h.Close())
	assert.Equal(t, 0, s.h.Len())
	assert.Equal(t, 0, hub.Stats().Subscribers)
}
