package game

import (
	"context"
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
func Topic(id string) string { return topicPrefix + id }

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
// each event against the game's state, and publishes the Update together
// with the new full state (fanout.Hub.PublishState), so that clients
// joining later start from the right score. Its state never runs ahead of
// what was stored: an event's new state is built aside, published, and
// becomes the ingester's only once the publish succeeded.
//
// While the hub's broker is down, each call waits, retrying with backoff,
// until the broker stores its publication or the call's context ends; it
// logs the outage once, when it starts, and once more when it is over.
// When the broker comes back having lost its data (a restart without
// persistence: the topics have new epochs), the ingester publishes the
// index and every game's state again, so that the new epochs start from
// the right scores. It is safe for concurrent use.
type Ingester struct {
	hub *fanout.Hub
	log *slog.Logger

	// pub is held by each call that publishes, through its retries: it
	// keeps each topic's messages in the order of the state changes, and
	// makes the calls that change games and order one at a time.
	pub sync.Mutex
	// mu guards games, order and epochs, the state as stored. It is held
	// only to read or commit it, never while publishing, so that Game and
	// Games answer during an outage.
	mu     sync.Mutex
	games  map[string]*Game
	order  []string
	epochs map[string]string // topic -> the epoch of its last publication
}

// NewIngester returns an ingester publishing on hub. It logs rejected
// events and broker outages to log (slog.Default() when nil).
func NewIngester(hub *fanout.Hub, log *slog.Logger) *Ingester {
	if log == nil {
		log = slog.Default()
	}
	return &Ingester{hub: hub, log: log, games: make(map[string]*Game), epochs: make(map[string]string)}
}

// AddGame puts g on the board, or replaces the game with its id, and
// publishes its state and the new index. While the broker is down it
// retries until ctx ends (see Ingester).
func (in *Ingester) AddGame(ctx context.Context, g Game) error {
	if err := fanout.ValidTopic(Topic(g.ID), 0); err != nil {
		return fmt.Errorf("add game %q: %w", g.ID, err)
	}
	g = g.Clone()
	in.pub.Lock()
	defer in.pub.Unlock()
	in.mu.Lock()
	_, replace := in.games[g.ID]
	full := !replace && len(in.games) >= MaxGames
	in.mu.Unlock()
	if full {
		return fmt.Errorf("add game %q: the board holds %d games already (MaxGames); remove one first", g.ID, MaxGames)
	}
	state := mustJSON(g)
	if err := in.publish(ctx, Topic(g.ID), state, state); err != nil {
		return fmt.Errorf("add game %q: %w", g.ID, err)
	}
	in.mu.Lock()
	if !replace {
		in.order = append(in.order, g.ID)
	}
	in.games[g.ID] = &g
	in.mu.Unlock()
	return in.publishIndex(ctx)
}

// RemoveGame takes the game id off the board and publishes the new index.
// The game's topic keeps its last state until the hub evicts it.
func (in *Ingester) RemoveGame(ctx context.Context, id string) error {
	in.pub.Lock()
	defer in.pub.Unlock()
	in.mu.Lock()
	_, ok := in.games[id]
	if ok {
		delete(in.games, id)
		delete(in.epochs, Topic(id))
		in.order = slices.DeleteFunc(in.order, func(s string) bool { return s == id })
	}
	in.mu.Unlock()
	if !ok {
		return fmt.Errorf("remove game %q: %w", id, ErrUnknownGame)
	}
	return in.publishIndex(ctx)
}

// Ingest validates ev, builds its game's next state and publishes the
// update with that state, which becomes the game's once stored. A rejected
// event is logged with its reason and returned as a *RejectedError;
// nothing is published then. While the broker is down it retries until
// ctx ends (see Ingester); the game is then unchanged.
func (in *Ingester) Ingest(ctx context.Context, ev Event) error {
	in.pub.Lock()
	defer in.pub.Unlock()
	in.mu.Lock()
	cur, ok := in.games[ev.Game]
	var next Game
	if ok {
		next = cur.Clone()
	}
	in.mu.Unlock()
	if !ok {
		in.log.Warn("ingest: event rejected", "game", ev.Game, "id", ev.ID, "kind", ev.Kind, "reason", "unknown game")
		return fmt.Errorf("ingest event %d: %w", ev.ID, ErrUnknownGame)
	}
	up, err := next.Apply(ev)
	if err != nil {
		var rej *RejectedError
		if errors.As(err, &rej) {
			in.log.Warn("ingest: event rejected", "game", ev.Game, "id", ev.ID, "kind", ev.Kind, "minute", ev.Minute, "reason", rej.Reason)
		}
		return err
	}
	if err := in.publish(ctx, Topic(ev.Game), mustJSON(up), mustJSON(next)); err != nil {
		return fmt.Errorf("ingest event %d of game %q: %w", ev.ID, ev.Game, err)
	}
	in.mu.Lock()
	in.games[ev.Game] = &next
	in.mu.Unlock()
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

// publishIndex publishes the board's index; pub is held.
func (in *Ingester) publishIndex(ctx context.Context) error {
	in.mu.Lock()
	idx := in.indexLocked()
	in.mu.Unlock()
	b := mustJSON(idx)
	if err := in.publish(ctx, IndexTopic, b, b); err != nil {
		return fmt.Errorf("publish the index: %w", err)
	}
	return nil
}

func (in *Ingester) indexLocked() Index {
	idx := Index{Games: make([]IndexEntry, 0, len(in.order))}
	for _, id := range in.order {
		g := in.games[id]
		idx.Games = append(idx.Games, IndexEntry{ID: id, Home: g.Home.Name, Away: g.Away.Name})
	}
	return idx
}

// publish stores update and state on topic, retrying while the broker
// is down; pub is held. When the broker answers in a new epoch of a topic
// published before, it lost its data: the other topics are published
// again (resync).
func (in *Ingester) publish(ctx context.Context, topic string, update, state []byte) error {
	lost, err := in.store(ctx, topic, update, state)
	if err == nil && lost {
		err = in.resync(ctx, topic)
	}
	return err
}

// store publishes update and state on topic, retrying while the broker is
// down, and logs the outage once, when it starts, and when it ends. It
// reports whether the broker answered in a new epoch of the topic.
func (in *Ingester) store(ctx context.Context, topic string, update, state []byte) (lost bool, err error) {
	failed := 0
	r := fanout.Retry{OnRetry: func(err error, n int) {
		if failed = n; n == 1 {
			in.log.Warn("ingest: the broker is down; the feed waits, retrying until it is back", "topic", topic, "err", err)
		}
	}}
	pos, err := in.hub.PublishStateRetry(ctx, topic, update, state, r)
	if err != nil {
		return false, err
	}
	if failed > 0 {
		in.log.Info("ingest: the broker is back; the feed goes on", "topic", topic, "failed_attempts", failed)
	}
	in.mu.Lock()
	last, known := in.epochs[topic]
	in.epochs[topic] = pos.Epoch
	in.mu.Unlock()
	return known && last != pos.Epoch, nil
}

// resync publishes the index and every game's state again, but for the
// topic just published: the broker lost its data, and those topics would
// otherwise start their new epochs without state. pub is held.
func (in *Ingester) resync(ctx context.Context, done string) error {
	in.log.Warn("ingest: the broker lost its data (a new epoch); publishing every game's state again")
	in.mu.Lock()
	games := make([]Game, 0, len(in.order))
	for _, id := range in.order {
		games = append(games, in.games[id].Clone())
	}
	idx := mustJSON(in.indexLocked())
	in.mu.Unlock()
	for _, g := range games {
		if Topic(g.ID) == done {
			continue
		}
		if _, err := in.store(ctx, Topic(g.ID), mustJSON(stateUpdate(g)), mustJSON(g)); err != nil {
			return fmt.Errorf("publish game %q again: %w", g.ID, err)
		}
	}
	if done != IndexTopic {
		if _, err := in.store(ctx, IndexTopic, idx, idx); err != nil {
			return fmt.Errorf("publish the index again: %w", err)
		}
	}
	return nil
}

// stateUpdate is the Update that publishes g's state again: the clock at
// its minute, with its tallies, so that a client applying it as it applies
// any update shows the right numbers.
func stateUpdate(g Game) Update {
	return g.update(Event{Game: g.ID, ID: g.lastID, Kind: Clock, Minute: g.Minute})
}

// mustJSON encodes v, whose types cannot fail to encode.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("scoreboard: " + err.Error())
	}
	return b
}
