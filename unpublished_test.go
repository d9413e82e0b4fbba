package fanout_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/internal/floodtest"
)

// TestTopicFloodCannotStopPublishing floods the hub with subscriptions to
// invented topics, as a hostile client naming 100 new topics per request
// would, while a publisher creates topics of its own: every publish
// succeeds, the flood is bounded by MaxUnpublishedTopics, and topics and
// heap return near their baseline once the flooding clients leave.
func TestTopicFloodCannotStopPublishing(t *testing.T) {
	const (
		published = 200
		clients   = 40
		perClient = 1000
	)
	h := newHub(t, fanout.Options{MaxTopics: published, MaxUnpublishedTopics: clients * perClient / 2})
	ctx := context.Background()
	base := floodtest.HeapInUse()

	var refused atomic.Int64
	var wg sync.WaitGroup
	subs := make([]*fanout.Subscriber, clients)
	for c := range subs {
		subs[c] = h.NewSubscriber(fanout.SubscriberOptions{MaxSubscriptions: perClient, QueueSize: 2 * perClient})
		wg.Go(func() {
			for i := range perClient {
				err := subs[c].Subscribe(ctx, fmt.Sprintf("invented:%d:%d", c, i))
				if errors.Is(err, fanout.ErrLimit) {
					refused.Add(1)
				} else {
					assert.NoError(t, err)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range published {
			_, err := h.PublishState(fmt.Sprintf("game:%d", i), []byte(`{}`), []byte(`{}`))
			assert.NoError(t, err, "no client traffic makes a publish fail")
		}
	})
	wg.Wait()

	st := h.Stats()
	assert.Equal(t, clients*perClient/2, st.UnpublishedTopics, "the flood fills its own limit")
	assert.Equal(t, int64(clients*perClient/2), refused.Load(), "and is refused beyond it")
	assert.Equal(t, published+st.UnpublishedTopics, st.Topics)
	flooded := floodtest.HeapInUse()

	for _, s := range subs {
		require.NoError(t, s.Close())
	}
	st = h.Stats()
	assert.Equal(t, published, st.Topics, "unpublished topics go with their last subscriber, before any sweep")
	assert.Zero(t, st.UnpublishedTopics)
	assert.Less(t, h.ShardPeaks(), st.Topics+clients*perClient/4, "the shard maps were rebuilt smaller")
	after := floodtest.HeapInUse()
	t.Logf("heap in use: %d KiB before, %d KiB flooded, %d KiB after", base>>10, flooded>>10, after>>10)
	assert.Less(t, after, base+(flooded-base)/4, "the shard maps shrink: the flood's memory returns")

	// Once the clients left, their names can be published on again.
	_, err := h.Publish("game:new", nil)
	assert.ErrorIs(t, err, fanout.ErrLimit, "MaxTopics still bounds the application's own topics")
}

func TestTopicExistsRefusesBeforeAllocating(t *testing.T) {
	var asked []string
	h := newHub(t, fanout.Options{TopicExists: func(topic string) bool {
		asked = append(asked, topic) // joins below are sequential
		return topic == "known"
	}})
	ctx := context.Background()
	s := newSub(t, h, fanout.SubscriberOptions{})

	err := s.Subscribe(ctx, "unknown")
	assert.ErrorIs(t, err, fanout.ErrNotFound)
	assert.ErrorIs(t, s.Resume(ctx, "unknown", fanout.Position{Epoch: "e", Seq: 3}), fanout.ErrNotFound)
	assert.Zero(t, h.Stats().Topics, "nothing was created for it")
	assert.Empty(t, s.Topics())

	require.NoError(t, s.Subscribe(ctx, "known"))
	_, err = h.Publish("unknown", nil)
	assert.NoError(t, err, "Publish does not ask: the application knows its own topics")
	other := newSub(t, h, fanout.SubscriberOptions{})
	require.NoError(t, other.Subscribe(ctx, "unknown"), "a topic the hub holds is not asked about")
	assert.Equal(t, []string{"unknown", "unknown", "known"}, asked)
}

func TestLoaderRefusesTopic(t *testing.T) {
	h := newHub(t, fanout.Options{Loader: func(_ context.Context, topic string) ([]byte, error) {
		if topic == "gone" {
			return nil, fmt.Errorf("game %s: %w", topic, fanout.ErrNotFound)
		}
		return []byte(`{"score":"0-0"}`), nil
	}})
	ctx := context.Background()
	s := newSub(t, h, fanout.SubscriberOptions{})
	assert.ErrorIs(t, s.Subscribe(ctx, "gone"), fanout.ErrNotFound)
	assert.Zero(t, h.Stats().Topics, "the refused topic went at once")

	require.NoError(t, s.Subscribe(ctx, "live"))
	st := h.Stats()
	assert.Equal(t, 1, st.Topics)
	assert.Zero(t, st.UnpublishedTopics, "loaded state makes a topic a published one")
}

func TestUnpublishedTopicGoesWithLastSubscriber(t *testing.T) {
	h := newHub(t, fanout.Options{})
	ctx := context.Background()
	a, b := newSub(t, h, fanout.SubscriberOptions{}), newSub(t, h, fanout.SubscriberOptions{})
	require.NoError(t, a.Subscribe(ctx, "t"))
	require.NoError(t, b.Subscribe(ctx, "t"))
	assert.Equal(t, 1, h.Stats().UnpublishedTopics)
	require.NoError(t, a.Unsubscribe("t"))
	assert.Equal(t, 1, h.Stats().Topics, "one subscriber is left")
	require.NoError(t, b.Close())
	assert.Zero(t, h.Stats().Topics, "gone with the last one, no sweep needed")

	// A published topic stays (for IdleTopicTTL) when its subscribers leave.
	require.NoError(t, a.Subscribe(ctx, "p"))
	_, err := h.Publish("p", []byte(`1`))
	require.NoError(t, err)
	require.NoError(t, a.Unsubscribe("p"))
	st := h.Stats()
	assert.Equal(t, 1, st.Topics)
	assert.Zero(t, st.UnpublishedTopics)
}

// TestVacantTopicKeepsItsEpoch: a topic that goes with its last
// subscriber and comes back keeps its epoch, so that a client holding its
// position (as a long-poll client does between polls) is neither reset
// nor answered at once; a topic that had messages comes back in a new
// epoch, so that positions of its earlier life are never served from the
// next.
func TestVacantTopicKeepsItsEpoch(t *testing.T) {
	h := newHub(t, fanout.Options{IdleTopicTTL: time.Nanosecond})
	ctx := context.Background()
	join := func(from *fanout.Position) fanout.Delivery {
		s := newSub(t, h, fanout.SubscriberOptions{})
		if from == nil {
			require.NoError(t, s.Subscribe(ctx, "t"))
		} else {
			require.NoError(t, s.Resume(ctx, "t", *from))
		}
		ds := drain(t, s)
		require.NoError(t, s.Close())
		if len(ds) == 0 {
			return fanout.Delivery{}
		}
		require.Len(t, ds, 1)
		return ds[0]
	}
	first := join(nil)
	require.Equal(t, fanout.Snapshot, first.Kind)
	require.Zero(t, h.Stats().Topics, "the vacant topic went")
	pos := first.Position()
	assert.Equal(t, fanout.Delivery{}, join(&pos), "resumed at its position: nothing to send, no reset")

	pub, err := h.Publish("t", []byte(`1`))
	require.NoError(t, err)
	assert.Equal(t, pos.Epoch, pub.Epoch, "published in the epoch its subscribers hold")
	h.Sweep() // the published topic goes (IdleTopicTTL)
	require.Zero(t, h.Stats().Topics)
	again := join(&pub)
	assert.Equal(t, fanout.Reset, again.Kind, "its earlier life's position is not served from the next")
	assert.NotEqual(t, pub.Epoch, again.Epoch)
}
