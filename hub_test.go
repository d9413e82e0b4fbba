package fanout_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fanout-go/fanout"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newHub(t testing.TB, opts fanout.Options) *fanout.Hub {
	t.Helper()
	h := fanout.NewHub(opts)
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func newSub(t testing.TB, h *fanout.Hub, opts fanout.SubscriberOptions) *fanout.Subscriber {
	t.Helper()
	s := h.NewSubscriber(opts)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// drain returns everything queued for s without waiting.
func drain(t testing.TB, s *fanout.Subscriber) []fanout.Delivery {
	t.Helper()
	var out []fanout.Delivery
	buf := make([]fanout.Delivery, 64)
	for {
		n, err := s.Drain(buf)
		require.NoError(t, err)
		if n == 0 {
			return out
		}
		out = append(out, buf[:n]...)
	}
}

// seqs lists the kind and sequence number of each delivery, e.g. "s3 u4".
func seqs(ds []fanout.Delivery) string {
	var b []byte
	for i, d := range ds {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, d.Kind.String()[0])
		if d.Gap {
			b = append(b, '!')
		}
		b = strconv.AppendUint(b, d.Seq, 10)
	}
	return string(b)
}

func publishN(t testing.TB, h *fanout.Hub, topic string, n int) {
	t.Helper()
	for range n {
		_, err := h.Publish(topic, []byte(`{}`))
		require.NoError(t, err)
	}
}

func TestPublishAssignsSequencesPerTopic(t *testing.T) {
	h := newHub(t, fanout.Options{})
	var a, b []fanout.Position
	for range 3 {
		pa, err := h.Publish("a", []byte(`1`))
		require.NoError(t, err)
		pb, err := h.Publish("b", []byte(`1`))
		require.NoError(t, err)
		a, b = append(a, pa), append(b, pb)
	}
	for i := range 3 {
		assert.Equal(t, uint64(i+1), a[i].Seq)
		assert.Equal(t, uint64(i+1), b[i].Seq)
		assert.Equal(t, a[0].Epoch, a[i].Epoch, "the epoch is stable")
	}
	assert.Len(t, a[0].Epoch, 8)
}

func TestValidTopic(t *testing.T) {
	long := string(make([]byte, 201))
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"game:123", true},
		{"game-updates:42", true},
		{"a.b_c-d:e/f@g~h", true},
		{"A", true},
		{"", false},
		{"with space", false},
		{`quote"`, false},
		{"star*", false},
		{"nul\x00", false},
		{"é", false},
		{long, false},
	} {
		err := fanout.ValidTopic(tc.name, 0)
		if tc.ok {
			assert.NoError(t, err, "%q", tc.name)
		} else {
			assert.ErrorIs(t, err, fanout.ErrInvalidTopic, "%q", tc.name)
		}
	}
}

