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

// TestMultiNodeGoClients runs the Go client against three WebSocket
// gateways on one Redis: a publisher on gateway 0, two clients homed on
// each gateway. Gateway 2 dies mid-stream; its clients reconnect through
// the "load balancer" to gateway 0 and resume from their last message.
// Every client sees every message, in order, with no gap and no reset
// but for a back-reset (see consumer.backResets).
func TestMultiNodeGoClients(t *testing.T) {
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
	ctx := ctxT(t)
	const n = 1500
	log := &sentLog{data: make(map[fanout.Position]string)}

	type result struct {
		name       string
		resets     int
		backResets int // see consumer.backResets
		dups       int
		reconns    int
		seen       map[fanout.Position]bool
		last       fanout.Position
		lastData   string
		err        error
	}
	results := make(chan result, 2*len(gws))
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
				r := result{name: fmt.Sprintf("client%d.%d", i, j), seen: map[fanout.Position]bool{}}
				defer func() { r.reconns = int(reconns.Load()) - 1; results <- r }()
				for {
					m, err := cl.Next(ctx)
					if err != nil {
						r.err = fmt.Errorf("%s after %v: %w", r.name, r.last, err)
						return
					}
					pos := fanout.Position{Epoch: m.Epoch, Seq: m.Seq}
					switch {
					case m.Kind == fanout.Reset && r.last.Epoch == m.Epoch && m.Seq <= r.last.Seq:
						r.backResets++
					case m.Kind == fanout.Reset:
						r.resets++
					case m.Kind == fanout.Update && (m.Gap || r.last.Seq != 0 && pos != fanout.Position{Epoch: r.last.Epoch, Seq: r.last.Seq + 1}):
						r.err = fmt.Errorf("%s: update %v (gap %v) after %v", r.name, pos, m.Gap, r.last)
						return
					}
					if r.seen[pos] {
						r.dups++
					}
					r.seen[pos] = true
					if want, ok := log.get(pos); ok && m.Data != nil && want != string(m.Data) {
						r.err = fmt.Errorf("%s: %v holds %s, published %s", r.name, pos, m.Data, want)
						return
					}
					if r.last.Seq == 0 {
						ready <- struct{}{}
					}
					r.last, r.lastData = pos, string(m.Data)
					if r.lastData == endMark {
						return
					}
				}
			})
		}
	}
	// The clients subscribe asynchronously: publish a first message and
	// wait until every client has it, so that none joins mid-stream.
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
			results <- result{name: "publisher", err: err}
		}
	})
	<-mid
	c.closed[2] = true
	require.NoError(t, gws[2].kill(c.hubs[2]))
	wg.Wait()
	close(results)
	for r := range results {
		require.NoError(t, r.err)
		t.Logf("%s: %d positions, %d resets, %d back-resets, %d duplicates, %d reconnects, ended at %v",
			r.name, len(r.seen), r.resets, r.backResets, r.dups, r.reconns, r.last)
		require.Equal(t, endMark, r.lastData, r.name)
		require.Zero(t, r.resets, r.name)
		require.Equal(t, start.Seq+n+1, r.last.Seq, r.name)
		for q := start.Seq; q <= r.last.Seq; q++ {
			require.True(t, r.seen[fanout.Position{Epoch: r.last.Epoch, Seq: q}], "%s missed seq %d", r.name, q)
		}
		if r.dups > 0 {
			require.NotZero(t, r.backResets, "%s saw positions twice without a reset", r.name)
		}
		if strings.HasPrefix(r.name, "client2.") {
			require.Positive(t, r.reconns, "%s moved to another gateway", r.name)
		}
	}
}
