package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fanout-go/fanout/examples/ticker/market"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type wireMsg struct {
	Type  string          `json:"type"`
	Topic string          `json:"topic"`
	Seq   uint64          `json:"seq"`
	Gap   bool            `json:"gap"`
	Data  json.RawMessage `json:"data"`
}

// TestRun runs the whole command: the page and the client are served,
// the market publishes, a WebSocket client gets each instrument's latest
// quote then updates, and cancelling the context stops everything.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{addr: "127.0.0.1:0", instruments: 20, rate: 400, seed: 1}, slog.New(slog.DiscardHandler),
			func(url string) { urls <- url })
	}()
	var base string
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatalf("run ended: %v", err)
	}

	for path, want := range map[string]string{"": "<title>Ticker", "fanout.js": "export class FanoutClient", "readyz": "ready"} {
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
	send(`{"action":"subscribe","topic":"ticker:index"}`)

	var syms []string
	seen := map[string][]wireMsg{}
	updated := 0
	for syms == nil || updated < 20 {
		_, b, err := c.Read(wctx)
		require.NoError(t, err)
		for _, line := range strings.Split(string(b), "\n") {
			var m wireMsg
			require.NoError(t, json.Unmarshal([]byte(line), &m), line)
			if m.Type != "snapshot" && m.Type != "update" {
				continue
			}
			if m.Topic == market.IndexTopic {
				if string(m.Data) == "null" {
					continue // subscribed before the first index: its position only
				}
				var idx struct{ Instruments []market.Instrument }
				require.NoError(t, json.Unmarshal(m.Data, &idx))
				require.Len(t, idx.Instruments, 20)
				for _, in := range idx.Instruments {
					syms = append(syms, in.Sym)
					send(`{"action":"subscribe","topic":"` + market.QuoteTopic(in.Sym) + `"}`)
				}
				continue
			}
			if len(seen[m.Topic]) > 0 && m.Type == "update" {
				updated++
			}
			seen[m.Topic] = append(seen[m.Topic], m)
		}
	}
	for topic, msgs := range seen {
		// A topic starts with a snapshot: its latest quote, or only its
		// position (null data) when it had no quote yet.
		assert.Equal(t, "snapshot", msgs[0].Type, "%s starts with %+v", topic, msgs[0])
		for i, m := range msgs {
			if i == 0 && string(m.Data) == "null" {
				continue
			}
			var q market.Quote
			require.NoError(t, json.Unmarshal(m.Data, &q))
			assert.Equal(t, market.QuoteTopic(q.Sym), topic, "%+v", m)
			if i > 0 {
				assert.Greater(t, m.Seq, msgs[i-1].Seq)
			}
		}
	}

	cancel()
	for { // read until the drain closes the connection
		if _, _, err := c.Read(wctx); err != nil {
			assert.Equal(t, websocket.StatusCode(4001), websocket.CloseStatus(err), "%v", err)
			break
		}
	}
	require.NoError(t, <-done)
}

func TestRunChecksItsConfig(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	never := func(string) { t.Error("ready called") }
	for _, cfg := range []config{
		{addr: "127.0.0.1:0", instruments: 0, rate: 1},
		{addr: "127.0.0.1:0", instruments: maxInstruments + 1, rate: 1},
		{addr: "127.0.0.1:0", instruments: 1, rate: 0},
	} {
		assert.Error(t, run(context.Background(), cfg, log, never), "%+v", cfg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	assert.Error(t, run(context.Background(), config{addr: ln.Addr().String(), instruments: 1, rate: 1}, log, never))
}
