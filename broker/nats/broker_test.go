package nats_test

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	natsbroker "github.com/fanout-go/fanout/broker/nats"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublishSubscribeRecover(t *testing.T) {
	ns := startServer(t)
	b := newBroker(t, ns.url(), natsbroker.Options{})
	s := newSink()
	b.Bind(s)
	ctx := ctxT(t)
	const topic = "game.123:x/y@z~w-v_u" // every byte a topic name may hold

	rec, err := b.Recover(ctx, topic, fanout.Position{}, 10)
	require.NoError(t, err)
	require.Zero(t, rec.Head.Seq)
	require.NotEmpty(t, rec.Head.Epoch)
	require.Nil(t, rec.Snapshot)
	epoch := rec.Head.Epoch

	require.NoError(t, b.Subscribe(ctx, topic))
	require.NoError(t, b.Subscribe(ctx, topic), "subscribing twice does nothing")

	pos, err := b.Publish(ctx, topic, []byte(`{"n":1}`), nil, false)
	require.NoError(t, err)
	assert.Equal(t, fanout.Position{Epoch: epoch, Seq: 1}, pos)
	pos, err = b.Publish(ctx, topic, []byte(`{"n":2}`), []byte(`{"total":2}`), false)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), pos.Seq)
	pos, err = b.Publish(ctx, topic, []byte(`{"n":3}`), nil, false)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), pos.Seq)

	p := s.next(t)
	assert.Equal(t, topic, p.Topic)
	assert.Equal(t, fanout.Position{Epoch: epoch, Seq: 1}, p.Position())
	assert.Equal(t, `{"n":1}`, string(p.Data))
	assert.Nil(t, p.State)
	p = s.next(t)
	assert.Equal(t, uint64(2), p.Seq)
	assert.Equal(t, `{"n":2}`, string(p.Data))
	assert.Equal(t, `{"total":2}`, string(p.State))
	p = s.next(t)
	assert.Equal(t, uint64(3), p.Seq)

	rec, err = b.Recover(ctx, topic, fanout.Position{Epoch: epoch, Seq: 1}, 10)
	require.NoError(t, err)
	assert.Equal(t, fanout.Position{Epoch: epoch, Seq: 3}, rec.Head)
	require.NotNil(t, rec.Snapshot)
	assert.Equal(t, fanout.Position{Epoch: epoch, Seq: 2}, rec.Snapshot.Position())
	assert.Equal(t, `{"total":2}`, string(rec.Snapshot.Data))
	require.Len(t, rec.Messages, 2)
	assert.Equal(t, uint64(2), rec.Messages[0].Seq)
	assert.Equal(t, `{"n":2}`, string(rec.Messages[0].Data))
	assert.Equal(t, uint64(3), rec.Messages[1].Seq)

	rec, err = b.Recover(ctx, topic, fanout.Position{Epoch: epoch, Seq: 0}, 1)
	require.NoError(t, err)
	require.Len(t, rec.Messages, 1, "limit keeps the newest")
	assert.Equal(t, uint64(3), rec.Messages[0].Seq)

	rec, err = b.Recover(ctx, topic, fanout.Position{Epoch: "other", Seq: 1}, 10)
	require.NoError(t, err)
	assert.Empty(t, rec.Messages, "no messages for another epoch")

	require.NoError(t, b.Unsubscribe(ctx, topic))
	require.NoError(t, b.Unsubscribe(ctx, topic), "unsubscribing twice does nothing")
	_, err = b.Publish(ctx, topic, []byte(`{"n":4}`), nil, false)
	require.NoError(t, err)
	require.NoError(t, b.Health())
}

func TestRetainLast(t *testing.T) {
	ns := startServer(t)
	b := newBroker(t, ns.url(), natsbroker.Options{})
	b.Bind(newSink())
	ctx := ctxT(t)
	_, err := b.Publish(ctx, "px", []byte(`1`), nil, true)
	require.NoError(t, err)
	_, err = b.Publish(ctx, "px", []byte(`2`), nil, true)
	require.NoError(t, err)
	_, err = b.Publish(ctx, "px", []byte(`3`), nil, false)
	require.NoError(t, err)
	rec, err := b.Recover(ctx, "px", fanout.Position{}, 10)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), rec.Head.Seq)
	require.NotNil(t, rec.Snapshot)
	assert.Equal(t, uint64(2), rec.Snapshot.Seq)
	assert.Equal(t, `2`, string(rec.Snapshot.Data))
}

