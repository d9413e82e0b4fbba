package redis_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/redis/internal/redistest"
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

	var recs []*failovertest.Recorder
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for i := range 12 {
		home := i % 2 // six move from gateway 0 onto the frozen one; six are there already
		r := &failovertest.Recorder{Name: fmt.Sprintf("WS%d@%d", i, home), Home: home}
		recs = append(recs, r)
		hc := failovertest.Balancer(gws, home)
		wg.Go(func() { failovertest.RunWS(ctx, t, hc, foTopic, foHistory, r) })
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

	fb.freeze()
	var mark fanout.Position
	for _, r := range recs {
		if _, last, _, _ := r.State(); last.Seq > mark.Seq {
			mark = last
		}
	}
	// More than the broker's history goes by while the node is frozen.
	failovertest.WaitAll(t, recs, "the clients of gateway 0 are past the history", func(r *failovertest.Recorder) bool {
		_, last, _, _ := r.State()
		return r.Home == 1 || last.Seq > mark.Seq+2*history
	})
	killed := time.Now()
	gws[0].Kill()
	<-fb.recovered // a resume there asked the broker to catch up
	fb.thaw()
	failovertest.WaitAll(t, recs, "every moved client receives again", func(r *failovertest.Recorder) bool {
		_, _, _, back := r.State()
		return r.Home == 1 || len(back) > 0
	})
	close(stop)
	res := <-published
	require.NoError(t, res.err)
	failovertest.WaitAll(t, recs, "every client reaches the last position", func(r *failovertest.Recorder) bool {
		_, last, _, _ := r.State()
		return last == res.last
	})

	var lat []time.Duration
	for _, r := range recs {
		r.RequireClean(t)
		if _, _, _, back := r.State(); r.Home == 0 {
			lat = append(lat, back[0].Sub(killed))
		}
	}
	require.Zero(t, frozen.Stats().Resets, "the frozen node reset its topic")
	p50, p99 := failovertest.Percentiles(lat)
	t.Logf("WebSocket failover onto a frozen node (history %d, %d messages behind): %d clients moved; kill to receiving again p50 %v, p99 %v",
		history, res.last.Seq-mark.Seq, len(lat), p50.Round(time.Millisecond), p99.Round(time.Millisecond))
}
