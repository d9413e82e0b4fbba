package redis_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	redisbroker "github.com/fanout-go/fanout/broker/redis"
	"github.com/fanout-go/fanout/broker/redis/internal/redistest"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublishRecover(t *testing.T) {
	srv := redistest.Start(t)
	b, _ := newBroker(t, srv, redisbroker.Options{})
	ctx := ctxT(t)

	rec, err := b.Recover(ctx, "cold", fanout.Position{}, 10)
	require.NoError(t, err)
	assert.Equal(t, uint64(0), rec.Head.Seq)
	assert.Len(t, rec.Head.Epoch, 8, "an unknown topic gets a fresh epoch")
	assert.Nil(t, rec.Snapshot)
	assert.Empty(t, rec.Messages)

	p1, err := b.Publish(ctx, "cold", []byte("a"), nil, false)
	require.NoError(t, err)
	assert.Equal(t, fanout.Position{Epoch: rec.Head.Epoch, Seq: 1}, p1, "Recover's epoch holds for the next publishes")
	for _, d := range []string{"b", "c"} {
		_, err := b.Publish(ctx, "cold", []byte(d), nil, false)
		require.NoError(t, err)
	}

	rec, err = b.Recover(ctx, "cold", p1, 10)
	require.NoError(t, err)
	assert.Equal(t, fanout.Position{Epoch: p1.Epoch, Seq: 3}, rec.Head)
	assert.Equal(t, []string{"b", "c"}, datas(rec.Messages))
	assert.Equal(t, []uint64{2, 3}, seqs(rec.Messages))
	for _, m := range rec.Messages {
		assert.Equal(t, "cold", m.Topic)
		assert.Equal(t, p1.Epoch, m.Epoch)
	}

	rec, err = b.Recover(ctx, "cold", fanout.Position{Epoch: "other", Seq: 2}, 10)
	require.NoError(t, err)
	assert.Empty(t, rec.Messages, "another epoch recovers no messages")
	assert.Equal(t, uint64(3), rec.Head.Seq)

	rec, err = b.Recover(ctx, "cold", fanout.Position{}, 10)
	require.NoError(t, err)
	assert.Equal(t, []uint64{1, 2, 3}, seqs(rec.Messages), "an empty epoch recovers from the start")

	rec, err = b.Recover(ctx, "cold", fanout.Position{}, 2)
	require.NoError(t, err)
	assert.Equal(t, []uint64{2, 3}, seqs(rec.Messages), "limit keeps the newest")

	rec, err = b.Recover(ctx, "cold", fanout.Position{Epoch: p1.Epoch, Seq: 3}, 10)
	require.NoError(t, err)
	assert.Empty(t, rec.Messages, "nothing after the head")
}

func TestSubscribeReceivesInOrder(t *testing.T) {
	srv := redistest.Start(t)
	pub, _ := newBroker(t, srv, redisbroker.Options{})
	sub, s := newBroker(t, srv, redisbroker.Options{})
	ctx := ctxT(t)

	require.NoError(t, sub.Subscribe(ctx, "game:1"))
	require.NoError(t, sub.Subscribe(ctx, "game:1"), "subscribing twice is no error")
	p1, err := pub.Publish(ctx, "game:1", []byte(`{"goal":1}`), []byte(`{"score":"1-0"}`), false)
	require.NoError(t, err)
	_, err = pub.Publish(ctx, "game:1", []byte(`{"tick":2}`), nil, true)
	require.NoError(t, err)
	_, err = pub.Publish(ctx, "game:1", []byte{}, []byte{}, false)
	require.NoError(t, err)

	got := s.waitFor(t, 3)
	require.Len(t, got, 3)
	assert.Equal(t, "game:1", got[0].Topic)
	assert.Equal(t, p1.Epoch, got[0].Epoch)
	assert.Equal(t, uint64(1), got[0].Seq)
	assert.Equal(t, `{"goal":1}`, string(got[0].Data))
	assert.Equal(t, `{"score":"1-0"}`, string(got[0].State))
	assert.False(t, got[0].RetainLast)
	assert.Equal(t, uint64(2), got[1].Seq)
	assert.Nil(t, got[1].State)
	assert.True(t, got[1].RetainLast)
	assert.Equal(t, uint64(3), got[2].Seq)
	assert.NotNil(t, got[2].State, "an empty state is a state")
	assert.Empty(t, got[2].State)

	// After Unsubscribe, game:1 stays silent: game:2, published later,
	// arrives alone.
	require.NoError(t, sub.Unsubscribe(ctx, "game:1"))
	require.NoError(t, sub.Unsubscribe(ctx, "game:1"), "unsubscribing twice is no error")
	require.NoError(t, sub.Subscribe(ctx, "game:2"))
	_, err = pub.Publish(ctx, "game:1", []byte("x"), nil, false)
	require.NoError(t, err)
	_, err = pub.Publish(ctx, "game:2", []byte("y"), nil, false)
	require.NoError(t, err)
	got = s.waitFor(t, 4)
	require.Len(t, got, 4)
	assert.Equal(t, "game:2", got[3].Topic)
}