func TestInvalidTopic(t *testing.T) {
	ns := startServer(t)
	b := newBroker(t, ns.url(), natsbroker.Options{})
	ctx := ctxT(t)
	for _, topic := range []string{"", "a b", "a*", "a>", "a%b"} {
		_, err := b.Publish(ctx, topic, []byte(`1`), nil, false)
		assert.ErrorIs(t, err, fanout.ErrInvalidTopic, topic)
		assert.ErrorIs(t, b.Subscribe(ctx, topic), fanout.ErrInvalidTopic, topic)
		_, err = b.Recover(ctx, topic, fanout.Position{}, 1)
		assert.ErrorIs(t, err, fanout.ErrInvalidTopic, topic)
	}
}

func TestCloseIdempotent(t *testing.T) {
	ns := startServer(t)
	b, err := natsbroker.New(ctxT(t), natsbroker.Options{URL: ns.url()})
	require.NoError(t, err)
	require.NoError(t, b.Subscribe(ctxT(t), "a"))
	require.NoError(t, b.Close())
	require.NoError(t, b.Close())
	assert.ErrorIs(t, b.Health(), fanout.ErrClosed)
	_, err = b.Publish(ctxT(t), "a", []byte(`1`), nil, false)
	assert.ErrorIs(t, err, fanout.ErrClosed)
	assert.ErrorIs(t, b.Subscribe(ctxT(t), "a"), fanout.ErrClosed)
}

// TestConcurrentPublishers publishes on one topic from several brokers
// (connections) at once: every publish gets its own sequence number, they
// are contiguous, and a subscriber receives them all in order.
func TestConcurrentPublishers(t *testing.T) {
	ns := startServer(t)
	const publishers, each = 4, 40
	brokers := make([]*natsbroker.Broker, publishers)
	for i := range brokers {
		brokers[i] = newBroker(t, ns.url(), natsbroker.Options{})
	}
	s := newSink()
	brokers[0].Bind(s)
	ctx := ctxT(t)
	require.NoError(t, brokers[0].Subscribe(ctx, "hot"))

	var wg sync.WaitGroup
	seqs := make(chan uint64, publishers*each)
	for i, b := range brokers {
		wg.Go(func() {
			for j := range each {
				state := []byte(nil)
				if j%5 == 0 {
					state = fmt.Appendf(nil, `"%d-%d"`, i, j)
				}
				pos, err := b.Publish(ctx, "hot", fmt.Appendf(nil, `"%d-%d"`, i, j), state, false)
				if !assert.NoError(t, err) {
					return
				}
				seqs <- pos.Seq
			}
		})
	}
	wg.Wait()
	close(seqs)
	seen := make(map[uint64]bool)
	for seq := range seqs {
		require.False(t, seen[seq], "seq %d assigned twice", seq)
		seen[seq] = true
	}
	for seq := uint64(1); seq <= publishers*each; seq++ {
		require.True(t, seen[seq], "seq %d missing", seq)
	}
	for want := uint64(1); want <= publishers*each; want++ {
		require.Equal(t, want, s.next(t).Seq)
	}
}

func TestHistoryCap(t *testing.T) {
	ns := startServer(t)
	b := newBroker(t, ns.url(), natsbroker.Options{HistorySize: 5})
	ctx := ctxT(t)
	_, err := b.Publish(ctx, "capped", []byte(`0`), []byte(`"s1"`), false)
	require.NoError(t, err)
	for i := 2; i <= 12; i++ {
		_, err := b.Publish(ctx, "capped", fmt.Appendf(nil, "%d", i), nil, false)
		require.NoError(t, err)
	}
	rec, err := b.Recover(ctx, "capped", fanout.Position{}, 100)
	require.NoError(t, err)
	require.Len(t, rec.Messages, 5, "an empty epoch stands for the current one")
	rec, err = b.Recover(ctx, "capped", fanout.Position{Epoch: rec.Head.Epoch, Seq: 2}, 100)
	require.NoError(t, err)
	assert.Equal(t, uint64(12), rec.Head.Seq)
	require.Len(t, rec.Messages, 5)
	for i, m := range rec.Messages {
		assert.Equal(t, uint64(8+i), m.Seq)
	}
	require.NotNil(t, rec.Snapshot, "the snapshot outlives the history around it")
	assert.Equal(t, uint64(1), rec.Snapshot.Seq)
	assert.Equal(t, `"s1"`, string(rec.Snapshot.Data))
}

