package ws_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeepalive(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{PingInterval: 10 * time.Millisecond, WriteTimeout: time.Second})

	t.Run("answered", func(t *testing.T) {
		pings := make(chan struct{}, 100)
		c, _, err := websocket.Dial(ctxT(t), s.url, &websocket.DialOptions{
			OnPingReceived: func(context.Context, []byte) bool {
				select {
				case pings <- struct{}{}:
				default:
				}
				return true
			},
		})
		require.NoError(t, err)
		defer c.CloseNow()
		cl := &client{t: t, c: c}
		cl.subscribe("x")
		require.Equal(t, "subscribed", cl.next().Type)
		ctx := ctxT(t)
		readDone := make(chan error, 1)
		go func() {
			_, _, err := c.Read(ctx) // answers pings until the publish below arrives
			readDone <- err
		}()
		for range 3 {
			<-pings
		}
		publish(t, s.hub, "x", `1`)
		require.NoError(t, <-readDone)
	})

	t.Run("unanswered", func(t *testing.T) {
		// A client that does not read never answers: the server closes it.
		require.Eventually(t, func() bool { return s.h.Len() == 0 }, testTimeout, time.Millisecond)
		c := s.dial(t)
		require.Eventually(t, func() bool { return s.h.Len() == 1 }, testTimeout, time.Millisecond)
		require.Eventually(t, func() bool { return s.h.Len() == 0 }, testTimeout, time.Millisecond)
		_ = c.c.CloseNow()
	})
}

func TestOrigin(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{})
	_, resp, err := websocket.Dial(ctxT(t), s.url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	require.Error(t, err)
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	s2 := newServer(t, nil, ws.Options{OriginPatterns: []string{"*.example.com"}})
	c, _, err := websocket.Dial(ctxT(t), s2.url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://app.example.com"}}})
	require.NoError(t, err)
	_ = c.CloseNow()
}

// TestFrames checks the batching: a burst comes in frames of at most
// MaxFrameSize, and a message bigger than that comes alone.
func TestFrames(t *testing.T) {
	t.Parallel()
	const limit = 1000
	s := newServer(t, nil, ws.Options{MaxFrameSize: limit})
	c := s.dial(t)
	c.subscribe("a")
	require.Equal(t, "subscribed", c.next().Type)
	big := `"` + strings.Repeat("x", 2*limit) + `"`
	for i := range 100 {
		data := strconv.Itoa(i)
		if i == 50 {
			data = big
		}
		publish(t, s.hub, "a", data)
	}
	ctx := ctxT(t)
	msgs, frames := 0, 0
	for msgs < 100 {
		_, b, err := c.c.Read(ctx)
		require.NoError(t, err)
		frames++
		n := strings.Count(string(b), "\n") + 1
		if len(b) > limit {
			assert.Equal(t, 1, n, "a frame over the limit holds one message")
			assert.Contains(t, string(b), big)
		}
		msgs += n
	}
	assert.Equal(t, 100, msgs)
	assert.Less(t, frames, 50, "messages are batched")
}
