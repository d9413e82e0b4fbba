package redis_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/redis/internal/redistest"
	"github.com/fanout-go/fanout/client"
	"github.com/fanout-go/fanout/internal/failovertest"
)

// frozenBroker is a broker whose deliveries to its node the test can hold,
// as a node stopped with SIGSTOP holds them in its socket: the node serves
// nothing new meanwhile, and gets everything, in order, when it runs again.
// recovered receives after each Recover that is not a bind's.
type frozenBroker struct {
	fanout.Broker
	recovered chan struct{}

	mu     sync.Mutex // guards the fields below, and orders deliveries
	sink   fanout.Sink
	frozen bool
	held   []fanout.Publication
}

func (b *frozenBroker) Bind(sink fanout.Sink) {
	b.sink = sink
	b.Broker.Bind(frozenSink{b})
}

func (b *frozenBroker) Recover(ctx context.Context, topic string, after fanout.Position, limit int) (fanout.Recovery, error) {
	rec, err := b.Broker.Recover(ctx, topic, after, limit)
	if after.Epoch != "" {
		select {
		case b.recovered <- struct{}{}:
		default:
		}
	}
	return rec, err
}

func (b *frozenBroker) freeze() {
	b.mu.Lock()
	b.frozen = true
	b.mu.Unlock()
}

func (b *frozenBroker) thaw() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.held {
		b.sink.Receive(p)
	}
	b.held, b.frozen = nil, false
}

type frozenSink struct{ b *frozenBroker }

func (s frozenSink) Receive(p fanout.Publication) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.b.frozen {
		s.b.held = append(s.b.held, p)
		return
	}
	s.b.sink.Receive(p)
}

func (s frozenSink) Reconnected() { s.b.sink.Reconnected() }

// runWS follows foTopic with the Go WebSocket client, which reconnects and
// resumes through hc, until ctx ends.
func runWS(ctx context.Context, t *testing.T, hc *http.Client, r *recorder) {
	var conns atomic.Int32
	cl, err := client.Dial(ctx, "ws://gateway/ws", client.Options{
		HTTPClient: hc, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, QueueSize: foHistory,
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
		r.record(m.Kind.String(), m.Position(), int(conns.Load()))
	}
}

// TestFailoverOntoAFrozenNode moves clients onto a node whose broker
// deliveries are held (a frozen process) while a publisher publishes more
// than the broker's history: the clients resuming there wait for the node
// instead of being reset, and the node's own clients, whose backlog its
// stream brings when it runs again, are not reset either.
func TestFailoverOntoAFrozenNode(t *testing.T) {
	const history = 64
	srv := redistest.Start(t)
	fb := &frozenBroker{recovered: make(chan struct{}, 1)}
	frozen := foHubHistory(t, srv.Addr, history, func(b fanout.Broker) fanout.Broker { fb.Broker = b; return fb })
	gws := []*failovertest.Gateway{failovertest.NewGateway(t, "0", foHubHistory(t, srv.Addr, history, nil)), failovertest.NewGateway(t, "1", frozen)}
	pub := foHubHistory(t, srv.Addr, history, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var recs []*recorder
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for i := range 12 {
		home := i % 2 // six move from gateway 0 onto the frozen one; six are there already
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
	failovertest.WaitAll(t, recs, "every client receives updates", func(r *recorder) bool { n, _, _ := r.state(); return n > 20 })

	fb.freeze()
	var mark fanout.Position
	for _, r := range recs {
		if _, last, _ := r.state(); last.Seq > mark.Seq {
			mark = last
		}
	}
	// More than the broker's history goes by while the node is frozen.
	failovertest.WaitAll(t, recs, "the clients of gateway 0 are past the history", func(r *recorder) bool {
		_, last, _ := r.state()
		return r.home == 1 || last.Seq > mark.Seq+2*history
	})
	killed := time.Now()
	gws[0].Kill()
	<-fb.recovered // a resume there asked the broker to catch up
	fb.thaw()
	failovertest.WaitAll(t, recs, "every moved client receives again", func(r *recorder) bool {
		_, _, back := r.state()
		return r.home == 1 || len(back) > 0
	})
	close(stop)
	res := <-published
	require.NoError(t, res.err)
	failovertest.WaitAll(t, recs, "every client reaches the last position", func(r *recorder) bool {
		_, last, _ := r.state()
		return last == res.last
	})

	var lat []time.Duration
	for _, r := range recs {
		r.mu.Lock()
		require.Zero(t, r.resets, "%s was reset", r.name)
		require.Zero(t, r.gaps, "%s missed messages", r.name)
		require.Zero(t, r.dups, "%s got messages twice", r.name)
		if r.home == 0 {
			lat = append(lat, r.back[0].Sub(killed))
		}
		r.mu.Unlock()
	}
	require.Zero(t, frozen.Stats().Resets, "the frozen node reset its topic")
	p50, p99 := failovertest.Percentiles(lat)
	t.Logf("WebSocket failover onto a frozen node (history %d, %d messages behind): %d clients moved; kill to receiving again p50 %v, p99 %v",
		history, res.last.Seq-mark.Seq, len(lat), p50.Round(time.Millisecond), p99.Round(time.Millisecond))
}
