package game

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/fanout-go/fanout"
)

// IndexTopic is the topic that lists the games on the board. Its snapshot
// and every update are the whole Index.
const IndexTopic = "game-updates:index"

// Topic returns the topic of the game id: "game-updates:<id>".
func Topic(id string) string { return "game-updates:" + id }

// MaxGames bounds the games an Ingester holds.
const MaxGames = 64

// Index is the payload of IndexTopic: the games on the board, in order.
type Index struct {
	Games []IndexEntry `json:"games"`
}

// IndexEntry names one game of the Index.
type IndexEntry struct {
	ID   string `json:"id"`
	Home string `json:"home"`
	Away string `json:"away"`
}

// ErrUnknownGame is returned by Ingest for an event of a game that is not
// on the board.
var ErrUnknownGame = errors.New("scoreboard: unknown game; add it with AddGame first")

// An Ingester is the ingest step between a feed and the hub: it validates
// each event against the game's state, applies it, and publishes the
// Update together with the new full state (fanout.Hub.PublishState), so
// that clients joining later start from the right score. It is safe for
// concurrent use.
type Ingester struct {
	hub *fanout.Hub
	log *slog.Logger

	// mu guards games and order. It is held while publishing, which keeps
	// each topic's messages in the order of the state changes (Publish
	// never blocks on a subscriber).
	mu    sync.Mutex
	games map[string]*Game
	order []string
}

// NewIngester returns an ingester publishing on hub. It logs rejected
// events to log (slog.Default() when nil).
func NewIngester(hub *fanout.Hub, log *slog.Logger) *Ingester {
	if log == nil {
		log = slog.Default()
	}
	return &Ingester{hub: hub, log: log, games: make(map[string]*Game)}
}

// AddGame puts g on the board, or replaces the game with its id, and
// publishes its state and the new index.
func (in *Ingester) AddGame(g Game) error {
	if err := fanout.ValidTopic(Topic(g.ID), 0); err != nil {
		return fmt.Errorf("add game %q: %w", g.ID, err)
	}
	g = g.Clone()
	in.mu.Lock()
	defer in.mu.Unlock()
	if _, ok := in.games[g.ID]; !ok {
		if len(in.games) >= MaxGames {
			return fmt.Errorf("add game %q: the board holds %d games already (MaxGames); remove one first", g.ID, MaxGames)
		}
		in.order = append(in.order, g.ID)
	}
	in.games[g.ID] = &g
	state := mustJSON(g)
	if _, err := in.hub.PublishState(Topic(g.ID), state, state); err != nil {
		return fmt.Errorf("add game %q: %w", g.ID, err)
	}
	return in.publishIndexLocked()
}

// RemoveGame takes the game id off the board and publishes the new index.
// The game's topic keeps its last state until the hub evicts it.
func (in *Ingester) RemoveGame(id string) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if _, ok := in.games[id]; !ok {
		return fmt.Errorf("remove game %q: %w", id, ErrUnknownGame)
	}
	delete(in.games, id)
	in.order = slices.DeleteFunc(in.order, func(s string) bool { return s == id })
	return in.publishIndexLocked()
}

// Ingest validates ev, applies it to its game and publishes the update
// with the game's new state. A rejected event is logged with its reason
// and returned as a *RejectedError; nothing is published then.
func (in *Ingester) Ingest(ev Event) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	g, ok := in.games[ev.Game]
	if !ok {
		in.log.Warn("ingest: event rejected", "game", ev.Game, "id", ev.ID, "kind", ev.Kind, "reason", "unknown game")
		return fmt.Errorf("ingest event %d: %w", ev.ID, ErrUnknownGame)
	}
	up, err := g.Apply(ev)
	if err != nil {
		var rej *RejectedError
		if errors.As(err, &rej) {
			in.log.Warn("ingest: event rejected", "game", ev.Game, "id", ev.ID, "kind", ev.Kind, "minute", ev.Minute, "reason", rej.Reason)
		}
		return err
	}
	if _, err := in.hub.PublishState(Topic(g.ID), mustJSON(up), mustJSON(g)); err != nil {
		return fmt.Errorf("ingest event %d of game %q: %w", ev.ID, ev.Game, err)
	}
	return nil
}

// Game returns a copy of the game id's state.
func (in *Ingester) Game(id string) (Game, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	g, ok := in.games[id]
	if !ok {
		return Game{}, false
	}
	return g.Clone(), true
}

// Games returns copies of the games on the board, in board order.
func (in *Ingester) Games() []Game {
	in.mu.Lock()
	defer in.mu.Unlock()
	gs := make([]Game, 0, len(in.order))
	for _, id := range in.order {
		gs = append(gs, in.games[id].Clone())
	}
	return gs
}

func (in *Ingester) publishIndexLocked() error {
	idx := Index{Games: make([]IndexEntry, 0, len(in.order))}
	for _, id := range in.order {
		g := in.games[id]
		idx.Games = append(idx.Games, IndexEntry{ID: id, Home: g.Home.Name, Away: g.Away.Name})
	}
	b := mustJSON(idx)
	if _, err := in.hub.PublishState(IndexTopic, b, b); err != nil {
		return fmt.Errorf("publish the index: %w", err)
	}
	return nil
}

// mustJSON encodes v, whose types cannot fail to encode.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("scoreboard: " + err.Error())
	}
	return b
}
