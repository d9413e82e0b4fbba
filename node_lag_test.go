package fanout_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/memory"
)

// pausingBroker is a memory connection whose deliveries to its node can be
// paused, as those of a node whose process was stopped (SIGSTOP) are: the
// broker keeps sending, the node's socket keeps what arrives, and the node
// gets it all, in order, when it runs again. recovered receives after each
// Recover that is not a bind's (a repair's or a catch-up's).
type pausingBroker struct {
	*memory.Conn
	recovered chan struct{}

	mu     sync.Mutex // guards the fields below, and orders deliveries
	sink   fanout.Sink
	paused bool
	held   []fanout.Publication
}

func newPausingBroker(mb *memory.Broker) *pausingBroker {
	return &pausingBroker{Conn: mb.Connect(), recovered: make(chan struct{}, 100)}
}

func (b *pausingBroker) Bind(sink fanout.Sink) {
	b.sink = sink
	b.Conn.Bind(pausingSink{b})
}

func (b *pausingBroker) Recover(ctx context.Context, topic string, after fanout.Position, limit int) (fanout.Recovery, error) {
	rec, err := b.Conn.Recover(ctx, topic, after, limit)
	if after.Epoch != "" {
		b.recovered <- struct{}{}
	}
	return rec, err
}

// pause holds the deliveries from now on.
func (b *pausingBroker) pause() {
	b.mu.Lock()
	b.paused = true
	b.mu.Unlock()
}

// resume hands the node what was held, but for the first lost of it,
// then lets deliveries through.
func (b *pausingBroker) resume(lost int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.held[lost:] {
		b.sink.Receive(p)
	}
	b.held, b.paused = nil, false
}

// waitHeld waits until n publications are held: the broker delivers them
// on its own goroutine.
func (b *pausingBroker) waitHeld(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.held) >= n
	}, 10*time.Second, time.Millisecond)
}

type pausingSink struct{ b *pausingBroker }

func (s pausingSink) Receive(p fanout.Publication) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.b.paused {
		s.b.held = append(s.b.held, p)
		return
	}
	s.b.sink.Receive(p)
}

func (s pausingSink) Reconnected() { s.b.sink.Reconnected() }

// laggingNode starts a publishing node and a node whose deliveries the
// test pauses, on a broker keeping 8 messages of history; two subscribers
// of the paused node follow "t".
func laggingNode(t *testing.T, opts fanout.Options) (pub *fanout.Hub, h *fanout.Hub, pb *pausingBroker, subs []*fanout.Subscriber) {
	mb := memory.New(memory.Options{HistorySize: 8})
	hubs, _ := nodeHubs(t, mb, 1, fanout.Options{})
	pb = newPausingBroker(mb)
	opts.Broker = pb
	h = fanout.NewHub(opts)
	t.Cleanup(func() { assert.NoError(t, h.Close()) })
	return hubs[0], h, pb, []*fanout.Subscriber{nodeSub(t, h, "t"), nodeSub(t, h, "t")}
}

// A client resuming on a node that is further behind than the broker's
// history (its deliveries were held: a frozen process) resets nobody: the
// node's subscribers get the backlog from the node's own stream, and the
// resuming client waits for it, then goes on from its position.
func TestNodeBehindHistoryResetsNobody(t *testing.T) {
	pub, h, pb, subs := laggingNode(t, fanout.Options{})
	pb.pause()
	var pos []fanout.Position
	for i := 1; i <= 20; i++ { // more than the broker's history (8)
		pos = append(pos, nodePublish(t, pub, "t", i))
	}
	last := pos[len(pos)-1]

	resumed := make(chan *fanout.Subscriber, 1)
	go func() { // a client of another node, at 20, moves here
		r := h.NewSubscriber(fanout.SubscriberOptions{})
		assert.NoError(t, r.Resume(context.Background(), "t", last))
		resumed <- r
	}()
	<-pb.recovered // the catch-up has the broker's answer: history from 13
	pb.resume(0)   // the node runs again
	r := <-resumed
	defer r.Close()
	assert.Zero(t, r.Len(), "resumed at the head: nothing to deliver")

	for _, s := range subs {
		for i, p := range pos {
			nodeExpect(t, s, fanout.Update, p, fmt.Sprintf("u%d", i+1))
		}
	}
	p21 := nodePublish(t, pub, "t", 21)
	for _, s := range append(subs, r) {
		nodeExpect(t, s, fanout.Update, p21, "u21")
	}
	assert.Zero(t, h.Stats().Resets)
}

// The wait for the node's own stream is bounded: a node whose stream stays
// silent is repaired from the broker after half the broker timeout; only
// then are its subscribers, whose positions history no longer holds,
// reset, and the resuming client goes on from its position.
func TestNodeBehindHistoryWaitsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pub, h, pb, subs := laggingNode(t, fanout.Options{BrokerTimeout: 4 * time.Second})
		pb.pause()
		var last fanout.Position
		for i := 1; i <= 20; i++ {
			last = nodePublish(t, pub, "t", i)
		}
		start := time.Now()
		r := nodeResume(t, h, "t", last)
		assert.Equal(t, 2*time.Second, time.Since(start), "waited half the broker timeout (fake time)")
		assert.Zero(t, r.Len(), "resumed at the head")
		for _, s := range subs {
			nodeExpect(t, s, fanout.Reset, last, "s20")
		}
		pb.resume(0) // the held publications are old news now
		p21 := nodePublish(t, pub, "t", 21)
		for _, s := range append(subs, r) {
			nodeExpect(t, s, fanout.Update, p21, "u21")
		}
	})
}

// A node whose own stream turns out to have lost publications (what it
// delivers after the wait starts with a hole) is repaired at once: its
// subscribers, whose positions history no longer holds, are reset, and the
// resuming client goes on from its position.
func TestNodeBehindHistoryWithALossResets(t *testing.T) {
	pub, h, pb, subs := laggingNode(t, fanout.Options{})
	pb.pause()
	var last fanout.Position
	for i := 1; i <= 20; i++ {
		last = nodePublish(t, pub, "t", i)
	}
	resumed := make(chan *fanout.Subscriber, 1)
	go func() {
		r := h.NewSubscriber(fanout.SubscriberOptions{})
		assert.NoError(t, r.Resume(context.Background(), "t", last))
		resumed <- r
	}()
	<-pb.recovered
	pb.waitHeld(t, 20)
	pb.resume(5) // 1 to 5 were lost on the way
	r := <-resumed
	defer r.Close()
	for _, s := range subs {
		nodeExpect(t, s, fanout.Reset, last, "s20")
	}
	p21 := nodePublish(t, pub, "t", 21)
	for _, s := range append(subs, r) {
		nodeExpect(t, s, fanout.Update, p21, "u21")
	}
}