func TestLimits(t *testing.T) {
	h := newHub(t, fanout.Options{MaxTopics: 2, MaxUnpublishedTopics: 1, MaxMessageSize: 8, MaxTopicLength: 5})
	ctx := context.Background()

	_, err := h.Publish("abcdef", nil)
	assert.ErrorIs(t, err, fanout.ErrInvalidTopic)
	_, err = h.Publish("a", []byte("123456789"))
	assert.ErrorIs(t, err, fanout.ErrTooLarge)
	_, err = h.PublishState("a", nil, []byte("123456789"))
	assert.ErrorIs(t, err, fanout.ErrTooLarge)
	assert.Zero(t, h.Stats().Published, "a refused message is not counted")

	_, err = h.Publish("a", nil)
	require.NoError(t, err)
	_, err = h.Publish("b", nil)
	require.NoError(t, err)
	_, err = h.Publish("c", nil)
	require.ErrorIs(t, err, fanout.ErrLimit)
	assert.Contains(t, err.Error(), "Options.MaxTopics")

	s := newSub(t, h, fanout.SubscriberOptions{MaxSubscriptions: 1})
	require.NoError(t, s.Subscribe(ctx, "a"))
	assert.ErrorIs(t, s.Subscribe(ctx, "a"), fanout.ErrSubscribed)
	err = s.Subscribe(ctx, "b")
	assert.ErrorIs(t, err, fanout.ErrLimit)
	assert.Contains(t, err.Error(), "MaxSubscriptions")
	assert.ErrorIs(t, s.Unsubscribe("b"), fanout.ErrNotSubscribed)
	assert.ErrorIs(t, s.Subscribe(ctx, "bad topic"), fanout.ErrInvalidTopic)
	assert.ErrorIs(t, s.Subscribe(ctx, "c"), fanout.ErrLimit, "the subscriber's limit is still reached")
	require.NoError(t, s.Unsubscribe("a"))
	require.NoError(t, s.Subscribe(ctx, "c"), "subscribers' topics do not count against MaxTopics")
	_, err = h.Publish("c", nil)
	assert.ErrorIs(t, err, fanout.ErrLimit, "publishing makes it a published topic, which does")
	other := newSub(t, h, fanout.SubscriberOptions{})
	err = other.Subscribe(ctx, "d")
	assert.ErrorIs(t, err, fanout.ErrLimit, "the hub's limit of unpublished topics")
	assert.Contains(t, err.Error(), "Options.MaxUnpublishedTopics")
	assert.Equal(t, []string(nil), nilIfEmpty(other.Topics()), "a failed subscribe leaves nothing behind")
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestSubscribeSnapshotThenUpdates(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		cfg     fanout.TopicConfig
		publish func(h *fanout.Hub, i int)
		want    string
	}{
		{"no snapshot", fanout.TopicConfig{}, func(h *fanout.Hub, i int) { _, _ = h.Publish("t", []byte(`1`)) }, "s3 u4 u5"},
		{"state", fanout.TopicConfig{}, func(h *fanout.Hub, i int) {
			_, _ = h.PublishState("t", []byte(`1`), []byte(strconv.Itoa(i)))
		}, "s3 u4 u5"},
		{"retain last", fanout.TopicConfig{RetainLast: true}, func(h *fanout.Hub, i int) { _, _ = h.Publish("t", []byte(`1`)) }, "s3 u4 u5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			h := newHub(t, fanout.Options{TopicConfig: func(string) fanout.TopicConfig { return cfg }})
			for i := 1; i <= 3; i++ {
				tc.publish(h, i)
			}
			s := newSub(t, h, fanout.SubscriberOptions{})
			require.NoError(t, s.Subscribe(ctx, "t"))
			for i := 4; i <= 5; i++ {
				tc.publish(h, i)
			}
			assert.Equal(t, tc.want, seqs(drain(t, s)))
		})
	}
}

func TestSnapshotOlderThanHeadReplaysHistory(t *testing.T) {
	ctx := context.Background()
	h := newHub(t, fanout.Options{})
	_, err := h.PublishState("t", []byte(`1`), []byte(`state1`))
	require.NoError(t, err)
	publishN(t, h, "t", 2)
	s := newSub(t, h, fanout.SubscriberOptions{})
	require.NoError(t, s.Subscribe(ctx, "t"))
	ds := drain(t, s)
	assert.Equal(t, "s1 u2 u3", seqs(ds))
	assert.Equal(t, "state1", string(ds[0].Data))

	t.Run("history cannot reach the snapshot", func(t *testing.T) {
		h := newHub(t, fanout.Options{TopicConfig: func(string) fanout.TopicConfig {
			return fanout.TopicConfig{HistorySize: 2}
		}})
		_, err := h.PublishState("t", []byte(`1`), []byte(`state1`))
		require.NoError(t, err)
		publishN(t, h, "t", 4) // history keeps 4 and 5
		s := newSub(t, h, fanout.SubscriberOptions{})
		require.NoError(t, s.Subscribe(ctx, "t"))
		assert.Equal(t, "s1 u!4 u5", seqs(drain(t, s)), "the hole is marked")
	})
	t.Run("no history at all", func(t *testing.T) {
		h := newHub(t, fanout.Options{TopicConfig: func(string) fanout.TopicConfig {
			return fanout.TopicConfig{HistorySize: -1}
		}})
		_, err := h.PublishState("t", []byte(`1`), []byte(`state1`))
		require.NoError(t, err)
		publishN(t, h, "t", 1)
		s := newSub(t, h, fanout.SubscriberOptions{})
		require.NoError(t, s.Subscribe(ctx, "t"))
		publishN(t, h, "t", 1)
		assert.Equal(t, "s1 u!3", seqs(drain(t, s)), "the hole is marked on the next live update")
	})
}

