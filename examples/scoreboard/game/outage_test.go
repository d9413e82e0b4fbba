package game_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/broker/memory"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

// brokerHub returns a hub on a memory broker, closed when the test ends.
func brokerHub(t *testing.T, mb *memory.Broker) *fanout.Hub {
	hub := fanout.NewHub(fanout.Options{Broker: mb.Connect()})
	t.Cleanup(func() { assert.NoError(t, hub.Close()) })
	return hub
}

// stored returns topic's snapshot as the broker holds it, through a new
// subscriber.
func stored(t *testing.T, hub *fanout.Hub, topic string) fanout.Delivery {
	t.Helper()
	sub := hub.NewSubscriber(fanout.SubscriberOptions{})
	defer sub.Close()
	require.NoError(t, sub.Subscribe(t.Context(), topic))
	d := next(t, sub)
	require.Equal(t, fanout.Snapshot, d.Kind)
	return d
}

// assertStored checks that every game of in is what the broker stores on
// its topic: the ingester is never ahead of what was stored.
func assertStored(t *testing.T, hub *fanout.Hub, in *game.Ingester) {
	t.Helper()
	for _, g := range in.Games() {
		want, err := json.Marshal(g)
		require.NoError(t, err)
		assert.JSONEq(t, string(want), string(stored(t, hub, game.Topic(g.ID)).Data), "game %s", g.ID)
	}
}

// messages counts the records logged with a message containing s.
func messages(records []slog.Record, s string) int {
	n := 0
	for _, r := range records {
		if strings.Contains(r.Message, s) {
			n++
		}
	}
	return n
}

func drain(c chan slog.Record) []slog.Record {
	var rs []slog.Record
	for {
		select {
		case r := <-c:
			rs = append(rs, r)
		default:
			return rs
		}
	}
}

// While the broker is down the feed waits, its ingester unchanged and the
// outage logged once; when the broker is back, the feed goes on where it
// stopped, and what the ingester holds is what the broker stored.
func TestFeedRidesOutABrokerOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mb := memory.New(memory.Options{})
		hub := brokerHub(t, mb)
		logged := make(chan slog.Record, 100)
		in := game.NewIngester(hub, slog.New(recordHandler(logged)))
		feed := game.NewFeed(in, game.FeedOptions{Games: 2, Seed: 3, GlitchRate: -1, Rate: 10})
		for range 10 {
			require.NoError(t, feed.Step(t.Context()))
		}
		before := in.Games()
		published := hub.Stats().Published

		mb.SetDown(true)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- feed.Run(ctx) }()
		time.Sleep(time.Minute) // fake time: a minute without a broker
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("the feed ended during the outage: %v", err)
		default:
		}
		assert.Equal(t, before, in.Games(), "nothing stored, so nothing applied")
		during := drain(logged)
		assert.Equal(t, 1, messages(during, "broker is down"), "the outage is logged once")

		mb.SetDown(false)
		time.Sleep(10 * time.Second) // fake time: a retry (within MaxDelay), then the feed goes on
		synctest.Wait()
		assert.Greater(t, hub.Stats().Published, published+5, "the feed publishes again")
		assert.NotEqual(t, before, in.Games())
		assert.Equal(t, 1, messages(drain(logged), "broker is back"))
		cancel()
		require.NoError(t, <-done)
		synctest.Wait() // the broker has delivered everything to the hub
		assertStored(t, hub, in)
	})
}

// A broker that comes back without its data (a new epoch) gets the index
// and every game's state again, not only those of the next events.
func TestIngesterRepublishesAfterTheBrokerLostItsData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mb := memory.New(memory.Options{})
		hub := brokerHub(t, mb)
		in := game.NewIngester(hub, quietLog())
		require.NoError(t, in.AddGame(t.Context(), game.NewGame("g1", home, away)))
		require.NoError(t, in.AddGame(t.Context(), game.NewGame("g2", away, home)))
		require.NoError(t, in.Ingest(t.Context(), game.Event{Game: "g2", ID: 1, Kind: game.KickOff}))
		require.NoError(t, in.Ingest(t.Context(), game.Event{Game: "g2", ID: 2, Kind: game.Goal, Minute: 3, Side: game.Home, Player: "Berg"}))
		old := stored(t, hub, game.Topic("g2")).Epoch

		mb.Flush() // the broker restarts empty
		require.NoError(t, in.Ingest(t.Context(), game.Event{Game: "g1", ID: 1, Kind: game.KickOff}))
		synctest.Wait() // the broker has delivered everything to the hub
		g2 := stored(t, hub, game.Topic("g2"))
		assert.NotEqual(t, old, g2.Epoch)
		assert.Equal(t, 1, decode[game.Game](t, g2.Data).Home.Score, "g2's state in the new epoch")
		assertStored(t, hub, in)
		idx := decode[game.Index](t, stored(t, hub, game.IndexTopic).Data)
		assert.Len(t, idx.Games, 2)
	})
}

// A feed whose context ends during an outage returns nil: it was stopped,
// not broken.
func TestFeedStoppedDuringAnOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mb := memory.New(memory.Options{})
		hub := brokerHub(t, mb)
		in := game.NewIngester(hub, quietLog())
		mb.SetDown(true)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		require.NoError(t, game.NewFeed(in, game.FeedOptions{}).Run(ctx))
		assert.Empty(t, in.Games())
	})
}
