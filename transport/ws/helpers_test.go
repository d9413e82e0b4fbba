package ws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/require"
)

// testTimeout bounds every wait of a test.
const testTimeout = 20 * time.Second

// server is a handler mounted on a loopback httptest server.
type server struct {
	hub *fanout.Hub
	h   *ws.Handler
	srv *httptest.Server
	url string
}

// newServer starts a handler for hub (a new hub when nil) and registers
// its teardown: the handler first (it owns the hijacked connections), then
// the HTTP server, then the hub.
func newServer(t testing.TB, hub *fanout.Hub, opts ws.Options) *server {
	t.Helper()
	if hub == nil {
		hub = fanout.NewHub(fanout.Options{})
		t.Cleanup(func() { _ = hub.Close() })
	}
	h := ws.NewHandler(hub, opts)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		require.NoError(t, h.Close())
		srv.Close()
	})
	return &server{hub: hub, h: h, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// client is a test client connection that splits frames into messages.
type client struct {
	t       testing.TB
	c       *websocket.Conn
	pending []msg
	frames  int

	keepEmpty bool // tryNext returns the null snapshots of fresh joins too
	empty     int  // null snapshots of fresh joins skipped
}

// msg is any server message.
type msg struct {
	Type    string          `json:"type"`
	Topic   string          `json:"topic"`
	Epoch   string          `json:"epoch"`
	Seq     uint64          `json:"seq"`
	Gap     bool            `json:"gap"`
	Data    json.RawMessage `json:"data"`
	ID      *int64          `json:"id"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Reason  string          `json:"reason"`
}

func (s *server) dial(t testing.TB) *client {
	t.Helper()
	c, resp, err := websocket.Dial(ctxT(t), s.url, nil)
	require.NoError(t, err)
	if resp.Body != nil {
		_ = resp.Body.Close()
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &client{t: t, c: c}
}

func (c *client) send(cmd string) {
	c.t.Helper()
	require.NoError(c.t, c.c.Write(ctxT(c.t), websocket.MessageText, []byte(cmd)))
}

func (c *client) subscribe(topic string) {
	c.send(`{"action":"subscribe","topic":"` + topic + `"}`)
}

// next returns the next message, failing the test on error.
func (c *client) next() msg {
	c.t.Helper()
	m, err := c.tryNext(ctxT(c.t))
	require.NoError(c.t, err)
	return m
}

// tryNext returns the next message or the read error. It skips (and
// counts in c.empty) the snapshots with null data that start a fresh
// subscription to a topic without state, unless c.keepEmpty is set.
func (c *client) tryNext(ctx context.Context) (msg, error) {
	for len(c.pending) == 0 {
		typ, b, err := c.c.Read(ctx)
		if err != nil {
			return msg{}, err
		}
		if typ != websocket.MessageText {
			c.t.Errorf("frame type %v, want text", typ)
		}
		c.frames++
		for line := range bytes.SplitSeq(b, []byte{'\n'}) {
			var m msg
			if err := json.Unmarshal(line, &m); err != nil {
				c.t.Errorf("bad message %q in frame %q: %v", line, b, err)
				continue
			}
			if m.Type == "snapshot" && string(m.Data) == "null" && !c.keepEmpty {
				c.empty++ // the position of a fresh join to a topic without state
				continue
			}
			c.pending = append(c.pending, m)
		}
	}
	m := c.pending[0]
	c.pending = c.pending[1:]
	return m, nil
}

// nextData returns the next message that is not a subscribed reply.
func (c *client) nextData() msg {
	c.t.Helper()
	for {
		if m := c.next(); m.Type != "subscribed" {
			return m
		}
	}
}

// joined reads the two answers to a fresh subscribe to topic, in either
// order: the subscribed reply and the topic's snapshot, which a topic
// without state sends too (null data) so that the client has a position.
// It returns the snapshot.
func (c *client) joined(topic string) msg {
	c.t.Helper()
	c.keepEmpty = true
	defer func() { c.keepEmpty = false }()
	var snap msg
	seen := map[string]bool{}
	for len(seen) < 2 {
		m := c.next()
		require.Equal(c.t, topic, m.Topic, "%+v", m)
		require.Contains(c.t, []string{"subscribed", "snapshot"}, m.Type, "%+v", m)
		require.False(c.t, seen[m.Type], "two %s for %s", m.Type, topic)
		seen[m.Type] = true
		if m.Type == "snapshot" {
			snap = m
		}
	}
	return snap
}

// closeStatus reads until the connection closes and returns the close code.
func (c *client) closeStatus() websocket.StatusCode {
	c.t.Helper()
	ctx := ctxT(c.t)
	for {
		if _, err := c.tryNext(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func publish(t testing.TB, hub *fanout.Hub, topic, data string) fanout.Position {
	t.Helper()
	pos, err := hub.Publish(topic, []byte(data))
	require.NoError(t, err)
	return pos
}

// get does a plain HTTP request to the handler, to see refusals.
func (s *server) get(t testing.TB, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodGet, s.srv.URL, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.srv.Client().Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}