func TestResume(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T, cfg fanout.TopicConfig, queue int) (*fanout.Hub, *fanout.Subscriber, string) {
		h := newHub(t, fanout.Options{TopicConfig: func(string) fanout.TopicConfig { return cfg }})
		var pos fanout.Position
		for i := 1; i <= 10; i++ {
			var err error
			pos, err = h.PublishState("t", []byte(`1`), []byte(strconv.Itoa(i)))
			require.NoError(t, err)
		}
		return h, newSub(t, h, fanout.SubscriberOptions{QueueSize: queue}), pos.Epoch
	}
	for _, tc := range []struct {
		name  string
		cfg   fanout.TopicConfig
		queue int
		pos   func(epoch string) fanout.Position
		want  string
	}{
		{"replay from history", fanout.TopicConfig{}, 0, func(e string) fanout.Position { return fanout.Position{Epoch: e, Seq: 7} }, "u8 u9 u10"},
		{"up to date", fanout.TopicConfig{}, 0, func(e string) fanout.Position { return fanout.Position{Epoch: e, Seq: 10} }, ""},
		{"from zero", fanout.TopicConfig{}, 0, func(e string) fanout.Position { return fanout.Position{Epoch: e, Seq: 0} }, "u1 u2 u3 u4 u5 u6 u7 u8 u9 u10"},
		{"history too short", fanout.TopicConfig{HistorySize: 2}, 0, func(e string) fanout.Position { return fanout.Position{Epoch: e, Seq: 7} }, "r10"},
		{"replay would not fit", fanout.TopicConfig{}, 2, func(e string) fanout.Position { return fanout.Position{Epoch: e, Seq: 5} }, "r10"},
		{"unknown epoch", fanout.TopicConfig{}, 0, func(string) fanout.Position { return fanout.Position{Epoch: "other", Seq: 7} }, "r10"},
		{"ahead of head", fanout.TopicConfig{}, 0, func(e string) fanout.Position { return fanout.Position{Epoch: e, Seq: 11} }, "r10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, s, epoch := setup(t, tc.cfg, tc.queue)
			require.NoError(t, s.Resume(ctx, "t", tc.pos(epoch)))
			ds := drain(t, s)
			assert.Equal(t, tc.want, seqs(ds))
			if len(ds) > 0 && ds[0].Kind == fanout.Reset {
				assert.Equal(t, "10", string(ds[0].Data), "a reset carries the snapshot")
			}
			_, err := h.Publish("t", []byte(`1`))
			require.NoError(t, err)
			assert.Equal(t, "u11", seqs(drain(t, s)), "the live stream follows")
		})
	}

	t.Run("reset without snapshot", func(t *testing.T) {
		h := newHub(t, fanout.Options{})
		publishN(t, h, "t", 3)
		s := newSub(t, h, fanout.SubscriberOptions{})
		require.NoError(t, s.Resume(ctx, "t", fanout.Position{Epoch: "gone", Seq: 2}))
		ds := drain(t, s)
		require.Equal(t, "r3", seqs(ds))
		assert.Nil(t, ds[0].Data)
	})
}

func TestHistoryTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		h := newHub(t, fanout.Options{TopicConfig: func(string) fanout.TopicConfig {
			return fanout.TopicConfig{HistoryTTL: time.Minute}
		}})
		pos, err := h.Publish("t", []byte(`1`))
		require.NoError(t, err)
		time.Sleep(40 * time.Second) // fake time inside the bubble
		publishN(t, h, "t", 1)
		time.Sleep(40 * time.Second) // message 1 is now 80s old, 2 is 40s old

		s := newSub(t, h, fanout.SubscriberOptions{})
		require.NoError(t, s.Resume(ctx, "t", fanout.Position{Epoch: pos.Epoch, Seq: 1}))
		assert.Equal(t, "u2", seqs(drain(t, s)), "message 2 is young enough")
		s2 := newSub(t, h, fanout.SubscriberOptions{})
		require.NoError(t, s2.Resume(ctx, "t", fanout.Position{Epoch: pos.Epoch, Seq: 0}))
		assert.Equal(t, "r2", seqs(drain(t, s2)), "message 1 expired")
		require.NoError(t, h.Close())
	})
}

