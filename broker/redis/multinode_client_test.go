package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/redis/internal/redistest"
	"github.com/fanout-go/fanout/client"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/require"
)

// gateway is one node served over WebSocket.
type gateway struct {
	addr    string
	handler *ws.Handler
	srv     *httptest.Server
	down    atomic.Bool
}

func (g *gateway) kill(h *fanout.Hub) error {
	g.down.Store(true)
	err := g.handler.Close() // the connections; http.Server does not close hijacked ones
	g.srv.Close()
	return errors.Join(err, h.Close())
}

// lbClient returns an HTTP client that plays a load balancer: it connects
// to the gateway home, or to the next one that is up.
func lbClient(gws []*gateway, home int) *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			for i := range gws {
				if g := gws[(home+i)%len(gws)]; !g.down.Load() {
					return d.DialContext(ctx, network, g.addr)
				}
			}
			return nil, fmt.Errorf("every gateway is down")
		},
	}}
}

// clientResult is what one Go client saw.
type clientResult struct {
	name       string
	resets     int // resets, but for back-resets
	backResets int // see consumer.backResets
	dups       int
	reconns    int
	epochs     map[string]bool
	seen       map[fanout.Position]bool
	last       fanout.Position
	lastData   string
	ready      bool // the client has had the first message
	err        error
}

// TestMultiNodeGoClients runs the Go client against three WebSocket
// gateways on one Redis: a publisher on gateway 0, two clients homed on
// each gateway, and a disruption a third of the way. Every client ends at
// the publisher's last message, having seen each epoch's messages in order
// with no gap; it changes epoch only through a Reset.
func TestMultiNodeGoClients(t *testing.T) {
	const n = 1500
	t.Run("GatewayDies", func(t *testing.T) {
		// Gateway 2 dies; its clients reconnect through the "load
		// balancer" to gateway 0 and resume from their last message:
		// nothing lost, no reset, no duplicate.
		c, gws := newGateways(t)
		start, results := runClients(t, c, gws, n, func() {
			c.closed[2] = true
			require.NoError(t, gws[2].kill(c.hubs[2]))
		})
		for _, r := range results {
			require.Zero(t, r.resets, r.name)
			require.Len(t, r.epochs, 1, r.name)
			require.Equal(t, start.Seq+n+1, r.last.Seq, r.name)
			for q := start.Seq; q <= r.last.Seq; q++ {
				require.True(t, r.seen[fanout.Position{Epoch: r.last.Epoch, Seq: q}], "%s missed seq %d", r.name, q)
			}
			if strings.HasPrefix(r.name, "client2.") {
				require.Positive(t, r.reconns, "%s moved to another gateway", r.name)
			}
		}
	})
	t.Run("RedisRestarts", func(t *testing.T) {
		c, gws := newGateways(t)
		_, results := runClients(t, c, gws, n, func() {
			c.srv.Kill()
			c.srv.Restart()
		})
		for _, r := range results {
			require.Len(t, r.epochs, 2, r.name)
			require.NotZero(t, r.resets, "%s changed epoch without a reset", r.name)
		}
	})
	t.Run("FlushAll", func(t *testing.T) {
		c, gws := newGateways(t)
		_, results := runClients(t, c, gws, n, func() {
			_, err := redistest.Do(c.srv.Addr, "FLUSHALL")
			require.NoError(t, err)
		})
		for _, r := range results {
			require.Len(t, r.epochs, 2, r.name)
			require.NotZero(t, r.resets, "%s changed epoch without a reset", r.name)
		}
	})
}

// newGateways starts three hubs on one Redis, each behind a WebSocket
// handler.
func newGateways(t *testing.T) (*cluster, []*gateway) {
	c := newCluster(t, 3)
	gws := make([]*gateway, len(c.hubs))
	for i, h := range c.hubs {
		g := &gateway{handler: ws.NewHandler(h, ws.Options{QueueSize: mnQueue})}
		g.srv = httptest.NewServer(g.handler)
		g.addr = strings.TrimPrefix(g.srv.URL, "http://")
		gws[i] = g
		t.Cleanup(func() {
			if !g.down.Load() {
				require.NoError(t, g.handler.Close())
				g.srv.Close()
			}
		})
	}
	return c, gws
}

