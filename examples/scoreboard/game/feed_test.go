package game_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

func TestFeedPlaysGames(t *testing.T) {
	hub := newHub(t)
	in := game.NewIngester(hub, quietLog())
	feed := game.NewFeed(in, game.FeedOptions{Games: 4, Seed: 7, GlitchRate: 0.05})

	require.NoError(t, feed.Step(t.Context()))
	first := in.Games()
	require.Len(t, first, 4)
	teams := map[string]bool{}
	for _, g := range first {
		teams[g.Home.Name], teams[g.Away.Name] = true, true
	}
	assert.Len(t, teams, 8, "no team plays two games at once")

	sub := hub.NewSubscriber(fanout.SubscriberOptions{QueueSize: 4096})
	defer sub.Close()
	require.NoError(t, sub.Subscribe(context.Background(), game.Topic(first[0].ID)))
	next(t, sub) // the snapshot

	// Enough steps for every game to finish and be replaced.
	for range 2000 {
		require.NoError(t, feed.Step(t.Context()))
	}
	now := in.Games()
	require.Len(t, now, 4)
	for _, g := range now {
		assert.NotEqual(t, first[0].ID, g.ID, "finished games make room for new ones")
	}
	assert.Greater(t, hub.Stats().Published, uint64(400))

	// The first game's topic saw a whole game, in order.
	var last game.Update
	for sub.Len() > 0 {
		d := next(t, sub)
		last = decode[game.Update](t, d.Data)
	}
	assert.Equal(t, game.FullTime, last.Event.Kind)
	assert.Equal(t, game.Finished, last.Phase)
}

func TestFeedRunStopsWithItsContext(t *testing.T) {
	hub := newHub(t)
	in := game.NewIngester(hub, quietLog())
	feed := game.NewFeed(in, game.FeedOptions{Rate: 1000})

	sub := hub.NewSubscriber(fanout.SubscriberOptions{})
	defer sub.Close()
	require.NoError(t, sub.Subscribe(context.Background(), game.IndexTopic))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- feed.Run(ctx) }()
	next(t, sub) // the feed runs: the index is published
	cancel()
	require.NoError(t, <-done)
}

func TestFeedRunEndsWhenTheHubCloses(t *testing.T) {
	hub := fanout.NewHub(fanout.Options{})
	in := game.NewIngester(hub, quietLog())
	feed := game.NewFeed(in, game.FeedOptions{Rate: 1000})
	require.NoError(t, feed.Step(t.Context()))
	hub.Close()
	err := feed.Run(context.Background())
	assert.ErrorIs(t, err, fanout.ErrClosed)
}
