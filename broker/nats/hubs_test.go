package nats_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	natsbroker "github.com/fanout-go/fanout/broker/nats"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newHub returns a hub that is one node on NATS; closing the hub closes
// its broker, and the test's cleanup closes the hub.
func newHub(t testing.TB, url string, opts natsbroker.Options) *fanout.Hub {
	t.Helper()
	opts.URL = url
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := natsbroker.New(ctx, opts)
	require.NoError(t, err)
	h := fanout.NewHub(fanout.Options{Broker: b})
	t.Cleanup(func() { require.NoError(t, h.Close()) })
	return h
}

// consumer is one client: it reads a topic through a subscriber and, when
// its hub dies, resumes on another hub from the last position it
// processed, as a client reconnecting to another gateway would.
type consumer struct {
	name  string
	topic string
	seqs  []uint64 // every update processed, in order
	last  fanout.Position
	moves int // times it resumed on another hub
}

// run consumes until seq want and resumes on fallback after ErrClosed,
// at once: fallback may not have received the client's last position yet,
// and must then catch up with the broker rather than reset the client.
func (c *consumer) run(ctx context.Context, sub *fanout.Subscriber, fallback *fanout.Hub, want uint64) error {
	defer func() { _ = sub.Close() }()
	for c.last.Seq < want {
		d, err := sub.Next(ctx)
		if errors.Is(err, fanout.ErrClosed) && c.moves == 0 {
			_ = sub.Close()
			c.moves++
			sub = fallback.NewSubscriber(fanout.SubscriberOptions{QueueSize: 1024})
			if err := sub.Resume(ctx, c.topic, c.last); err != nil {
				return fmt.Errorf("%s: resume at %v: %w", c.name, c.last, err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("%s after %v: %w", c.name, c.last, err)
		}
		if d.Kind == fanout.Snapshot && c.last.Epoch == "" && d.Data == nil {
			c.last = d.Position() // a subscription's first message: the topic has no state yet
			continue
		}
		if d.Kind != fanout.Update || d.Gap {
			return fmt.Errorf("%s: %s (gap %v) at %v after %v", c.name, d.Kind, d.Gap, d.Position(), c.last)
		}
		if c.last.Epoch != "" && d.Epoch != c.last.Epoch || d.Seq != c.last.Seq+1 {
			return fmt.Errorf("%s: %v after %v", c.name, d.Position(), c.last)
		}
		c.seqs = append(c.seqs, d.Seq)
		c.last = d.Position()
	}
	return nil
}

// TestThreeHubs runs three hubs, each with its own NATS broker, and two
// clients on each. Publishes go through every hub in turn; midway one hub
// is closed (its gateway dies) and its clients resume on another hub.
// Every client must see every update exactly once, in order.
func TestThreeHubs(t *testing.T) {
	ns := startServer(t)
	const topic, total, killAt = "match.42", 240, 80
	hubs := make([]*fanout.Hub, 3)
	for i := range hubs {
		hubs[i] = newHub(t, ns.url(), natsbroker.Options{})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var consumers []*consumer
	var wg sync.WaitGroup
	for i, h := range hubs {
		for j := range 2 {
			c := &consumer{name: fmt.Sprintf("hub%d/client%d", i, j), topic: topic}
			consumers = append(consumers, c)
			sub := h.NewSubscriber(fanout.SubscriberOptions{QueueSize: 1024})
			require.NoError(t, sub.Subscribe(ctx, topic))
			next := (i + 1) % len(hubs)
			wg.Go(func() { assert.NoError(t, c.run(ctx, sub, hubs[next], total)) })
		}
	}

	const dead = 2
	for n := 1; n <= total; n++ {
		if n == killAt {
			require.NoError(t, hubs[dead].Close())
		}
		h := hubs[n%len(hubs)]
		if n >= killAt && n%len(hubs) == dead {
			h = hubs[0]
		}
		pos, err := h.Publish(topic, fmt.Appendf(nil, `{"n":%d}`, n))
		require.NoError(t, err)
		require.Equal(t, uint64(n), pos.Seq)
	}
	wg.Wait()
	for _, c := range consumers {
		require.Len(t, c.seqs, total, c.name)
		assert.Equal(t, uint64(1), c.seqs[0], c.name)
	}
	assert.Equal(t, 1, consumers[2*dead].moves, "the dead hub's clients moved")
	assert.Equal(t, 1, consumers[2*dead+1].moves, "the dead hub's clients moved")
}
