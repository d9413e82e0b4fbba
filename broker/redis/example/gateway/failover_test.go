package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout/broker/redis/internal/redistest"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

// read returns the next wire message of any type.
func (c *client) read() wireMsg {
	for len(c.buf) == 0 {
		_, b, err := c.c.Read(c.ctx)
		require.NoError(c.t, err)
		for _, line := range strings.Split(string(b), "\n") {
			var m wireMsg
			require.NoError(c.t, json.Unmarshal([]byte(line), &m), line)
			c.buf = append(c.buf, m)
		}
	}
	m := c.buf[0]
	c.buf = c.buf[1:]
	return m
}

// watchHandler is a slog.Handler that signals on c when a record's message
// contains s.
type watchHandler struct {
	s string
	c chan struct{}
}

func (h watchHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h watchHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h watchHandler) WithGroup(string) slog.Handler            { return h }
func (h watchHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.s) {
		select {
		case h.c <- struct{}{}:
		default:
		}
	}
	return nil
}

// The feed gateway outlives its Redis: killed and restarted empty, Redis
// comes back with new epochs, and the gateway, which kept running and
// serving, publishes on them. Its clients get a reset to the new epoch and
// then its updates; a client joining afterwards gets every game's state
// and the index, published again by the ingester in the new epoch.
func TestGatewaySurvivesARedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	urls := make(chan string, 1)
	done := make(chan error, 1)
	cfg := config{addr: "127.0.0.1:0", redis: srv.Addr, feed: true, rate: 100}
	down := make(chan struct{}, 1)
	log := slog.New(watchHandler{"broker is down", down})
	go func() { done <- run(ctx, cfg, log, func(url string) { urls <- url }) }()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("run ended: %v", err)
	}
	defer func() {
		cancel()
		assert.NoError(t, <-done)
	}()

	c := dial(t, ctx, url)
	topic := c.followFirstGame()
	before := c.next(topic)
	for before.Type != "update" {
		before = c.next(topic)
	}

	srv.Kill()
	select { // the feed's publish fails (after the hub's BrokerTimeout)
	case <-down:
	case err := <-done:
		done <- err // for the deferred check
		t.Fatalf("the gateway ended when Redis went away: %v", err)
	case <-ctx.Done():
		t.Fatal("the feed never reported the outage")
	}
	srv.Restart()

	// The client is reset to a new epoch, then gets that epoch's updates.
	var m wireMsg
	for m.Type != "update" || m.Epoch == before.Epoch || m.Topic != topic {
		m = c.read()
		if m.Topic == topic && m.Epoch != before.Epoch && m.Type != "occupancy" { // the count, not in the stream
			require.Contains(t, []string{"reset", "update"}, m.Type, "a new epoch comes with a reset: %+v", m)
		}
	}
	select {
	case err := <-done:
		done <- err
		t.Fatalf("the gateway ended when Redis restarted: %v", err)
	default:
	}

	// A page opened now gets the index and every game's state in the new
	// epoch, though a game may have had no event since: the ingester
	// publishes them again once it sees the new epoch (a page that joins
	// before that gets them as updates).
	late := dial(t, ctx, url)
	late.subscribe(game.IndexTopic)
	idx := late.stateOf(game.IndexTopic)
	require.NotEqual(t, before.Epoch, idx.Epoch)
	var index game.Index
	require.NoError(t, json.Unmarshal(idx.Data, &index))
	for _, e := range index.Games {
		late.subscribe(game.Topic(e.ID))
		s := late.stateOf(game.Topic(e.ID))
		require.NotEqual(t, before.Epoch, s.Epoch, "game %s has its state in the new epoch", e.ID)
	}
}

// stateOf returns topic's first snapshot or update that carries data.
func (c *client) stateOf(topic string) wireMsg {
	for {
		if m := c.next(topic); string(m.Data) != "null" && len(m.Data) > 0 {
			return m
		}
	}
}