func TestConcurrentPublishersGetContiguousSeqs(t *testing.T) {
	srv := redistest.Start(t)
	subB, s := newBroker(t, srv, redisbroker.Options{})
	ctx := ctxT(t)
	require.NoError(t, subB.Subscribe(ctx, "busy"))

	const pubs, each = 4, 250
	brokers := make([]*redisbroker.Broker, pubs)
	for i := range brokers {
		brokers[i], _ = newBroker(t, srv, redisbroker.Options{MaxBatch: 16})
	}
	var wg sync.WaitGroup
	seen := make([][]uint64, pubs*2)
	errs := make([]error, pubs*2)
	for g := range seen {
		wg.Add(1)
		go func() { // two publishers per broker, so the batcher batches
			defer wg.Done()
			for i := range each {
				p, err := brokers[g%pubs].Publish(ctx, "busy", []byte(strconv.Itoa(i)), nil, true)
				if err != nil {
					errs[g] = err
					return
				}
				seen[g] = append(seen[g], p.Seq)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}

	const total = pubs * 2 * each
	all := make(map[uint64]bool, total)
	for _, ss := range seen {
		for i, q := range ss {
			require.False(t, all[q], "seq %d given twice", q)
			all[q] = true
			if i > 0 {
				require.Greater(t, q, ss[i-1], "one publisher's seqs increase")
			}
		}
	}
	for q := uint64(1); q <= total; q++ {
		require.True(t, all[q], "seq %d missing", q)
	}

	got := s.waitFor(t, total)
	require.Len(t, got, total)
	for i, p := range got {
		require.Equal(t, uint64(i+1), p.Seq, "the subscriber sees every seq, in order")
	}
}

func TestSnapshotReplace(t *testing.T) {
	srv := redistest.Start(t)
	b, _ := newBroker(t, srv, redisbroker.Options{})
	ctx := ctxT(t)

	steps := []struct {
		data, state string
		retain      bool
		wantSnap    string
		wantSeq     uint64
	}{
		{"u1", "s1", false, "s1", 1},
		{"u2", "", false, "s1", 1}, // no state: the snapshot stays
		{"u3", "s3", false, "s3", 3},
		{"u4", "", true, "u4", 4},   // retainLast: the message is the snapshot
		{"u5", "s5", true, "s5", 5}, // a state wins over retainLast
	}
	for _, st := range steps {
		var state []byte
		if st.state != "" {
			state = []byte(st.state)
		}
		_, err := b.Publish(ctx, "snap", []byte(st.data), state, st.retain)
		require.NoError(t, err)
		rec, err := b.Recover(ctx, "snap", fanout.Position{}, 0)
		require.NoError(t, err)
		require.NotNil(t, rec.Snapshot, "after %s", st.data)
		assert.Equal(t, st.wantSnap, string(rec.Snapshot.Data), "after %s", st.data)
		assert.Equal(t, st.wantSeq, rec.Snapshot.Seq, "after %s", st.data)
		assert.Equal(t, rec.Head.Epoch, rec.Snapshot.Epoch)
		assert.Empty(t, rec.Messages, "limit 0 reads no history")
	}
}

func TestHistoryCap(t *testing.T) {
	srv := redistest.Start(t)
	b, _ := newBroker(t, srv, redisbroker.Options{HistorySize: 5})
	ctx := ctxT(t)
	const n = 1000
	for i := 1; i <= n; i++ {
		_, err := b.Publish(ctx, "capped", []byte(strconv.Itoa(i)), nil, false)
		require.NoError(t, err)
	}
	// Approximate trimming keeps HistorySize plus at most one stream node
	// (stream-node-max-entries, 100 by default).
	reply, err := redistest.Do(srv.Addr, "XLEN {fanout:capped}:h")
	require.NoError(t, err)
	xlen, err := strconv.Atoi(strings.TrimPrefix(reply, ":"))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, xlen, 5)
	assert.LessOrEqual(t, xlen, 5+100, "the stream is bounded")

	rec, err := b.Recover(ctx, "capped", fanout.Position{}, 100)
	require.NoError(t, err)
	assert.Equal(t, []uint64{996, 997, 998, 999, 1000}, seqs(rec.Messages), "Recover serves exactly HistorySize")
	assert.Equal(t, []string{"996", "997", "998", "999", "1000"}, datas(rec.Messages))

	rec, err = b.Recover(ctx, "capped", fanout.Position{Epoch: rec.Head.Epoch, Seq: 2}, 100)
	require.NoError(t, err)
	assert.Equal(t, uint64(996), rec.Messages[0].Seq, "history no longer reaches back: it starts later")

	rec, err = b.Recover(ctx, "capped", fanout.Position{Epoch: rec.Head.Epoch, Seq: 997}, 100)
	require.NoError(t, err)
	assert.Equal(t, []uint64{998, 999, 1000}, seqs(rec.Messages))
}

func TestTTLExpiry(t *testing.T) {
	srv := redistest.Start(t)
	b, _ := newBroker(t, srv, redisbroker.Options{TTL: 50 * time.Millisecond})
	ctx := ctxT(t)
	p, err := b.Publish(ctx, "idle", []byte("x"), []byte("state"), false)
	require.NoError(t, err)

	// Redis's own expiry removes every key of the idle topic.
	require.Eventually(t, func() bool {
		n, err := redistest.Do(srv.Addr, "EXISTS {fanout:idle}:m {fanout:idle}:h {fanout:idle}:s")
		return err == nil && n == ":0"
	}, 10*time.Second, 10*time.Millisecond)

	q, err := b.Publish(ctx, "idle", []byte("y"), nil, false)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), q.Seq, "an expired topic starts again")
	assert.NotEqual(t, p.Epoch, q.Epoch, "under a new epoch")
	rec, err := b.Recover(ctx, "idle", fanout.Position{}, 10)
	require.NoError(t, err)
	assert.Nil(t, rec.Snapshot, "the old snapshot is gone")
	assert.Equal(t, []string{"y"}, datas(rec.Messages))
}

