package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunRefusesUnknownGames: the scoreboard's hub asks its ingester which
// games exist, so a client naming one that does not is answered not_found.
func TestRunRefusesUnknownGames(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{addr: "127.0.0.1:0", rate: 10, games: 1}, slog.New(slog.DiscardHandler),
			func(url string) { urls <- url })
	}()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	var base string
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatalf("run ended: %v", err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	c, _, err := websocket.Dial(wctx, "ws"+strings.TrimPrefix(base, "http")+"ws", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	require.NoError(t, c.Write(wctx, websocket.MessageText, []byte(`{"action":"subscribe","topic":"game-updates:g999","id":7}`)))
	for {
		_, b, err := c.Read(wctx)
		require.NoError(t, err)
		var m struct {
			Type, Topic, Code string
			ID                int
		}
		require.NoError(t, json.Unmarshal(b, &m), "%s", b)
		if m.Type == "error" {
			assert.Equal(t, "not_found", m.Code)
			assert.Equal(t, "game-updates:g999", m.Topic)
			assert.Equal(t, 7, m.ID)
			return
		}
		assert.NotEqual(t, "subscribed", m.Type, "%s", b)
	}
}
