package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	redisbroker "github.com/fanout-go/fanout/broker/redis"
	"github.com/fanout-go/fanout/broker/redis/internal/redistest"
	"github.com/stretchr/testify/require"
)

// The multi-node tests run three hubs, each with a Redis broker of its
// own, on one redis-server: one publisher, subscribers on every hub.

const (
	mnTopic   = "match:42"
	mnHistory = 4096 // larger than a run, so a resume never needs a reset
	mnQueue   = 4096
)

// cluster is three nodes (hubs) on one Redis.
type cluster struct {
	srv    *redistest.Server
	hubs   []*fanout.Hub
	closed []bool // hubs the test closed itself
}

func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	c := &cluster{srv: redistest.Start(t), closed: make([]bool, n)}
	for i := range n {
		b, err := redisbroker.New(redisbroker.Options{
			Addr: c.srv.Addr, HistorySize: mnHistory, HealthInterval: 100 * time.Millisecond,
		})
		require.NoError(t, err)
		h := fanout.NewHub(fanout.Options{
			Broker:        b, // the hub closes it
			BrokerTimeout: 2 * time.Second,
			TopicConfig:   func(string) fanout.TopicConfig { return fanout.TopicConfig{HistorySize: mnHistory} },
		})
		c.hubs = append(c.hubs, h)
		t.Cleanup(func() {
			if !c.closed[i] {
				require.NoError(t, h.Close())
			}
		})
	}
	return c
}

// sentLog is what the publisher published, by position.
type sentLog struct {
	mu   sync.Mutex // guards data
	data map[fanout.Position]string
}

func (l *sentLog) add(p fanout.Position, d string) {
	l.mu.Lock()
	l.data[p] = d
	l.mu.Unlock()
}

func (l *sentLog) get(p fanout.Position) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d, ok := l.data[p]
	return d, ok
}

const endMark = `{"end":true}`

// publisher publishes n messages on hub h, then endMark, each with itself
// as the topic's state, so that a Reset carries a message the log knows.
// A failed publish is retried every 10ms (Redis may be down). After the
// message numbered at, it signals mid once.
func publisher(t *testing.T, h *fanout.Hub, n, at int, mid chan<- struct{}, log *sentLog) error {
	deadline := time.Now().Add(30 * time.Second)
	retry := time.NewTicker(10 * time.Millisecond)
	defer retry.Stop()
	for i := 1; i <= n+1; i++ {
		d := fmt.Sprintf(`{"n":%d}`, i)
		if i == n+1 {
			d = endMark
		}
		for {
			pos, err := h.PublishState(mnTopic, []byte(d), []byte(d))
			if err == nil {
				log.add(pos, d)
				break
			}
			if !errors.Is(err, fanout.ErrBroker) || time.Now().After(deadline) {
				return fmt.Errorf("publish %d: %w", i, err)
			}
			<-retry.C
		}
		if i == at {
			close(mid)
		}
	}
	return nil
}

// consumer checks one subscriber's stream: updates follow each other with
// no gap, the epoch changes only through a Reset or Snapshot, and every
// message is one the publisher published at that position.
type consumer struct {
	name    string
	pos     fanout.Position
	started bool // pos is known
	updates int
	resets  int  // resets, but for back-resets
	resumed bool // moved to another hub
	last    string
	epochs  map[string]bool
	seen    map[fanout.Position]bool
	dups    int // deliveries of positions seen before

	// backResets counts resets back to an earlier position of the same
	// epoch. A hub that is behind the position a consumer resumes from
	// catches up with the broker instead, so there must be none.
	backResets int
}

func (c *consumer) apply(d fanout.Delivery, log *sentLog) (end bool, err error) {
	if d.Kind == fanout.Update && d.Gap {
		return false, fmt.Errorf("%s: update %v marked as a gap", c.name, d.Position())
	}
	if d.Kind == fanout.Update && c.started && (d.Epoch != c.pos.Epoch || d.Seq != c.pos.Seq+1) {
		return false, fmt.Errorf("%s: silent gap: update %v after %v", c.name, d.Position(), c.pos)
	}
	if d.Data != nil {
		want, ok := log.get(d.Position())
		if ok && want != string(d.Data) {
			return false, fmt.Errorf("%s: %v %v holds %s, published %s", c.name, d.Kind, d.Position(), d.Data, want)
		}
	}
	switch {
	case d.Kind == fanout.Update:
		c.updates++
	case d.Kind == fanout.Reset && c.started && d.Epoch == c.pos.Epoch && d.Seq <= c.pos.Seq:
		c.backResets++
	case d.Kind == fanout.Reset:
		c.resets++
	}
	if c.seen[d.Position()] {
		c.dups++
	}
	c.seen[d.Position()] = true
	c.pos, c.started, c.last = d.Position(), true, string(d.Data)
	c.epochs[d.Epoch] = true
	return string(d.Data) == endMark, nil
}