func TestEviction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		h := newHub(t, fanout.Options{IdleTopicTTL: time.Hour, TopicConfig: func(name string) fanout.TopicConfig {
			if name == "stateless" {
				return fanout.TopicConfig{HistorySize: -1}
			}
			return fanout.TopicConfig{}
		}})
		_, err := h.Publish("stateless", []byte(`1`))
		require.NoError(t, err)
		old, err := h.PublishState("kept", []byte(`1`), []byte(`s`))
		require.NoError(t, err)
		s := newSub(t, h, fanout.SubscriberOptions{})
		require.NoError(t, s.Subscribe(ctx, "watched"))
		require.Equal(t, 3, h.Stats().Topics)

		h.Sweep()
		assert.Equal(t, 2, h.Stats().Topics, "a topic without subscribers or state goes at the next sweep")

		time.Sleep(2 * time.Hour)
		synctest.Wait() // the sweeper has run
		assert.Equal(t, 1, h.Stats().Topics, "an idle topic with state goes after IdleTopicTTL; a watched one stays")

		pos, err := h.Publish("kept", []byte(`1`))
		require.NoError(t, err)
		assert.NotEqual(t, old.Epoch, pos.Epoch, "a topic that comes back starts a new epoch")
		assert.Equal(t, uint64(1), pos.Seq)
		require.NoError(t, h.Close())
	})
}

func TestSlowConsumer(t *testing.T) {
	ctx := context.Background()
	h := newHub(t, fanout.Options{})
	slow := newSub(t, h, fanout.SubscriberOptions{QueueSize: 4})
	fast := newSub(t, h, fanout.SubscriberOptions{QueueSize: 4})
	require.NoError(t, slow.Subscribe(ctx, "t"))
	require.NoError(t, fast.Subscribe(ctx, "t"))
	for _, s := range []*fanout.Subscriber{slow, fast} {
		d, err := s.Next(ctx) // the position-only snapshot of a topic with no state
		require.NoError(t, err)
		require.Equal(t, fanout.Snapshot, d.Kind)
		require.Nil(t, d.Data)
	}

	var last fanout.Position
	for range 4 {
		publishN(t, h, "t", 1)
		d, err := fast.Next(ctx)
		require.NoError(t, err)
		last = d.Position()
	}
	d, err := slow.Next(ctx) // the slow one processed only message 1
	require.NoError(t, err)
	processed := d.Position()
	publishN(t, h, "t", 2) // 3 pending + 2 > 4: overflow

	_, err = slow.Next(ctx)
	assert.ErrorIs(t, err, fanout.ErrSlowConsumer)
	assert.ErrorIs(t, slow.Err(), fanout.ErrSlowConsumer)
	n, err := slow.Drain(make([]fanout.Delivery, 8))
	assert.Zero(t, n)
	assert.ErrorIs(t, err, fanout.ErrSlowConsumer)
	assert.Equal(t, uint64(1), h.Stats().SlowConsumers)
	assert.Equal(t, "u5 u6", seqs(drain(t, fast)), "other subscribers are not affected")
	_ = last

	again := newSub(t, h, fanout.SubscriberOptions{QueueSize: 8})
	require.NoError(t, again.Resume(ctx, "t", processed))
	assert.Equal(t, "u2 u3 u4 u5 u6", seqs(drain(t, again)), "the consumer resumes where it stopped")
}

func TestConflation(t *testing.T) {
	ctx := context.Background()
	h := newHub(t, fanout.Options{TopicConfig: func(name string) fanout.TopicConfig {
		return fanout.TopicConfig{RetainLast: true, Conflate: name != "plain"}
	}})
	s := newSub(t, h, fanout.SubscriberOptions{QueueSize: 4, Overflow: fanout.OverflowConflate})
	strict := newSub(t, h, fanout.SubscriberOptions{QueueSize: 64})
	for _, topic := range []string{"a", "b"} {
		publishN(t, h, topic, 1)
		require.NoError(t, s.Subscribe(ctx, topic))
		require.NoError(t, strict.Subscribe(ctx, topic))
	}
	for i := range 20 {
		publishN(t, h, []string{"a", "b"}[i%2], 1)
	}
	ds := drain(t, s)
	assert.Equal(t, "s11 s11", seqs(ds), "each topic keeps only its newest state, still a snapshot")
	assert.Equal(t, uint64(20), h.Stats().Dropped)
	for range 3 {
		publishN(t, h, "a", 1)
	}
	assert.Equal(t, "u!14", seqs(drain(t, s)), "an update that replaced older ones is marked")
	publishN(t, h, "a", 1)
	assert.Equal(t, "u15", seqs(drain(t, s)), "no lag, no gap")
	assert.Len(t, drain(t, strict), 2+20+4, "a subscriber that does not conflate gets everything")

	require.NoError(t, s.Subscribe(ctx, "plain"))
	publishN(t, h, "plain", 5)
	assert.ErrorIs(t, s.Err(), fanout.ErrSlowConsumer, "topics that do not conflate still overflow")
}

