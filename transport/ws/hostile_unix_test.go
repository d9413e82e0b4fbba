//go:build unix

package ws_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/internal/slowclient"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// neverReader connects a client that subscribes to topic, reads the
// reply, and then never reads again.
func (s *server) neverReader(t testing.TB, topic string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.Dial(ctxT(t), s.url, &websocket.DialOptions{HTTPClient: &http.Client{
		Transport: &http.Transport{DialContext: slowclient.Dialer.DialContext},
	}})
	require.NoError(t, err)
	if resp.Body != nil {
		_ = resp.Body.Close()
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	require.NoError(t, c.Write(ctxT(t), websocket.MessageText, []byte(`{"action":"subscribe","topic":"`+topic+`","id":1}`)))
	_, _, err = c.Read(ctxT(t)) // the reply or the snapshot: subscribed
	require.NoError(t, err)
	return c
}

// backlog publishes 16 MiB on topic: far more than socket buffers hold.
func backlog(t testing.TB, hub *fanout.Hub, topic string) {
	t.Helper()
	payload := `"` + strings.Repeat("x", 8<<10) + `"`
	for range 2000 {
		publish(t, hub, topic, payload)
	}
}

// TestNeverReadingCutByLag has clients that stop reading behind a large
// backlog, with no write timeout and no keepalive to find them: the lag
// bound cuts them, and their subscribers (and queues) go. With MaxLag
// disabled, as before it existed, they stay connected.
func TestNeverReadingCutByLag(t *testing.T) {
	t.Parallel()
	hub := fanout.NewHub(fanout.Options{})
	t.Cleanup(func() { _ = hub.Close() })
	s := newServer(t, hub, ws.Options{MaxLag: 200 * time.Millisecond, WriteTimeout: time.Hour, PingInterval: -1, QueueSize: 1 << 14})
	for range 4 {
		s.neverReader(t, "t")
	}
	require.Equal(t, 4, s.h.Len())
	backlog(t, hub, "t")
	require.Eventually(t, func() bool { return s.h.Len() == 0 && hub.Stats().Subscribers == 0 },
		testTimeout, 10*time.Millisecond, "never-reading clients still connected")

	// A client that reads is not cut.
	c := s.dial(t)
	c.subscribe("t")
	c.joined("t")
	publish(t, hub, "t", `1`)
	assert.Equal(t, "update", c.nextData().Type)
}

// TestNeverReadingUnsentBytes has a client that reads slowly, a frame at a
// time, so that its writer never empties the queue: it is closed with
// 4000 once it is MaxUnsentBytes behind.
func TestNeverReadingUnsentBytes(t *testing.T) {
	t.Parallel()
	hub := fanout.NewHub(fanout.Options{})
	t.Cleanup(func() { _ = hub.Close() })
	s := newServer(t, hub, ws.Options{MaxUnsentBytes: 1 << 20, MaxLag: -1, QueueSize: 1 << 14, MaxFrameSize: 16 << 10})
	c := s.dial(t)
	c.subscribe("t")
	c.joined("t")
	backlog(t, hub, "t")
	assert.Equal(t, websocket.StatusCode(4000), c.closeStatus())
}

// TestNeverReadingShutdown has Shutdown meet clients that never read,
// with writers stuck behind a large backlog and no write timeout: it
// returns when its context ends, having cut them, and Close after it
// returns at once.
func TestNeverReadingShutdown(t *testing.T) {
	t.Parallel()
	hub, s := stuckWriters(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, s.h.Shutdown(ctx), context.DeadlineExceeded)
	assert.Equal(t, 0, s.h.Len())
	assert.Equal(t, 0, hub.Stats().Subscribers)
	require.NoError(t, s.h.Close())
}

// stuckWriters serves four clients that never read, with no bound on lag
// or on a write's time, and a backlog on their topic that leaves their
// writers stuck.
func stuckWriters(t *testing.T) (*fanout.Hub, *server) {
	t.Helper()
	hub := fanout.NewHub(fanout.Options{})
	t.Cleanup(func() { _ = hub.Close() })
	s := newServer(t, hub, ws.Options{MaxLag: -1, WriteTimeout: time.Hour, PingInterval: -1, QueueSize: 1 << 14})
	for range 4 {
		s.neverReader(t, "t")
	}
	backlog(t, hub, "t")
	return hub, s
}

// TestNeverReadingClose has Close meet clients that never read: it cuts
// those whose close handshake cannot go through, and returns.
func TestNeverReadingClose(t *testing.T) {
	t.Parallel()
	hub, s := stuckWriters(t)
	require.NoError(t, s.h.Close())
	assert.Equal(t, 0, s.h.Len())
	assert.Equal(t, 0, hub.Stats().Subscribers)
}
