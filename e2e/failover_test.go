package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/redis"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
	"github.com/fanout-go/fanout/internal/failovertest"
)

// cluster serves the scoreboard from gateways on one real redis-server,
// in process, behind a load balancer (the page's origin) that sends every
// request to the first live gateway. A feed node publishes through its
// own hub, as the gateway example's -feed node does.
type cluster struct {
	t     *testing.T
	redis *redisProc
	ts    *httptest.Server // the load balancer

	mu  sync.Mutex // guards gws and ids
	gws []*clusterGateway
	ids map[string]int64 // the last event id per game

	in *game.Ingester
}

// clusterGateway is one gateway: a hub on Redis and the scoreboard server.
type clusterGateway struct {
	hub *fanout.Hub
	srv *game.Server
}

// redisHub returns a hub on the cluster's Redis, closed by the test's
// cleanup unless closed before.
func (c *cluster) redisHub() *fanout.Hub {
	c.t.Helper()
	b, err := redis.New(redis.Options{Addr: c.redis.Addr, HealthInterval: 100 * time.Millisecond})
	if err != nil {
		c.t.Fatal(err)
	}
	h := fanout.NewHub(fanout.Options{Broker: b, BrokerTimeout: 2 * time.Second})
	c.t.Cleanup(func() { _ = h.Close() })
	return h
}

// newCluster starts Redis, the feed node with g1 (Northbridge 1-0
// Eastport Rovers after 12 minutes) and g2 (not started), and n gateways.
func newCluster(t *testing.T, n int) *cluster {
	c := &cluster{t: t, redis: startRedis(t), ids: map[string]int64{}}
	c.in = game.NewIngester(c.redisHub(), slog.New(slog.DiscardHandler))
	for _, g := range []game.Game{game.NewGame("g1", northbridge, eastport), game.NewGame("g2", kelham, ravensmoor)} {
		if err := c.in.AddGame(t.Context(), g); err != nil {
			t.Fatal(err)
		}
	}
	c.event("g1", game.KickOff, 0, "", "")
	c.event("g1", game.Goal, 12, game.Home, "Okafor")
	for range n {
		c.addGateway()
	}
	c.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		var srv *game.Server
		if len(c.gws) > 0 {
			srv = c.gws[0].srv
		}
		c.mu.Unlock()
		if srv == nil {
			http.Error(w, "no gateway is up", http.StatusBadGateway)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		c.mu.Lock()
		gws := c.gws
		c.gws = nil
		c.mu.Unlock()
		for _, g := range gws {
			_ = g.srv.Close()
		}
		c.ts.Close()
	})
	return c
}

// addGateway starts one more gateway, last in the balancer's order.
func (c *cluster) addGateway() {
	hub := c.redisHub()
	c.mu.Lock()
	c.gws = append(c.gws, &clusterGateway{hub: hub, srv: game.NewServer(hub, game.ServerOptions{})})
	c.mu.Unlock()
}

// kill kills the serving gateway as a crash would: its connections are
// closed at once and its hub is gone; the balancer sends new requests to
// the next one.
func (c *cluster) kill() {
	c.mu.Lock()
	g := c.gws[0]
	c.gws = c.gws[1:]
	c.mu.Unlock()
	_ = g.srv.Close()
	_ = g.hub.Close()
}

// event feeds the next event of a game through the feed node; it must be
// accepted. While Redis is down it waits for it.
func (c *cluster) event(id string, kind game.Kind, minute int, side game.Side, player string) {
	c.t.Helper()
	if err := c.ingest(id, kind, minute, side, player); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) ingest(id string, kind game.Kind, minute int, side game.Side, player string) error {
	c.mu.Lock()
	c.ids[id]++
	ev := game.Event{Game: id, ID: c.ids[id], Kind: kind, Minute: minute, Side: side, Player: player}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.t.Context(), 30*time.Second)
	defer cancel()
	if err := c.in.Ingest(ctx, ev); err != nil {
		return fmt.Errorf("ingest %+v: %w", ev, err)
	}
	return nil
}

// The page moves to another gateway each time its gateway is killed, a
// goal being scored meanwhile: it resumes there and shows every goal, with
// no reset. The time from the kill to the page showing the goal is logged.
func TestBrowserFailsOverToAnotherGateway(t *testing.T) {
	c := newCluster(t, 2)
	b := newBrowser(t)
	b.open(c.ts.URL)
	b.waitOpen("ws")
	b.waitScore("g1", 1, 0)

	var lat []time.Duration
	for round := range 3 {
		from := b.position(game.Topic("g1"))
		killed := time.Now()
		c.kill()
		c.addGateway() // two gateways again, for the next round
		c.event("g1", game.Goal, 20+5*round, game.Away, "Berg")
		b.waitScore("g1", 1, round+1)
		lat = append(lat, time.Since(killed))
		checkResumed(t, b.pageLog(), game.Topic("g1"), from, 1)
	}
	b.waitOpen("ws")
	b.waitScore("g2", 0, 0)
	p50, p99 := failovertest.Percentiles(lat)
	t.Logf("browser failover, gateway killed (%d rounds): kill to the goal on the page p50 %v, p99 %v",
		len(lat), p50.Round(time.Millisecond), p99.Round(time.Millisecond))
	b.screenshot("failed-over")
}

// Through a Redis kill and restart (empty: new epochs), the feed waits for
// Redis and the page, reset to the new epochs, shows their state: the goal
// scored meanwhile, and the other game's unchanged score, both in the new
// epoch, never the old epoch's.
func TestBrowserRidesOutARedisRestart(t *testing.T) {
	c := newCluster(t, 1)
	b := newBrowser(t)
	b.open(c.ts.URL)
	b.waitOpen("ws")
	b.waitScore("g1", 1, 0)
	b.waitScore("g2", 0, 0)
	before := b.position(game.Topic("g1"))

	killed := time.Now()
	c.redis.kill()
	done := make(chan error, 1)
	go func() { done <- c.ingest("g1", game.Goal, 33, game.Home, "Abara") }() // waits for Redis
	c.redis.restart()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b.waitScore("g1", 2, 0)
	shown := time.Since(killed)
	for _, id := range []string{"g1", "g2"} {
		b.waitFor(id+" in the new epoch", fmt.Sprintf(`(() => {
			const p = window.scoreboard.client.position(%q);
			return p && p.epoch !== %q && p.seq > 0;
		})()`, game.Topic(id), before.Epoch), describePage)
	}
	b.waitScore("g1", 2, 0)
	b.waitScore("g2", 0, 0)
	t.Logf("browser through a Redis restart: kill to the new epoch's goal on the page %v", shown.Round(time.Millisecond))
	b.screenshot("redis-restarted")
}