func TestUnsubscribeDiscardsQueued(t *testing.T) {
	ctx := context.Background()
	h := newHub(t, fanout.Options{})
	s := newSub(t, h, fanout.SubscriberOptions{})
	require.NoError(t, s.Subscribe(ctx, "a"))
	require.NoError(t, s.Subscribe(ctx, "b"))
	publishN(t, h, "a", 2)
	publishN(t, h, "b", 1)
	require.NoError(t, s.Unsubscribe("a"))
	publishN(t, h, "a", 1)
	ds := drain(t, s)
	require.Len(t, ds, 2)
	assert.Equal(t, "s0 u1", seqs(ds))
	assert.Equal(t, "b", ds[0].Topic)
	assert.Equal(t, "b", ds[1].Topic)

	pos := fanout.Position{Epoch: ds[0].Epoch, Seq: 0}
	_ = pos
	require.NoError(t, s.Subscribe(ctx, "a"))
	publishN(t, h, "a", 1)
	assert.Equal(t, "s3 u4", seqs(drain(t, s)), "a resubscription starts fresh, with nothing left from before")
	assert.ElementsMatch(t, []string{"a", "b"}, s.Topics())
}

func TestLoader(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	h := newHub(t, fanout.Options{Loader: func(ctx context.Context, topic string) ([]byte, error) {
		calls.Add(1)
		<-release
		return []byte(`"loaded ` + topic + `"`), nil
	}})
	ctx := context.Background()

	const joiners = 20
	subs := make([]*fanout.Subscriber, joiners)
	errs := make(chan error, joiners)
	for i := range subs {
		subs[i] = newSub(t, h, fanout.SubscriberOptions{})
		go func() { errs <- subs[i].Subscribe(ctx, "cold") }()
	}
	require.Eventually(t, func() bool { return calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	close(release)
	for range joiners {
		require.NoError(t, <-errs)
	}
	assert.Equal(t, int32(1), calls.Load(), "one load for many joiners")
	for _, s := range subs {
		ds := drain(t, s)
		require.Equal(t, "s0", seqs(ds))
		assert.Equal(t, `"loaded cold"`, string(ds[0].Data))
	}

	t.Run("failure", func(t *testing.T) {
		fail := true
		h := newHub(t, fanout.Options{Loader: func(ctx context.Context, topic string) ([]byte, error) {
			if fail {
				return nil, errors.New("database down")
			}
			return []byte(`1`), nil
		}})
		s := newSub(t, h, fanout.SubscriberOptions{})
		err := s.Subscribe(ctx, "t")
		assert.ErrorContains(t, err, "database down")
		fail = false
		require.NoError(t, s.Subscribe(ctx, "t"), "the next join tries again")
		assert.Equal(t, "s0", seqs(drain(t, s)))
	})
	t.Run("failure fails the waiters", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var calls atomic.Int32
			release := make(chan struct{})
			h := fanout.NewHub(fanout.Options{Loader: func(ctx context.Context, topic string) ([]byte, error) {
				calls.Add(1)
				<-release
				return nil, errors.New("database down")
			}})
			const joiners = 5
			errs := make(chan error, joiners)
			for range joiners {
				s := h.NewSubscriber(fanout.SubscriberOptions{})
				defer s.Close()
				go func() { errs <- s.Subscribe(ctx, "cold") }()
			}
			synctest.Wait() // one joiner runs the loader, the others wait for it
			close(release)
			for range joiners {
				assert.ErrorContains(t, <-errs, "database down")
			}
			assert.Equal(t, int32(1), calls.Load(), "a failed load fails its waiters rather than running again for each")
			require.NoError(t, h.Close())
		})
	})
	t.Run("cancelled loader", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var calls atomic.Int32
			h := fanout.NewHub(fanout.Options{Loader: func(ctx context.Context, topic string) ([]byte, error) {
				if calls.Add(1) == 1 {
					<-ctx.Done()
					return nil, ctx.Err()
				}
				return []byte(`1`), nil
			}})
			cctx, cancel := context.WithCancel(ctx)
			first, waiter := h.NewSubscriber(fanout.SubscriberOptions{}), h.NewSubscriber(fanout.SubscriberOptions{})
			defer first.Close()
			defer waiter.Close()
			done := make(chan error, 1)
			go func() { done <- first.Subscribe(cctx, "t") }()
			synctest.Wait()
			go func() { done <- waiter.Subscribe(ctx, "t") }()
			synctest.Wait() // the waiter waits for the first join's load
			cancel()
			assert.ErrorIs(t, <-done, context.Canceled)
			require.NoError(t, <-done, "a waiter does not fail because another join gave up: it loads itself")
			assert.Equal(t, "s0", seqs(drain(t, waiter)))
			assert.Equal(t, int32(2), calls.Load())
			require.NoError(t, h.Close())
		})
	})
	t.Run("cancelled wait", func(t *testing.T) {
		started, block := make(chan struct{}), make(chan struct{})
		h := newHub(t, fanout.Options{Loader: func(ctx context.Context, topic string) ([]byte, error) {
			close(started)
			<-block
			return nil, nil
		}})
		first := newSub(t, h, fanout.SubscriberOptions{})
		done := make(chan error, 1)
		go func() { done <- first.Subscribe(ctx, "t") }()
		<-started
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		waiter := newSub(t, h, fanout.SubscriberOptions{})
		assert.ErrorIs(t, waiter.Subscribe(cctx, "t"), context.Canceled, "a waiter stops waiting when its context ends")
		assert.Empty(t, waiter.Topics())
		close(block)
		require.NoError(t, <-done)
	})
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	h := fanout.NewHub(fanout.Options{})
	s := h.NewSubscriber(fanout.SubscriberOptions{})
	require.NoError(t, s.Subscribe(ctx, "t"))
	d, err := s.Next(ctx)
	require.NoError(t, err)
	require.Equal(t, fanout.Snapshot, d.Kind)
	waiting := make(chan error)
	go func() {
		_, err := s.Next(ctx)
		waiting <- err
	}()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { assert.NoError(t, h.Close()) })
	}
	wg.Wait()
	assert.ErrorIs(t, <-waiting, fanout.ErrClosed, "a waiting consumer wakes up")
	_, err = h.Publish("t", nil)
	assert.ErrorIs(t, err, fanout.ErrClosed)
	assert.ErrorIs(t, s.Subscribe(ctx, "u"), fanout.ErrClosed)
	late := h.NewSubscriber(fanout.SubscriberOptions{})
	assert.ErrorIs(t, late.Err(), fanout.ErrClosed)
	assert.NoError(t, s.Close())
	assert.NoError(t, s.Close())
	assert.Equal(t, 0, h.Stats().Subscribers)
}

