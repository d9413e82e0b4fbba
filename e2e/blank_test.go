package e2e

import (
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

// loseGames replaces the hub with one that holds the index but no game's
// state, as a broker restarted empty holds before the feed republishes:
// a page that resumes a game there is reset with no data.
func (b *board) loseGames() {
	b.t.Helper()
	b.mu.Lock()
	oldHub, oldSrv := b.hub, b.srv
	var idx game.Index
	for _, g := range b.in.Games() {
		idx.Games = append(idx.Games, game.IndexEntry{ID: g.ID, Home: g.Home.Name, Away: g.Away.Name})
	}
	data, err := json.Marshal(idx)
	if err != nil {
		b.t.Fatal(err)
	}
	hub := fanout.NewHub(fanout.Options{})
	if _, err := hub.PublishState(game.IndexTopic, data, data); err != nil {
		b.t.Fatal(err)
	}
	b.hub, b.in, b.srv = hub, game.NewIngester(hub, slog.New(slog.DiscardHandler)), game.NewServer(hub, game.ServerOptions{})
	b.mu.Unlock()
	oldSrv.Close()
	oldHub.Close()
}

// TestScoreboardBlanksALostGame: a game reset with no state (its topic
// lost, not yet republished) shows no score rather than one that no longer
// holds.
func TestScoreboardBlanksALostGame(t *testing.T) {
	board := newBoard(t)
	b := newBrowser(t)
	b.open(board.ts.URL)
	b.waitScore("g1", 1, 0)

	board.loseGames()
	b.waitFor("g1 blanked", `(() => {
		const card = document.querySelector('[data-game="g1"]');
		return card.dataset.phase === 'unknown' &&
			[...card.querySelectorAll('.score')].every((e) => e.textContent === '–');
	})()`, describePage)
}
