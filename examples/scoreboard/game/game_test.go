package game_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

var (
	home = game.Team{Name: "Home FC", Short: "HOM", Color: "#111"}
	away = game.Team{Name: "Away FC", Short: "AWY", Color: "#222"}
)

// played returns game g1 after the events evs, which must all apply.
func played(t *testing.T, evs ...game.Event) game.Game {
	t.Helper()
	g := game.NewGame("g1", home, away)
	for _, ev := range evs {
		_, err := g.Apply(ev)
		require.NoError(t, err, "event %+v", ev)
	}
	return g
}

// script numbers events of game g1 from 1.
func script(evs ...game.Event) []game.Event {
	for i := range evs {
		evs[i].Game = "g1"
		evs[i].ID = int64(i + 1)
	}
	return evs
}

func TestApplyPlaysAGame(t *testing.T) {
	evs := script(
		game.Event{Kind: game.KickOff},
		game.Event{Kind: game.Goal, Minute: 12, Side: game.Home, Player: "Abara"},
		game.Event{Kind: game.YellowCard, Minute: 30, Side: game.Away, Player: "Berg"},
		game.Event{Kind: game.HalfTime, Minute: 45},
		game.Event{Kind: game.SecondHalf, Minute: 46},
		game.Event{Kind: game.YellowCard, Minute: 60, Side: game.Away, Player: "Berg"},
		game.Event{Kind: game.Goal, Minute: 77, Side: game.Away, Player: "Costa"},
		game.Event{Kind: game.Clock, Minute: 85},
		game.Event{Kind: game.FullTime, Minute: 90},
	)
	g := played(t, evs...)
	assert.Equal(t, game.Finished, g.Phase)
	assert.Equal(t, 90, g.Minute)
	assert.Equal(t, 1, g.Home.Score)
	assert.Equal(t, 1, g.Away.Score)
	assert.Equal(t, 2, g.Away.Yellow)
	assert.Equal(t, 1, g.Away.Red, "a second yellow sends off")
	assert.Len(t, g.Events, 4, "the timeline keeps goals and cards")

	t.Run("update", func(t *testing.T) {
		g := played(t, evs[:1]...)
		up, err := g.Apply(evs[1])
		require.NoError(t, err)
		assert.Equal(t, game.Update{
			Event: evs[1], Phase: game.InFirstHalf, Minute: 12,
			Home: game.Tally{Score: 1}, Away: game.Tally{},
		}, up)
	})
}

func TestApplyRejectsImpossibleEvents(t *testing.T) {
	start := script(
		game.Event{Kind: game.KickOff},
		game.Event{Kind: game.RedCard, Minute: 20, Side: game.Home, Player: "Doyle"},
	)
	halfTime := append(start, game.Event{Game: "g1", ID: 3, Kind: game.HalfTime, Minute: 45})
	tests := []struct {
		name   string
		before []game.Event
		ev     game.Event
	}{
		{"another game", start, game.Event{Game: "g2", ID: 3, Kind: game.Clock, Minute: 21}},
		{"duplicate", start, start[1]},
		{"out of order id", start, game.Event{Game: "g1", ID: 1, Kind: game.Clock, Minute: 25}},
		{"before the clock", start, game.Event{Game: "g1", ID: 3, Kind: game.Clock, Minute: 10}},
		{"past any end", start, game.Event{Game: "g1", ID: 3, Kind: game.Clock, Minute: game.MaxMinute + 1}},
		{"goal before kick-off", nil, game.Event{Game: "g1", ID: 1, Kind: game.Goal, Side: game.Home, Player: "Abara"}},
		{"second kick-off", start, game.Event{Game: "g1", ID: 3, Kind: game.KickOff, Minute: 21}},
		{"half time too early", start, game.Event{Game: "g1", ID: 3, Kind: game.HalfTime, Minute: 30}},
		{"full time in the first half", start, game.Event{Game: "g1", ID: 3, Kind: game.FullTime, Minute: 95}},
		{"goal at half time", halfTime, game.Event{Game: "g1", ID: 4, Kind: game.Goal, Minute: 45, Side: game.Away, Player: "Berg"}},
		{"clock at half time", halfTime, game.Event{Game: "g1", ID: 4, Kind: game.Clock, Minute: 45}},
		{"second half twice", append(halfTime, game.Event{Game: "g1", ID: 4, Kind: game.SecondHalf, Minute: 46}),
			game.Event{Game: "g1", ID: 5, Kind: game.SecondHalf, Minute: 47}},
		{"goal by a player sent off", start, game.Event{Game: "g1", ID: 3, Kind: game.Goal, Minute: 25, Side: game.Home, Player: "Doyle"}},
		{"card for a player sent off", start, game.Event{Game: "g1", ID: 3, Kind: game.YellowCard, Minute: 25, Side: game.Home, Player: "Doyle"}},
		{"no side", start, game.Event{Game: "g1", ID: 3, Kind: game.Goal, Minute: 25, Player: "Abara"}},
		{"no player", start, game.Event{Game: "g1", ID: 3, Kind: game.Goal, Minute: 25, Side: game.Home}},
		{"unknown kind", start, game.Event{Game: "g1", ID: 3, Kind: "corner", Minute: 25}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := played(t, tt.before...)
			before := g.Clone()
			_, err := g.Apply(tt.ev)
			var rej *game.RejectedError
			require.True(t, errors.As(err, &rej), "want a rejection, got %v", err)
			assert.Equal(t, tt.ev, rej.Event)
			assert.NotEmpty(t, rej.Reason)
			assert.Contains(t, err.Error(), rej.Reason)
			assert.Equal(t, before, g, "a rejected event leaves the game unchanged")
		})
	}
}

func TestTimelineIsBounded(t *testing.T) {
	evs := []game.Event{{Kind: game.KickOff}}
	for i := range 3 * game.MaxTimeline {
		evs = append(evs, game.Event{Kind: game.Goal, Minute: 1 + i%44, Side: game.Home, Player: "Abara"})
	}
	g := played(t, script(evs...)...)
	require.Len(t, g.Events, game.MaxTimeline)
	assert.Equal(t, int64(len(evs)), g.Events[game.MaxTimeline-1].ID, "the newest event is last")
	assert.Equal(t, 3*game.MaxTimeline, g.Home.Score)
}