func TestReadySignal(t *testing.T) {
	ctx := context.Background()
	h := newHub(t, fanout.Options{})
	var calls atomic.Int32
	s := newSub(t, h, fanout.SubscriberOptions{OnReady: func() { calls.Add(1) }})
	require.NoError(t, s.Subscribe(ctx, "t"))
	publishN(t, h, "t", 3)
	assert.Equal(t, int32(1), calls.Load(), "signalled once when the queue turned non-empty")
	select {
	case <-s.Ready():
	default:
		t.Fatal("Ready was not signalled")
	}
	drain(t, s)
	publishN(t, h, "t", 1)
	assert.Equal(t, int32(2), calls.Load())
	require.NoError(t, s.Close())
	assert.Equal(t, int32(3), calls.Load(), "and once when it ends")
}

func TestStats(t *testing.T) {
	ctx := context.Background()
	h := newHub(t, fanout.Options{})
	subs := []*fanout.Subscriber{newSub(t, h, fanout.SubscriberOptions{}), newSub(t, h, fanout.SubscriberOptions{})}
	for _, s := range subs {
		require.NoError(t, s.Subscribe(ctx, "a"))
	}
	publishN(t, h, "a", 3)
	publishN(t, h, "b", 2)
	assert.Equal(t, fanout.Stats{Topics: 2, Subscribers: 2, Published: 5, Delivered: 6}, h.Stats())
}

