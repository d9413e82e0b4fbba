// Package failovertest holds what the failover tests of the broker modules
// (broker/redis, broker/nats) share: gateways run in process that a test
// kills as a process would die, a client that plays the load balancer in
// front of them, a publisher that rides out broker outages, the clients
// that record what they see (recorder.go), and the failover-time
// percentiles. It is imported by those tests only.
package failovertest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/serve"
)

// A Gateway is one gateway node: a hub and its transport set on an
// httptest server.
type Gateway struct {
	hub  *fanout.Hub
	set  *serve.Set
	srv  *httptest.Server
	down atomic.Bool
	once sync.Once
}

// NewGateway serves hub's transports, naming itself name in the header
// X-Gateway of its answers when name is not empty; the test's cleanup
// kills it.
func NewGateway(t *testing.T, name string, hub *fanout.Hub) *Gateway {
	g := &Gateway{hub: hub, set: serve.New(hub, serve.Options{})}
	mux := http.NewServeMux()
	g.set.Mount(mux, "")
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name != "" {
			w.Header().Set("X-Gateway", name)
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(g.Kill)
	return g
}

// Kill ends the gateway as a killed process would: every connection
// closed at once, no drain, the hub gone. It is idempotent.
func (g *Gateway) Kill() {
	g.once.Do(func() {
		g.down.Store(true)
		_ = g.set.Close() // the streams and WebSockets: hijacked, the server does not close them
		g.srv.CloseClientConnections()
		g.srv.Close()
		_ = g.hub.Close()
	})
}

// Balancer returns an HTTP client that plays a load balancer: it connects
// to gws[home], or to the next gateway that is up.
func Balancer(gws []*Gateway, home int) *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			for i := range gws {
				if g := gws[(home+i)%len(gws)]; !g.down.Load() {
					return d.DialContext(ctx, network, g.srv.Listener.Addr().String())
				}
			}
			return nil, fmt.Errorf("every gateway is down")
		},
	}}
}

// Publishing publishes on topic through hub every few milliseconds until
// stop is closed, riding out broker outages, and returns the last position
// published.
func Publishing(ctx context.Context, hub *fanout.Hub, topic string, stop <-chan struct{}) (last fanout.Position, err error) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for i := 1; ; i++ {
		select {
		case <-stop:
			return last, nil
		case <-tick.C:
		}
		data := fmt.Appendf(nil, `{"n":%d}`, i)
		if last, err = hub.PublishStateRetry(ctx, topic, data, data, fanout.Retry{}); err != nil {
			return last, err
		}
	}
}

// WaitAll waits, up to a bound, until cond holds for every one of recs.
func WaitAll[R any](t *testing.T, recs []R, what string, cond func(R) bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, r := range recs {
			if !cond(r) {
				return false
			}
		}
		return true
	}, 30*time.Second, 5*time.Millisecond, what)
}

// Percentiles returns the p50 and p99 of ds.
func Percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*99/100)]
}
