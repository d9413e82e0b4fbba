package game_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

func TestIngesterExists(t *testing.T) {
	in := game.NewIngester(newHub(t), quietLog())
	require.NoError(t, in.AddGame(context.Background(), game.NewGame("g1", home, away)))
	assert.True(t, in.Exists(game.IndexTopic))
	assert.True(t, in.Exists(game.Topic("g1")))
	assert.False(t, in.Exists(game.Topic("g2")), "not on the board")
	assert.False(t, in.Exists("g1"))
	require.NoError(t, in.RemoveGame(context.Background(), "g1"))
	assert.False(t, in.Exists(game.Topic("g1")), "taken off the board")
}

func TestWellFormed(t *testing.T) {
	for topic, want := range map[string]bool{
		game.IndexTopic:           true,
		game.Topic("g1"):          true,
		game.Topic("g4294967295"): true,
		game.Topic("g4294967296"): false,
		game.Topic("g0"):          false,
		game.Topic("g01"):         false,
		game.Topic("g"):           false,
		game.Topic("x1"):          false,
		game.Topic("g1:x"):        false,
		"other:g1":                false,
		"":                        false,
	} {
		assert.Equal(t, want, game.WellFormed(topic), topic)
	}
}
