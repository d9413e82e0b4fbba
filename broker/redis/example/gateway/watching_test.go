package main

import (
	"context"
	"testing"
	"time"

	"github.com/fanout-go/fanout/broker/redis/internal/redistest"
	"github.com/stretchr/testify/require"
)

// TestWatchingAcrossGateways: a game watched by a client of each gateway
// counts 2 on both, as the page's "N watching" shows; when one leaves,
// the other sees 1.
func TestWatchingAcrossGateways(t *testing.T) {
	srv := redistest.Start(t)
	feedSide := gateway(t, config{addr: "127.0.0.1:0", redis: srv.Addr, feed: true, rate: 50})
	other := gateway(t, config{addr: "127.0.0.1:0", redis: srv.Addr})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := dial(t, ctx, feedSide)
	topic := a.followFirstGame()
	a.waitCount(topic, 1)
	b := dial(t, ctx, other)
	b.subscribe(topic)
	b.waitCount(topic, 2)
	a.waitCount(topic, 2)
	require.NoError(t, b.c.CloseNow())
	a.waitCount(topic, 1)
}

// waitCount reads until an occupancy message of topic counts want.
func (c *client) waitCount(topic string, want int) {
	c.t.Helper()
	for {
		m := c.read()
		if m.Type == "occupancy" && m.Topic == topic && m.Count == want {
			return
		}
	}
}
