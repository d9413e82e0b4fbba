package game_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

// wireMsg is a server message of the protocol (docs/protocol.md).
type wireMsg struct {
	Type  string          `json:"type"`
	Topic string          `json:"topic"`
	Epoch string          `json:"epoch"`
	Seq   uint64          `json:"seq"`
	Data  json.RawMessage `json:"data"`
}

// startServer serves a scoreboard of one game, g1, on httptest.
func startServer(t *testing.T) (*httptest.Server, *game.Ingester) {
	t.Helper()
	hub := newHub(t)
	in := game.NewIngester(hub, quietLog())
	require.NoError(t, in.AddGame(t.Context(), game.NewGame("g1", home, away)))
	srv := game.NewServer(hub, game.ServerOptions{})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		ts.Close()
	})
	return ts, in
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func TestServerServesThePageAndTheClient(t *testing.T) {
	ts, _ := startServer(t)

	resp, body := get(t, ts.URL+"/")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, body, `import { FanoutClient } from './fanout.js'`)
	assert.NotContains(t, body, "http://", "the page loads nothing from elsewhere")
	assert.NotContains(t, body, "https://")

	resp, body = get(t, ts.URL+"/fanout.js")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/javascript; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, body, "export class FanoutClient")

	resp, _ = get(t, ts.URL+"/nothing-here")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestServerWebSocketSnapshotThenUpdates(t *testing.T) {
	ts, in := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	require.NoError(t, c.Write(ctx, websocket.MessageText, []byte(`{"action":"subscribe","topic":"game-updates:g1"}`)))

	msgs := wsReader(ctx, t, c)
	snap := nextData(t, msgs)
	assert.Equal(t, "snapshot", snap.Type)
	assert.Equal(t, game.NotStarted, decode[game.Game](t, snap.Data).Phase)

	require.NoError(t, in.Ingest(t.Context(), game.Event{Game: "g1", ID: 1, Kind: game.KickOff}))
	require.NoError(t, in.Ingest(t.Context(), game.Event{Game: "g1", ID: 2, Kind: game.Goal, Minute: 3, Side: game.Home, Player: "Abara"}))
	for i, kind := range []game.Kind{game.KickOff, game.Goal} {
		m := nextData(t, msgs)
		assert.Equal(t, "update", m.Type)
		assert.Equal(t, snap.Seq+uint64(i)+1, m.Seq)
		assert.Equal(t, kind, decode[game.Update](t, m.Data).Event.Kind)
	}
}

func TestServerEventStreamSnapshot(t *testing.T) {
	ts, in := startServer(t)
	require.NoError(t, in.Ingest(t.Context(), game.Event{Game: "g1", ID: 1, Kind: game.KickOff}))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/events?topic=game-updates:g1", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", strings.Split(resp.Header.Get("Content-Type"), ";")[0])

	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		m := decode[wireMsg](t, []byte(data))
		require.Equal(t, "snapshot", m.Type)
		assert.Equal(t, game.InFirstHalf, decode[game.Game](t, m.Data).Phase)
		return
	}
	t.Fatalf("the stream ended without a snapshot: %v", sc.Err())
}

// wsReader reads the connection's frames into a channel of messages, one
// per line, until the connection or ctx ends.
func wsReader(ctx context.Context, t *testing.T, c *websocket.Conn) <-chan wireMsg {
	t.Helper()
	out := make(chan wireMsg, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			for _, line := range strings.Split(string(b), "\n") {
				var m wireMsg
				if json.Unmarshal([]byte(line), &m) == nil {
					select {
					case out <- m:
					case <-ctx.Done():
						return
					}
				}
			}
		}
	}()
	t.Cleanup(func() {
		c.CloseNow()
		<-done
	})
	return out
}

// nextData returns the next snapshot, update or reset, skipping replies.
func nextData(t *testing.T, msgs <-chan wireMsg) wireMsg {
	t.Helper()
	for m := range msgs {
		if m.Type == "snapshot" || m.Type == "update" || m.Type == "reset" {
			return m
		}
	}
	t.Fatal("the connection ended")
	return wireMsg{}
}