// TestStreamDeletedNewEpoch loses the stream's data: the topic starts
// again at seq 1 in a new epoch.
func TestStreamDeletedNewEpoch(t *testing.T) {
	ns := startServer(t)
	b := newBroker(t, ns.url(), natsbroker.Options{Stream: "LOST"})
	ctx := ctxT(t)
	old, err := b.Publish(ctx, "t", []byte(`1`), []byte(`{}`), false)
	require.NoError(t, err)
	_, err = b.Publish(ctx, "t", []byte(`2`), nil, false)
	require.NoError(t, err)

	nc, err := nats.Connect(ns.url())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.NoError(t, js.DeleteStream(ctx, "LOST"))

	rec, err := b.Recover(ctx, "t", old, 10)
	require.NoError(t, err)
	assert.NotEqual(t, old.Epoch, rec.Head.Epoch)
	assert.Zero(t, rec.Head.Seq)
	assert.Nil(t, rec.Snapshot)

	pos, err := b.Publish(ctx, "t", []byte(`3`), nil, false)
	require.NoError(t, err)
	assert.Equal(t, fanout.Position{Epoch: rec.Head.Epoch, Seq: 1}, pos)
}

// TestStreamDeletedWhilePublishing deletes the stream under a publisher:
// the broker creates it again and the topic restarts in a new epoch.
func TestStreamDeletedWhilePublishing(t *testing.T) {
	ns := startServer(t)
	b := newBroker(t, ns.url(), natsbroker.Options{})
	ctx := ctxT(t)
	old, err := b.Publish(ctx, "t", []byte(`1`), nil, false)
	require.NoError(t, err)
	nc, err := nats.Connect(ns.url())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.NoError(t, js.DeleteStream(ctx, natsbroker.DefaultStream))
	pos, err := b.Publish(ctx, "t", []byte(`2`), nil, false)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), pos.Seq)
	assert.NotEqual(t, old.Epoch, pos.Epoch)
}

// TestRecoverLongRange recovers more messages than Recover reads one by
// one, so that they come through a consumer: the newest limit of them,
// and no more than history holds.
func TestRecoverLongRange(t *testing.T) {
	ns := startServer(t)
	b := newBroker(t, ns.url(), natsbroker.Options{HistorySize: 50})
	ctx := ctxT(t)
	var head fanout.Position
	for i := 1; i <= 60; i++ {
		var err error
		head, err = b.Publish(ctx, "long", fmt.Appendf(nil, "%d", i), nil, false)
		require.NoError(t, err)
		_, err = b.Publish(ctx, "other", fmt.Appendf(nil, "%d", i), nil, false)
		require.NoError(t, err)
	}
	for _, c := range []struct {
		after       uint64
		limit       int
		first, last uint64
	}{
		{5, 30, 31, 60},
		{5, 100, 11, 60},
		{40, 100, 41, 60},
		{58, 100, 59, 60},
	} {
		rec, err := b.Recover(ctx, "long", fanout.Position{Epoch: head.Epoch, Seq: c.after}, c.limit)
		require.NoError(t, err)
		require.Len(t, rec.Messages, int(c.last-c.first+1), "after %d limit %d", c.after, c.limit)
		for i, m := range rec.Messages {
			assert.Equal(t, c.first+uint64(i), m.Seq)
			assert.Equal(t, fmt.Sprint(m.Seq), string(m.Data))
			assert.Equal(t, "long", m.Topic)
		}
	}
}

// blockingSink blocks its first Receive until released.
type blockingSink struct {
	*sink
	release chan struct{}
	once    sync.Once
}

func (s *blockingSink) Receive(p fanout.Publication) {
	s.once.Do(func() { <-s.release })
	s.sink.Receive(p)
}