// consume reads s until the end mark. When s ends because its hub closed
// and resume is set, it resumes on resume() from its last position.
func (c *consumer) consume(ctx context.Context, s *fanout.Subscriber, log *sentLog, resume func() *fanout.Subscriber) error {
	for {
		d, err := s.Next(ctx)
		if errors.Is(err, fanout.ErrClosed) && resume != nil {
			s, resume, c.resumed = resume(), nil, true
			if c.started {
				err = s.Resume(ctx, mnTopic, c.pos)
			} else {
				err = s.Subscribe(ctx, mnTopic)
			}
			if err != nil {
				return fmt.Errorf("%s: resume at %v: %w", c.name, c.pos, err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: next after %v: %w", c.name, c.pos, err)
		}
		end, err := c.apply(d, log)
		if err != nil || end {
			return err
		}
	}
}

func subscribeOn(t *testing.T, h *fanout.Hub) *fanout.Subscriber {
	t.Helper()
	s := h.NewSubscriber(fanout.SubscriberOptions{QueueSize: mnQueue})
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.Subscribe(ctxT(t), mnTopic))
	return s
}

// run starts the publisher on hub 0 and two consumers per hub, calls
// disrupt once the publisher is a third of the way, and waits for every
// consumer to reach the end mark. Consumers on hub 2 resume on hub 1 when
// their hub closes.
func (c *cluster) run(t *testing.T, n int, disrupt func()) []*consumer {
	t.Helper()
	ctx := ctxT(t)
	log := &sentLog{data: make(map[fanout.Position]string)}
	var consumers []*consumer
	errs := make(chan error, 2*len(c.hubs)+1)
	var wg sync.WaitGroup
	for i, h := range c.hubs {
		for j := range 2 {
			cons := &consumer{
				name:   "hub" + strconv.Itoa(i) + "." + strconv.Itoa(j),
				epochs: map[string]bool{}, seen: map[fanout.Position]bool{},
			}
			consumers = append(consumers, cons)
			s := subscribeOn(t, h)
			var resume func() *fanout.Subscriber
			if i == 2 {
				resume = func() *fanout.Subscriber {
					s := c.hubs[1].NewSubscriber(fanout.SubscriberOptions{QueueSize: mnQueue})
					t.Cleanup(func() { _ = s.Close() })
					return s
				}
			}
			wg.Go(func() { errs <- cons.consume(ctx, s, log, resume) })
		}
	}
	mid := make(chan struct{})
	wg.Go(func() { errs <- publisher(t, c.hubs[0], n, n/3, mid, log) })
	select {
	case <-mid:
		disrupt()
	case <-ctx.Done():
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for _, cons := range consumers {
		t.Logf("%s: %d updates, %d resets, %d back-resets, %d duplicates, %d epochs, resumed %v, ended at %v",
			cons.name, cons.updates, cons.resets, cons.backResets, cons.dups, len(cons.epochs), cons.resumed, cons.pos)
		require.Zero(t, cons.backResets, "%s was reset back to a position it had seen", cons.name)
		require.Zero(t, cons.dups, "%s saw positions twice", cons.name)
	}
	return consumers
}

func TestMultiNodeOrderAndHubFailover(t *testing.T) {
	c := newCluster(t, 3)
	const n = 1500
	consumers := c.run(t, n, func() {
		c.closed[2] = true
		require.NoError(t, c.hubs[2].Close()) // a gateway dies mid-stream
	})
	for _, cons := range consumers {
		require.Zero(t, cons.resets, "%s was reset", cons.name)
		require.Len(t, cons.epochs, 1, "%s saw several epochs", cons.name)
		require.Equal(t, uint64(n+1), cons.pos.Seq, "%s ended at %v", cons.name, cons.pos)
		// The position-only snapshot at 0 (they joined before the first
		// publish), then every message.
		require.Len(t, cons.seen, n+2, "%s: every message, hub 2's consumers across the failover too", cons.name)
		require.Equal(t, strings.HasPrefix(cons.name, "hub2."), cons.resumed, "%s", cons.name)
	}
}

func TestMultiNodeRedisRestart(t *testing.T) {
	c := newCluster(t, 3)
	const n = 900
	consumers := c.run(t, n, func() {
		c.srv.Kill() // a crash: Redis loses every topic
		c.srv.Restart()
	})
	for _, cons := range consumers {
		// Every consumer ends at the end mark, with a contiguous stream
		// in each epoch (checked as it went) and a Reset into the new
		// epoch unless it only ever saw the new one.
		require.Equal(t, endMark, cons.last, "%s", cons.name)
		if len(cons.epochs) > 1 {
			require.NotZero(t, cons.resets, "%s changed epoch without a reset", cons.name)
		}
	}
	require.Len(t, epochsOf(consumers), 2, "the restart started a new epoch")
}

func TestMultiNodeFlushAll(t *testing.T) {
	c := newCluster(t, 3)
	const n = 900
	consumers := c.run(t, n, func() {
		_, err := redistest.Do(c.srv.Addr, "FLUSHALL")
		require.NoError(t, err)
	})
	require.Len(t, epochsOf(consumers), 2, "FLUSHALL started a new epoch")
	for _, cons := range consumers {
		require.Len(t, cons.epochs, 2, "%s", cons.name)
		require.NotZero(t, cons.resets, "%s changed epoch without a reset", cons.name)
		require.Equal(t, endMark, cons.last, "%s", cons.name)
	}
}

func epochsOf(cs []*consumer) map[string]bool {
	all := map[string]bool{}
	for _, c := range cs {
		for e := range c.epochs {
			all[e] = true
		}
	}
	return all
}