// runClients connects two clients homed on each gateway, publishes a
// first message and waits until every client has it, then runs the
// publisher on hub 0 and calls disrupt a third of the way. It returns the
// first message's position and what each client saw, once every client
// reached the end mark; it fails the test on a gap.
func runClients(t *testing.T, c *cluster, gws []*gateway, n int, disrupt func()) (fanout.Position, []clientResult) {
	ctx := ctxT(t)
	log := &sentLog{data: make(map[fanout.Position]string)}
	results := make(chan clientResult, 2*len(gws)+1)
	readyWant := 2 * len(gws)
	ready := make(chan struct{}, readyWant)
	var wg sync.WaitGroup
	for i := range gws {
		for j := range 2 {
			var reconns atomic.Int32
			cl, err := client.Dial(ctx, "ws://gateway/", client.Options{
				HTTPClient: lbClient(gws, i),
				MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
				QueueSize: mnQueue,
				OnState: func(s client.State, _ error) {
					if s == client.Connected {
						reconns.Add(1)
					}
				},
			})
			require.NoError(t, err)
			t.Cleanup(func() { _ = cl.Close() })
			require.NoError(t, cl.Subscribe(mnTopic))
			wg.Go(func() {
				r := clientResult{
					name:   fmt.Sprintf("client%d.%d", i, j),
					epochs: map[string]bool{}, seen: map[fanout.Position]bool{},
				}
				defer func() { r.reconns = int(reconns.Load()) - 1; results <- r }()
				r.err = readClient(ctx, cl, &r, log, ready)
			})
		}
	}
	// The clients subscribe asynchronously: so that none joins
	// mid-stream, wait until each has the first message.
	start, err := c.hubs[0].PublishState(mnTopic, []byte(`{"start":true}`), []byte(`{"start":true}`))
	require.NoError(t, err)
	for range readyWant {
		select {
		case <-ready:
		case <-ctx.Done():
			t.Fatal("the clients did not receive the first message")
		}
	}
	mid := make(chan struct{})
	wg.Go(func() {
		if err := publisher(t, c.hubs[0], n, n/3, mid, log); err != nil {
			results <- clientResult{name: "publisher", err: err}
		}
	})
	select {
	case <-mid:
		disrupt()
	case <-ctx.Done():
	}
	wg.Wait()
	close(results)
	var out []clientResult
	for r := range results {
		require.NoError(t, r.err)
		t.Logf("%s: %d positions, %d resets, %d back-resets, %d duplicates, %d epochs, %d reconnects, ended at %v",
			r.name, len(r.seen), r.resets, r.backResets, r.dups, len(r.epochs), r.reconns, r.last)
		require.Equal(t, endMark, r.lastData, r.name)
		require.Zero(t, r.backResets, "%s was reset back to a position it had seen", r.name)
		require.Zero(t, r.dups, "%s saw positions twice", r.name)
		out = append(out, r)
	}
	return start, out
}

// readClient reads cl until the end mark, checking each message against
// the previous one and the publisher's log. It signals ready after the
// first published message (seq 1 or later).
func readClient(ctx context.Context, cl *client.Client, r *clientResult, log *sentLog, ready chan<- struct{}) error {
	for {
		m, err := cl.Next(ctx)
		if err != nil {
			return fmt.Errorf("%s after %v: %w", r.name, r.last, err)
		}
		pos := fanout.Position{Epoch: m.Epoch, Seq: m.Seq}
		switch {
		case m.Kind == fanout.Reset && r.last.Epoch == m.Epoch && m.Seq <= r.last.Seq:
			r.backResets++
		case m.Kind == fanout.Reset:
			r.resets++
		case m.Kind == fanout.Update && (m.Gap || len(r.seen) > 0 && pos != fanout.Position{Epoch: r.last.Epoch, Seq: r.last.Seq + 1}):
			return fmt.Errorf("%s: update %v (gap %v) after %v", r.name, pos, m.Gap, r.last)
		}
		if want, ok := log.get(pos); ok && m.Data != nil && want != string(m.Data) {
			return fmt.Errorf("%s: %v holds %s, published %s", r.name, pos, m.Data, want)
		}
		if r.seen[pos] {
			r.dups++
		}
		r.seen[pos] = true
		r.epochs[m.Epoch] = true
		if !r.ready && m.Seq > 0 {
			// The first message, not a subscription's position-only
			// snapshot at seq 0 (the topic had no message yet).
			r.ready = true
			ready <- struct{}{}
		}
		r.last, r.lastData = pos, string(m.Data)
		if r.lastData == endMark {
			return nil
		}
	}
}