func TestEpochChangesAfterFlushAll(t *testing.T) {
	srv := redistest.Start(t)
	b, _ := newBroker(t, srv, redisbroker.Options{})
	ctx := ctxT(t)
	p, err := b.Publish(ctx, "t", []byte("x"), nil, false)
	require.NoError(t, err)
	_, err = redistest.Do(srv.Addr, "FLUSHALL")
	require.NoError(t, err)
	rec, err := b.Recover(ctx, "t", p, 10)
	require.NoError(t, err)
	assert.NotEqual(t, p.Epoch, rec.Head.Epoch)
	assert.Equal(t, uint64(0), rec.Head.Seq)
	q, err := b.Publish(ctx, "t", []byte("y"), nil, false)
	require.NoError(t, err)
	assert.Equal(t, fanout.Position{Epoch: rec.Head.Epoch, Seq: 1}, q)
}

func TestScriptFlushFallsBackToEval(t *testing.T) {
	srv := redistest.Start(t)
	b, _ := newBroker(t, srv, redisbroker.Options{})
	ctx := ctxT(t)
	_, err := b.Publish(ctx, "t", []byte("x"), nil, false)
	require.NoError(t, err)
	_, err = redistest.Do(srv.Addr, "SCRIPT FLUSH")
	require.NoError(t, err)
	p, err := b.Publish(ctx, "t", []byte("y"), nil, false)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), p.Seq)
	_, err = redistest.Do(srv.Addr, "SCRIPT FLUSH")
	require.NoError(t, err)
	rec, err := b.Recover(ctx, "t", fanout.Position{}, 10)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), rec.Head.Seq)
}

func TestRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	pub, _ := newBroker(t, srv, redisbroker.Options{HealthInterval: 50 * time.Millisecond})
	sub, s := newBroker(t, srv, redisbroker.Options{HealthInterval: 50 * time.Millisecond})
	ctx := ctxT(t)
	require.NoError(t, sub.Subscribe(ctx, "r"))
	require.NoError(t, sub.Subscribe(ctx, "r2"))
	p, err := pub.Publish(ctx, "r", []byte("before"), nil, false)
	require.NoError(t, err)
	s.waitFor(t, 1)
	require.NoError(t, pub.Health())
	base := s.reconnects()

	srv.Kill()
	_, err = pub.Publish(ctx, "r", []byte("down"), nil, false)
	require.Error(t, err, "a publish fails while Redis is down")
	require.Eventually(t, func() bool { return sub.Health() != nil }, 10*time.Second, 10*time.Millisecond)
	_, err = pub.Publish(ctx, "r", []byte("down"), nil, false)
	require.Error(t, err)

	srv.Restart()
	s.waitReconnected(t, base+1)
	require.Eventually(t, func() bool { return sub.Health() == nil }, 10*time.Second, 10*time.Millisecond)
	q, err := pub.Publish(ctx, "r", []byte("after"), nil, false)
	require.NoError(t, err)
	assert.NotEqual(t, p.Epoch, q.Epoch, "Redis lost the topic: a new epoch")
	assert.Equal(t, uint64(1), q.Seq)
	_, err = pub.Publish(ctx, "r2", []byte("after2"), nil, false)
	require.NoError(t, err)
	got := s.waitFor(t, 3)
	require.Len(t, got, 3, "both channels were subscribed again")
	assert.Equal(t, "after", string(got[1].Data))
	assert.Equal(t, "after2", string(got[2].Data))
	assert.Equal(t, base+1, s.reconnects(), "one Reconnected per reconnect")
}

func TestClose(t *testing.T) {
	srv := redistest.Start(t)
	b, err := redisbroker.New(redisbroker.Options{Addr: srv.Addr})
	require.NoError(t, err)
	b.Bind(newSink())
	ctx := ctxT(t)
	require.NoError(t, b.Subscribe(ctx, "t"))
	_, err = b.Publish(ctx, "t", []byte("x"), nil, false)
	require.NoError(t, err)
	require.NoError(t, b.Close())
	require.NoError(t, b.Close(), "Close is idempotent")
	_, err = b.Publish(ctx, "t", []byte("x"), nil, false)
	require.ErrorIs(t, err, fanout.ErrClosed)
	require.ErrorIs(t, b.Subscribe(ctx, "t"), fanout.ErrClosed)
	_, err = b.Recover(ctx, "t", fanout.Position{}, 1)
	require.ErrorIs(t, err, fanout.ErrClosed)
	require.ErrorIs(t, b.Health(), fanout.ErrClosed)
}

func TestInvalid(t *testing.T) {
	_, err := redisbroker.New(redisbroker.Options{KeyPrefix: "a{b"})
	require.Error(t, err)
	srv := redistest.Start(t)
	b, _ := newBroker(t, srv, redisbroker.Options{})
	_, err = b.Publish(ctxT(t), "a}b", nil, nil, false)
	require.ErrorIs(t, err, fanout.ErrInvalidTopic)
}