// TestConcurrentGuarantees runs publishers and joiners on the same topics
// at once and checks every subscriber's stream: a snapshot whose content
// matches its sequence number, then every later update exactly once and in
// order, for plain joins and for resumes alike.
func TestConcurrentGuarantees(t *testing.T) {
	ctx := context.Background()
	const perTopic = 2000
	h := newHub(t, fanout.Options{Shards: 4, TopicConfig: func(string) fanout.TopicConfig {
		return fanout.TopicConfig{HistorySize: perTopic} // so that every resume is served from history
	}})
	topics := []string{"t0", "t1", "t2"}
	const joiners = 24

	var wg sync.WaitGroup
	for _, topic := range topics { // one publisher per topic: its state is the count
		wg.Go(func() {
			for i := 1; i <= perTopic; i++ {
				_, err := h.PublishState(topic, []byte(strconv.Itoa(i)), []byte(strconv.Itoa(i)))
				if !assert.NoError(t, err) {
					return
				}
			}
		})
	}
	for j := range joiners {
		wg.Go(func() {
			topic := topics[j%len(topics)]
			opts := fanout.SubscriberOptions{QueueSize: 4 * perTopic}
			s := h.NewSubscriber(opts)
			require.NoError(t, s.Subscribe(ctx, topic))
			if j%2 == 0 {
				checkStream(t, s, topic, 0, perTopic)
				require.NoError(t, s.Close())
				return
			}
			// Read a little, drop the subscriber, resume on a new one.
			at := checkStream(t, s, topic, 0, uint64(j*30))
			require.NoError(t, s.Close())
			s = h.NewSubscriber(opts)
			defer s.Close()
			require.NoError(t, s.Resume(ctx, topic, at))
			checkStream(t, s, topic, at.Seq, perTopic)
		})
	}
	wg.Wait()
}

// checkStream reads s until it has seen topic's message last and checks
// order, no gap, no duplicate, and that snapshots and updates carry their
// own sequence number as data. prev is the position already processed (0
// for a fresh join, which may start with a snapshot). It returns the
// position of the last message read.
func checkStream(t *testing.T, s *fanout.Subscriber, topic string, prev, last uint64) fanout.Position {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var pos fanout.Position
	for prev < last {
		d, err := s.Next(ctx)
		require.NoError(t, err)
		require.Equal(t, topic, d.Topic)
		if d.Kind == fanout.Snapshot && d.Data == nil {
			require.Zero(t, d.Seq, "only a join before the first publish finds no state")
		} else {
			require.Equal(t, fmt.Sprint(d.Seq), string(d.Data), "data matches its position")
		}
		pos = d.Position()
		if prev == 0 && d.Kind == fanout.Snapshot {
			prev = d.Seq
			continue
		}
		require.Equal(t, fanout.Update, d.Kind)
		require.False(t, d.Gap)
		if prev != 0 {
			require.Equal(t, prev+1, d.Seq, "no gap, no duplicate")
		}
		prev = d.Seq
	}
	return pos
}

// TestDeliveryAllocatesNothing checks the hot path: a publish to many
// subscribers allocates its message and nothing per delivery, and a drain
// allocates nothing.
func TestDeliveryAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	h := newHub(t, fanout.Options{})
	subs := make([]*fanout.Subscriber, 100)
	for i := range subs {
		subs[i] = newSub(t, h, fanout.SubscriberOptions{QueueSize: 64})
		require.NoError(t, subs[i].Subscribe(ctx, "t"))
	}
	buf := make([]fanout.Delivery, 64)
	data := []byte(`{"price":1}`)
	round := func() {
		for range 32 {
			_, _ = h.Publish("t", data)
		}
		for _, s := range subs {
			for n, _ := s.Drain(buf); n > 0; n, _ = s.Drain(buf) {
			}
		}
	}
	for range 300 { // grow queues and history to their working size
		round()
	}
	allocs := testing.AllocsPerRun(20, round)
	assert.LessOrEqual(t, allocs, 32.0, "one allocation per publish, none per delivery or drain")
}
