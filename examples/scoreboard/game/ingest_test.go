package game_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

func newHub(t *testing.T) *fanout.Hub {
	t.Helper()
	hub := fanout.NewHub(fanout.Options{})
	t.Cleanup(func() { hub.Close() })
	return hub
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// next returns the subscriber's next delivery, failing the test after a
// few seconds.
func next(t *testing.T, sub *fanout.Subscriber) fanout.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := sub.Next(ctx)
	require.NoError(t, err)
	return d
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(b, &v), "%s", b)
	return v
}

func TestIngesterPublishesStateAndUpdates(t *testing.T) {
	hub := newHub(t)
	in := game.NewIngester(hub, quietLog())
	require.NoError(t, in.AddGame(t.Context(), game.NewGame("g1", home, away)))

	sub := hub.NewSubscriber(fanout.SubscriberOptions{})
	defer sub.Close()
	require.NoError(t, sub.Subscribe(context.Background(), game.Topic("g1")))
	snap := next(t, sub)
	assert.Equal(t, fanout.Snapshot, snap.Kind)
	assert.Equal(t, game.NotStarted, decode[game.Game](t, snap.Data).Phase)

	require.NoError(t, in.Ingest(t.Context(), game.Event{Game: "g1", ID: 1, Kind: game.KickOff}))
	require.NoError(t, in.Ingest(t.Context(), game.Event{Game: "g1", ID: 2, Kind: game.Goal, Minute: 9, Side: game.Away, Player: "Berg"}))
	for _, want := range []game.Kind{game.KickOff, game.Goal} {
		d := next(t, sub)
		assert.Equal(t, fanout.Update, d.Kind)
		assert.Equal(t, want, decode[game.Update](t, d.Data).Event.Kind)
	}

	t.Run("a late joiner gets the state", func(t *testing.T) {
		late := hub.NewSubscriber(fanout.SubscriberOptions{})
		defer late.Close()
		require.NoError(t, late.Subscribe(context.Background(), game.Topic("g1")))
		g := decode[game.Game](t, next(t, late).Data)
		assert.Equal(t, 1, g.Away.Score)
		assert.Equal(t, game.InFirstHalf, g.Phase)
	})

	t.Run("a rejected event publishes nothing", func(t *testing.T) {
		before := hub.Stats().Published
		err := in.Ingest(t.Context(), game.Event{Game: "g1", ID: 2, Kind: game.Goal, Minute: 9, Side: game.Away, Player: "Berg"})
		var rej *game.RejectedError
		require.ErrorAs(t, err, &rej)
		assert.Equal(t, before, hub.Stats().Published)
		assert.Zero(t, sub.Len())

		err = in.Ingest(t.Context(), game.Event{Game: "nope", ID: 1, Kind: game.KickOff})
		assert.ErrorIs(t, err, game.ErrUnknownGame)
		assert.Equal(t, before, hub.Stats().Published)
	})

	t.Run("copies", func(t *testing.T) {
		g, ok := in.Game("g1")
		require.True(t, ok)
		g.Home.Score = 99
		again, _ := in.Game("g1")
		assert.Zero(t, again.Home.Score, "Game returns a copy")
		assert.Len(t, in.Games(), 1)
	})
}

func TestIngesterLogsRejections(t *testing.T) {
	logged := make(chan slog.Record, 1)
	log := slog.New(recordHandler(logged))
	in := game.NewIngester(newHub(t), log)
	require.NoError(t, in.AddGame(t.Context(), game.NewGame("g1", home, away)))

	err := in.Ingest(t.Context(), game.Event{Game: "g1", ID: 1, Kind: game.HalfTime, Minute: 45})
	require.Error(t, err)
	rec := <-logged
	assert.Equal(t, slog.LevelWarn, rec.Level)
	reason := ""
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "reason" {
			reason = a.Value.String()
		}
		return true
	})
	assert.Contains(t, reason, "half time cannot happen when the game is not started")
}

func TestIngesterIndex(t *testing.T) {
	hub := newHub(t)
	in := game.NewIngester(hub, quietLog())
	sub := hub.NewSubscriber(fanout.SubscriberOptions{})
	defer sub.Close()
	require.NoError(t, sub.Subscribe(context.Background(), game.IndexTopic))
	assert.Nil(t, next(t, sub).Data, "no index before the first game")

	require.NoError(t, in.AddGame(t.Context(), game.NewGame("g1", home, away)))
	require.NoError(t, in.AddGame(t.Context(), game.NewGame("g2", away, home)))
	require.NoError(t, in.RemoveGame(t.Context(), "g1"))
	assert.ErrorIs(t, in.RemoveGame(t.Context(), "g1"), game.ErrUnknownGame)

	var last game.Index
	for range 3 {
		last = decode[game.Index](t, next(t, sub).Data)
	}
	assert.Equal(t, game.Index{Games: []game.IndexEntry{{ID: "g2", Home: away.Name, Away: home.Name}}}, last)

	t.Run("bounded", func(t *testing.T) {
		for i := len(in.Games()); i < game.MaxGames; i++ {
			require.NoError(t, in.AddGame(t.Context(), game.NewGame(fmt.Sprintf("x%d", i), home, away)))
		}
		assert.Error(t, in.AddGame(t.Context(), game.NewGame("one-too-many", home, away)))
		assert.NoError(t, in.AddGame(t.Context(), game.NewGame("g2", home, away)), "replacing a game is not adding one")
	})
	t.Run("invalid id", func(t *testing.T) {
		assert.ErrorIs(t, in.AddGame(t.Context(), game.NewGame("no spaces", home, away)), fanout.ErrInvalidTopic)
	})
	t.Run("closed hub", func(t *testing.T) {
		hub := fanout.NewHub(fanout.Options{})
		in := game.NewIngester(hub, quietLog())
		require.NoError(t, in.AddGame(t.Context(), game.NewGame("g1", home, away)))
		hub.Close()
		err := in.Ingest(t.Context(), game.Event{Game: "g1", ID: 1, Kind: game.KickOff})
		assert.True(t, errors.Is(err, fanout.ErrClosed), "%v", err)
	})
}

// recordHandler is a slog.Handler that sends each record to c, dropping
// it when c is full.
type recordHandler chan slog.Record

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h recordHandler) WithGroup(string) slog.Handler            { return h }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h <- r:
	default:
	}
	return nil
}
