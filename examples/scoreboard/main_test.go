package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type wireMsg struct {
	Type  string          `json:"type"`
	Topic string          `json:"topic"`
	Seq   uint64          `json:"seq"`
	Data  json.RawMessage `json:"data"`
}

// TestRun runs the whole command: it serves the page and the client, the
// feed publishes, a WebSocket client gets snapshots then updates, and
// cancelling the context stops everything (goleak checks).
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{addr: "127.0.0.1:0", rate: 200, games: 3}, slog.New(slog.DiscardHandler),
			func(url string) { urls <- url })
	}()
	var base string
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatalf("run ended: %v", err)
	}
	assert.True(t, strings.HasPrefix(base, "http://127.0.0.1:"), base)

	for path, want := range map[string]string{"": "<title>Live scores", "fanout.js": "export class FanoutClient", "readyz": "ready"} {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Contains(t, string(body), want)
	}

	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	c, _, err := websocket.Dial(wctx, "ws"+strings.TrimPrefix(base, "http")+"ws", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	send := func(cmd string) { require.NoError(t, c.Write(wctx, websocket.MessageText, []byte(cmd))) }
	send(`{"action":"subscribe","topic":"game-updates:index"}`)

	var index game.Index
	seen := map[string][]string{} // topic -> message types, in order
	for len(index.Games) < 3 || len(seen[game.Topic(first(index))]) < 3 {
		_, b, err := c.Read(wctx)
		require.NoError(t, err)
		for _, line := range strings.Split(string(b), "\n") {
			var m wireMsg
			require.NoError(t, json.Unmarshal([]byte(line), &m), line)
			if m.Type != "snapshot" && m.Type != "update" {
				continue
			}
			if m.Topic == game.IndexTopic && len(index.Games) < 3 {
				// The feed puts its games on the board one by one.
				require.NoError(t, json.Unmarshal(m.Data, &index))
				if len(index.Games) == 3 {
					send(`{"action":"subscribe","topic":"` + game.Topic(first(index)) + `"}`)
				}
			}
			seen[m.Topic] = append(seen[m.Topic], m.Type)
		}
	}
	got := seen[game.Topic(first(index))]
	assert.Equal(t, []string{"snapshot", "update", "update"}, got[:3], "snapshot first, then updates")

	cancel()
	for { // read until the drain closes the connection
		if _, _, err := c.Read(wctx); err != nil {
			assert.Equal(t, websocket.StatusCode(4001), websocket.CloseStatus(err), "%v", err)
			break
		}
	}
	require.NoError(t, <-done)
}

func first(idx game.Index) string {
	if len(idx.Games) == 0 {
		return ""
	}
	return idx.Games[0].ID
}

func TestRunFailsOnABadAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	err = run(context.Background(), config{addr: ln.Addr().String(), rate: 1, games: 1}, slog.New(slog.DiscardHandler), func(string) {
		t.Error("ready called")
	})
	assert.Error(t, err)
}

// TestRunChecksItsConfig checks that a -rate the feed cannot keep is an
// error before anything starts, not a panic of the feed (a rate over 1e9
// makes its timer interval zero) nor a silent default.
func TestRunChecksItsConfig(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a run that starts returns at once, without error
	log := slog.New(slog.DiscardHandler)
	for _, rate := range []float64{0, -1, 2e9, math.Inf(1), math.NaN()} {
		err := run(ctx, config{addr: "127.0.0.1:0", rate: rate, games: 1}, log, func(string) {
			t.Errorf("rate %g: ready called", rate)
		})
		assert.Error(t, err, "rate %g", rate)
	}
}

func TestPageURL(t *testing.T) {
	bound := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	for addr, want := range map[string]string{
		"localhost:8080": "http://localhost:8080/",
		":8080":          "http://localhost:8080/",
		"0.0.0.0:0":      "http://localhost:8080/",
		"127.0.0.1:0":    "http://127.0.0.1:8080/",
	} {
		assert.Equal(t, want, pageURL(addr, bound), addr)
	}
}