func seqs(ms []*fanout.Message) []uint64 {
	out := []uint64{}
	for _, m := range ms {
		out = append(out, m.Seq)
	}
	return out
}

func datas(ms []*fanout.Message) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, string(m.Data))
	}
	return out
}

var _ = fmt.Sprint

// TestPubSubConnectionKilled drops the Broker's Pub/Sub connection while
// Redis stays up: go-redis reconnects and subscribes again, and the sink
// is told, so the hub can repair what it missed meanwhile.
func TestPubSubConnectionKilled(t *testing.T) {
	srv := redistest.Start(t)
	pub, _ := newBroker(t, srv, redisbroker.Options{})
	sub, s := newBroker(t, srv, redisbroker.Options{HealthInterval: 50 * time.Millisecond})
	ctx := ctxT(t)
	require.NoError(t, sub.Subscribe(ctx, "k"))
	_, err := pub.Publish(ctx, "k", []byte("1"), nil, false)
	require.NoError(t, err)
	s.waitFor(t, 1)
	base := s.reconnects()

	n, err := redistest.Do(srv.Addr, "CLIENT KILL TYPE pubsub")
	require.NoError(t, err)
	require.Equal(t, ":1", n, "one Pub/Sub connection: the subscriber's")
	s.waitReconnected(t, base+1)

	p, err := pub.Publish(ctx, "k", []byte("2"), nil, false)
	require.NoError(t, err)
	got := s.waitFor(t, 2)
	assert.Equal(t, p, got[len(got)-1].Position(), "subscribed again")
}

// TestRedisFrozen stops Redis without closing its connections, as a
// network partition would: no read fails, so only the unanswered PING
// shows it. Health fails, the Broker replaces its Pub/Sub connection, and
// once Redis answers again the sink is told and delivery goes on.
func TestRedisFrozen(t *testing.T) {
	srv := redistest.Start(t)
	pub, _ := newBroker(t, srv, redisbroker.Options{})
	sub, s := newBroker(t, srv, redisbroker.Options{HealthInterval: 50 * time.Millisecond})
	ctx := ctxT(t)
	require.NoError(t, sub.Subscribe(ctx, "f"))
	_, err := pub.Publish(ctx, "f", []byte("1"), nil, false)
	require.NoError(t, err)
	s.waitFor(t, 1)
	base := s.reconnects()

	srv.Freeze()
	thawed := false
	defer func() {
		if !thawed {
			srv.Thaw()
		}
	}()
	require.Eventually(t, func() bool {
		err := sub.Health()
		return err != nil && strings.Contains(err.Error(), "reconnecting")
	}, 10*time.Second, 10*time.Millisecond)
	srv.Thaw()
	thawed = true

	s.waitReconnected(t, base+1)
	require.Eventually(t, func() bool { return sub.Health() == nil }, 10*time.Second, 10*time.Millisecond)
	p, err := pub.Publish(ctx, "f", []byte("2"), nil, false)
	require.NoError(t, err)
	got := s.waitFor(t, 2)
	assert.Equal(t, p, got[len(got)-1].Position(), "subscribed again on the new connection")
}

// TestOwnClient gives the Broker a client of the caller's, which Close
// leaves open, and keeps topics forever with a negative TTL.
func TestOwnClient(t *testing.T) {
	srv := redistest.Start(t)
	rc := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer rc.Close()
	b, err := redisbroker.New(redisbroker.Options{Client: rc, KeyPrefix: "app", TTL: -1})
	require.NoError(t, err)
	b.Bind(newSink())
	ctx := ctxT(t)
	_, err = b.Publish(ctx, "t", []byte("x"), nil, false)
	require.NoError(t, err)
	ttl, err := rc.PTTL(ctx, "{app:t}:m").Result()
	require.NoError(t, err)
	assert.Equal(t, time.Duration(-1), ttl, "a negative TTL keeps the topic")
	require.NoError(t, b.Close())
	require.NoError(t, rc.Ping(ctx).Err(), "the caller's client stays open")
}
