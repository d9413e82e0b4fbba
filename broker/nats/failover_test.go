package nats_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	natsbroker "github.com/fanout-go/fanout/broker/nats"
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

			var recs []*failovertest.Recorder
			var wg sync.WaitGroup
			defer wg.Wait()
			defer cancel()
			for i := range 12 {
				home := i % 2
				r := &failovertest.Recorder{Name: fmt.Sprintf("WS%d@%d", i, home), Home: home}
				recs = append(recs, r)
				hc := failovertest.Balancer(gws, home)
				wg.Go(func() { failovertest.RunWS(ctx, t, hc, foTopic, 4096, r) })
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
			failovertest.WaitAll(t, recs, "every client receives updates", func(r *failovertest.Recorder) bool { n, _, _, _ := r.State(); return n > 20 })

			faulted := time.Now()
			affected := func(r *failovertest.Recorder) bool { return r.Home == 1 }
			received := func(r *failovertest.Recorder) (time.Time, bool) {
				_, _, _, back := r.State()
				if len(back) == 0 {
					return time.Time{}, false
				}
				return back[0], true
			}
			if fault == "GatewayKilled" {
				gws[1].Kill()
			} else {
				affected = func(*failovertest.Recorder) bool { return true }
				ns.stop()
				ns.start()
				up := time.Now() // what arrives before was in flight at the stop
				received = func(r *failovertest.Recorder) (time.Time, bool) {
					_, _, at, _ := r.State()
					return at, at.After(up)
				}
			}
			failovertest.WaitAll(t, recs, "every affected client receives again", func(r *failovertest.Recorder) bool {
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
			failovertest.WaitAll(t, recs, "every client reaches the last position", func(r *failovertest.Recorder) bool {
				_, last, _, _ := r.State()
				return last == res.last
			})
			for _, r := range recs {
				r.RequireClean(t)
			}
			p50, p99 := failovertest.Percentiles(lat)
			t.Logf("NATS, %s: %d clients affected; fault to receiving again p50 %v, p99 %v; %d messages published",
				fault, len(lat), p50.Round(time.Millisecond), p99.Round(time.Millisecond), res.last.Seq)
		})
	}
}
