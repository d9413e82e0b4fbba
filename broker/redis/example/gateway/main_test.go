package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fanout-go/fanout/broker/redis/internal/redistest"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type wireMsg struct {
	Type  string          `json:"type"`
	Topic string          `json:"topic"`
	Epoch string          `json:"epoch"`
	Seq   uint64          `json:"seq"`
	Data  json.RawMessage `json:"data"`
	Count int             `json:"count"` // of an occupancy message
}

// gateway runs one gateway until the test ends and returns its URL.
func gateway(t *testing.T, cfg config) string {
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, cfg, slog.New(slog.DiscardHandler), func(url string) { urls <- url })
	}()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	select {
	case url := <-urls:
		return url
	case err := <-done:
		done <- err
		t.Fatalf("run ended: %v", err)
		return ""
	}
}

// client is a WebSocket connection to a gateway that reads wire messages.
type client struct {
	t   *testing.T
	ctx context.Context
	c   *websocket.Conn
	buf []wireMsg
}

func dial(t *testing.T, ctx context.Context, base string) *client {
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"ws", nil)
	require.NoError(t, err)
	t.Cleanup(func() { c.CloseNow() })
	return &client{t: t, ctx: ctx, c: c}
}

func (c *client) subscribe(topic string) {
	require.NoError(c.t, c.c.Write(c.ctx, websocket.MessageText,
		[]byte(`{"action":"subscribe","topic":"`+topic+`"}`)))
}

// next returns the next snapshot or update on topic.
// followFirstGame subscribes to the index, waits until it lists a game,
// subscribes to that game's topic and returns it.
func (c *client) followFirstGame() string {
	c.t.Helper()
	c.subscribe(game.IndexTopic)
	var index game.Index
	for len(index.Games) == 0 {
		require.NoError(c.t, json.Unmarshal(c.next(game.IndexTopic).Data, &index))
	}
	topic := game.Topic(index.Games[0].ID)
	c.subscribe(topic)
	return topic
}

func (c *client) next(topic string) wireMsg {
	for {
		for len(c.buf) > 0 {
			m := c.buf[0]
			c.buf = c.buf[1:]
			if m.Topic == topic && (m.Type == "snapshot" || m.Type == "update") {
				return m
			}
		}
		_, b, err := c.c.Read(c.ctx)
		require.NoError(c.t, err)
		for _, line := range strings.Split(string(b), "\n") {
			var m wireMsg
			require.NoError(c.t, json.Unmarshal([]byte(line), &m), line)
			c.buf = append(c.buf, m)
		}
	}
}

// TestTwoGateways runs two gateways on one Redis, the feed on the first:
// a client of the second gets a snapshot then ordered updates, with the
// epoch a client of the first sees.
func TestTwoGateways(t *testing.T) {
	srv := redistest.Start(t)
	feedSide := gateway(t, config{addr: "127.0.0.1:0", redis: srv.Addr, feed: true, rate: 200})
	other := gateway(t, config{addr: "127.0.0.1:0", redis: srv.Addr})

	for _, base := range []string{feedSide, other} {
		resp, err := http.Get(base + "readyz")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%sreadyz, for the load balancer", base)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := dial(t, ctx, other)
	topic := b.followFirstGame()

	first := b.next(topic)
	require.Equal(t, "snapshot", first.Type)
	require.NotEmpty(t, first.Epoch)
	prev := first.Seq
	for range 3 {
		m := b.next(topic)
		require.Equal(t, "update", m.Type)
		require.Equal(t, first.Epoch, m.Epoch)
		require.Equal(t, prev+1, m.Seq, "updates in order, without a gap")
		prev = m.Seq
	}

	a := dial(t, ctx, feedSide)
	a.subscribe(topic)
	snap := a.next(topic)
	require.Equal(t, "snapshot", snap.Type)
	assert.Equal(t, first.Epoch, snap.Epoch, "both gateways share the topic's epoch")
	assert.GreaterOrEqual(t, snap.Seq, first.Seq)
}