// TestSlowConsumerSignalsLoss fills ReceiveBuffer while the sink is busy:
// NATS drops publications, and the broker tells the sink as it does after
// a reconnect, so the node repairs without waiting for the next one.
func TestSlowConsumerSignalsLoss(t *testing.T) {
	ns := startServer(t)
	nc, err := nats.Connect(ns.url(), nats.ReconnectBufSize(-1), nats.MaxReconnects(-1))
	require.NoError(t, err)
	defer nc.Close()
	b := newBroker(t, "", natsbroker.Options{Conn: nc, ReceiveBuffer: 1})
	s := &blockingSink{sink: newSink(), release: make(chan struct{})}
	b.Bind(s)
	ctx := ctxT(t)
	require.NoError(t, b.Subscribe(ctx, "slow"))
	for i := range 20 {
		_, err := b.Publish(ctx, "slow", fmt.Appendf(nil, "%d", i), nil, false)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return errors.Is(nc.LastError(), nats.ErrSlowConsumer) },
		defaultWait, tick, "no publication was dropped")
	close(s.release)
	s.waitReconnected(t)
	assert.Equal(t, uint64(1), s.next(t).Seq)
}

// TestMaxAgeNewLife lets a topic expire completely under MaxAge: Recover
// then announces a new epoch, stable until the next publish, which uses
// it; positions from the old life are never served again.
func TestMaxAgeNewLife(t *testing.T) {
	ns := startServer(t)
	b := newBroker(t, ns.url(), natsbroker.Options{MaxAge: 300 * time.Millisecond})
	s := newSink()
	b.Bind(s)
	ctx := ctxT(t)
	require.NoError(t, b.Subscribe(ctx, "brief"))
	old, err := b.Publish(ctx, "brief", []byte(`1`), []byte(`"s"`), false)
	require.NoError(t, err)
	require.Equal(t, uint64(1), old.Seq)
	assert.Equal(t, old, s.next(t).Position())

	var rec fanout.Recovery
	require.Eventually(t, func() bool {
		rec, err = b.Recover(ctx, "brief", old, 10)
		return err == nil && rec.Head.Seq == 0
	}, defaultWait, tick, "the topic did not expire")
	assert.NotEqual(t, old.Epoch, rec.Head.Epoch)
	assert.Nil(t, rec.Snapshot)
	assert.Empty(t, rec.Messages)

	pos, err := b.Publish(ctx, "brief", []byte(`2`), nil, false)
	require.NoError(t, err)
	if pos.Seq == 1 { // else the marker expired meanwhile: a newer life
		assert.Equal(t, fanout.Position{Epoch: rec.Head.Epoch, Seq: 1}, pos)
	}
	assert.NotEqual(t, old.Epoch, pos.Epoch)
	assert.Equal(t, pos, s.next(t).Position(), "the marker is not delivered")
}

// TestStreamRecreatedByManyNodes deletes the stream and has several nodes
// publish at once: each finds the stream gone and creates it again, at
// the same moment as the others, and every publish succeeds in one new
// epoch.
func TestStreamRecreatedByManyNodes(t *testing.T) {
	ns := startServer(t)
	const nodes, rounds = 6, 8
	brokers := make([]*natsbroker.Broker, nodes)
	for i := range brokers {
		brokers[i] = newBroker(t, ns.url(), natsbroker.Options{Stream: "RACE"})
	}
	ctx := ctxT(t)
	nc, err := nats.Connect(ns.url())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	for round := range rounds {
		_, err := brokers[0].Publish(ctx, "t", []byte(`0`), nil, false)
		require.NoError(t, err)
		require.NoError(t, js.DeleteStream(ctx, "RACE"))
		epochs := make([]string, nodes)
		var wg sync.WaitGroup
		for i, b := range brokers {
			wg.Go(func() {
				pos, err := b.Publish(ctx, "t"+strconv.Itoa(i), []byte(`1`), nil, false)
				if assert.NoError(t, err, "round %d node %d", round, i) {
					epochs[i] = pos.Epoch
				}
			})
		}
		wg.Wait()
		for _, e := range epochs {
			assert.Equal(t, epochs[0], e, "round %d: one new stream, one epoch", round)
		}
	}
}
