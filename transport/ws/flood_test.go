package ws_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout/internal/floodtest"
	"github.com/fanout-go/fanout/transport/ws"
)

// TestTopicFloodCannotStopPublishing: connections that each subscribe to
// 100 invented topics and close (floodtest.Run says what it checks).
func TestTopicFloodCannotStopPublishing(t *testing.T) {
	const perConn = 100
	hub := floodtest.NewHub(t)
	h := ws.NewHandler(hub, ws.Options{MaxTopics: perConn})
	srv := httptest.NewServer(h)
	defer func() {
		srv.Close()
		require.NoError(t, h.Close())
	}()
	u := "ws" + strings.TrimPrefix(srv.URL, "http")
	floodtest.Run(t, hub, 4, 20, func(c, r int) {
		subscribeAndLeave(t, u, fmt.Sprintf("invented:%d:%d", c, r), perConn)
	})
}

// subscribeAndLeave subscribes a new connection to n topics named
// prefix:i, waits for their replies and closes it.
func subscribeAndLeave(t *testing.T, u, prefix string, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u, nil)
	if !assert.NoError(t, err) {
		return
	}
	defer c.CloseNow()
	for i := range n {
		cmd := fmt.Sprintf(`{"action":"subscribe","topic":"%s:%d"}`, prefix, i)
		if !assert.NoError(t, c.Write(ctx, websocket.MessageText, []byte(cmd))) {
			return
		}
	}
	for replies := 0; replies < n; {
		_, b, err := c.Read(ctx)
		if !assert.NoError(t, err) {
			return
		}
		replies += strings.Count(string(b), `"type":"subscribed"`)
		assert.NotContains(t, string(b), `"type":"error"`)
	}
}
