package nats_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	natsbroker "github.com/fanout-go/fanout/broker/nats"
	"github.com/fanout-go/fanout/client"
	"github.com/fanout-go/fanout/internal/failovertest"
)

// The failover tests run gateways in process (a hub on an embedded NATS
// server, the transport set on an httptest server, closed abruptly to play
// a killed process) and Go WebSocket clients behind a "load balancer" that
// sends each client to its home gateway, or to the next one that is up.

const foTopic = "failover.score"

// foHub returns a hub on the NATS server at url, closed by the test's
// cleanup unless the test closed it.
func foHub(t *testing.T, url string) *fanout.Hub {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := natsbroker.New(ctx, natsbroker.Options{URL: url})
	require.NoError(t, err)
	h := fanout.NewHub(fanout.Options{Broker: b, BrokerTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// recorder is what one client saw of foTopic, checked as it comes.
type recorder struct {
	name string
	home int

	mu     sync.Mutex // guards the fields below
	n      int
	last   fanout.Position
	resets int // resets, and snapshots after the first
	gaps   int
	dups   int
	conn   int         // the connection of the last message
	at     time.Time   // when the last message arrived
	back   []time.Time // when each later connection delivered its first message
}

func (r *recorder) record(kind fanout.Kind, p fanout.Position, conn int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.n == 0 && kind == fanout.Snapshot:
	case kind != fanout.Update:
		r.resets++
	case p.Epoch == r.last.Epoch && p.Seq == r.last.Seq+1:
	case p.Epoch == r.last.Epoch && p.Seq <= r.last.Seq:
		r.dups++
	default:
		r.gaps++
	}
	if conn > r.conn {
		if r.conn > 0 {
			r.back = append(r.back, time.Now())
		}
		r.conn = conn
	}
	r.n++
	r.last, r.at = p, time.Now()
}

func (r *recorder) state() (n int, last fanout.Position, at time.Time, back []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.last, r.at, slices.Clone(r.back)
}

// runWS follows foTopic with the Go WebSocket client, which reconnects and
// resumes through hc, until ctx ends.
func runWS(ctx context.Context, t *testing.T, hc *http.Client, r *recorder) {
	var conns atomic.Int32
	cl, err := client.Dial(ctx, "ws://gateway/ws", client.Options{
		HTTPClient: hc, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, QueueSize: 4096,
		OnState: func(s client.State, _ error) {
			if s == client.Connected {
				conns.Add(1)
			}
		},
	})
	if err != nil {
		t.Errorf("%s: dial: %v", r.name, err)
		return
	}
	defer cl.Close()
	if err := cl.Subscribe(foTopic); err != nil {
		t.Errorf("%s: subscribe: %v", r.name, err)
		return
	}
	for {
		m, err := cl.Next(ctx)
		if err != nil {
			return // ctx ended
		}
		r.record(m.Kind, m.Position(), int(conns.Load()))
	}
}

// TestFailoverWebSocketNATS runs WebSocket clients on two gateways on one
// NATS server while a publisher publishes through a third node, through a
// gateway killed (its clients resume on the other) and through the NATS
// server restarted (on the same store: the same epoch goes on). Every
// client ends at the publisher's last position with no reset, gap or
// duplicate; the time from the fault to each affected client receiving
// again is logged as p50/p99.
func TestFailoverWebSocketNATS(t *testing.T) {
	for _, fault := range []string{"GatewayKilled", "ServerRestarted"} {
		t.Run(fault, func(t *testing.T) {
			ns := startServer(t)
			gws := []*failovertest.Gateway{failovertest.NewGateway(t, "", foHub(t, ns.url())), failovertest.NewGateway(t, "", foHub(t, ns.url()))}
			pub := foHub(t, ns.url())
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()

			var recs []*recorder
			var wg sync.WaitGroup
			defer wg.Wait()
			defer cancel()
			for i := range 12 {
				home := i % 2
				r := &recorder{name: fmt.Sprintf("WS%d@%d", i, home), home: home}
				recs = append(recs, r)
				hc := failovertest.Balancer(gws, home)
				wg.Go(func() { runWS(ctx, t, hc, r) })
			}
			stop := make(chan struct{})
			type result struct {
				last fanout.Position
				err  error
			}
			published := make(chan result, 1)
			go func() {
				last, err := failovertest.Publishing(ctx, pub, foTopic, stop)
				published <- result{last, err}
			}()
			failovertest.WaitAll(t, recs, "every client receives updates", func(r *recorder) bool { n, _, _, _ := r.state(); return n > 20 })

			faulted := time.Now()
			affected := func(r *recorder) bool { return r.home == 1 }
			received := func(r *recorder) (time.Time, bool) {
				_, _, _, back := r.state()
				if len(back) == 0 {
					return time.Time{}, false
				}
				return back[0], true
			}
			if fault == "GatewayKilled" {
				gws[1].Kill()
			} else {
				affected = func(*recorder) bool { return true }
				ns.stop()
				ns.start()
				up := time.Now() // what arrives before was in flight at the stop
				received = func(r *recorder) (time.Time, bool) {
					_, _, at, _ := r.state()
					return at, at.After(up)
				}
			}
			failovertest.WaitAll(t, recs, "every affected client receives again", func(r *recorder) bool {
				_, ok := received(r)
				return !affected(r) || ok
			})
			var lat []time.Duration
			for _, r := range recs {
				if at, _ := received(r); affected(r) {
					lat = append(lat, at.Sub(faulted))
				}
			}
			close(stop)
			res := <-published
			require.NoError(t, res.err)
			failovertest.WaitAll(t, recs, "every client reaches the last position", func(r *recorder) bool {
				_, last, _, _ := r.state()
				return last == res.last
			})
			for _, r := range recs {
				r.mu.Lock()
				require.Zero(t, r.resets, "%s was reset", r.name)
				require.Zero(t, r.gaps, "%s missed messages", r.name)
				require.Zero(t, r.dups, "%s got messages twice", r.name)
				r.mu.Unlock()
			}
			p50, p99 := failovertest.Percentiles(lat)
			t.Logf("NATS, %s: %d clients affected; fault to receiving again p50 %v, p99 %v; %d messages published",
				fault, len(lat), p50.Round(time.Millisecond), p99.Round(time.Millisecond), res.last.Seq)
		})
	}
}
