package e2e

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

// board serves the scoreboard example in-process, with a feed the test
// controls, and can drop every connection, restart with a new hub, or
// refuse WebSocket as a proxy that does not pass it would.
type board struct {
	t  *testing.T
	ts *httptest.Server

	refuseWS atomic.Bool // /ws answers 403

	mu  sync.Mutex // guards hub, in, srv and ids
	hub *fanout.Hub
	in  *game.Ingester
	srv *game.Server
	ids map[string]int64 // the last event id per game
}

var (
	northbridge = game.Team{Name: "Northbridge", Short: "NBR", Color: "#e63946"}
	eastport    = game.Team{Name: "Eastport Rovers", Short: "EPR", Color: "#1d70b8"}
	kelham      = game.Team{Name: "Kelham Athletic", Short: "KEL", Color: "#2a9d8f"}
	ravensmoor  = game.Team{Name: "Ravensmoor", Short: "RAV", Color: "#6a4c93"}
)

// newBoard serves two games: g1, Northbridge 1-0 Eastport Rovers after 12
// minutes, and g2, Kelham Athletic v Ravensmoor, not started. The test's
// cleanup closes everything.
func newBoard(t *testing.T) *board {
	t.Helper()
	b := &board{t: t, hub: fanout.NewHub(fanout.Options{}), ids: map[string]int64{}}
	b.in = game.NewIngester(b.hub, slog.New(slog.DiscardHandler))
	b.srv = game.NewServer(b.hub, game.ServerOptions{})
	b.ts = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.srv.Close()
		b.ts.Close()
		b.hub.Close()
	})
	for _, g := range []game.Game{game.NewGame("g1", northbridge, eastport), game.NewGame("g2", kelham, ravensmoor)} {
		if err := b.in.AddGame(b.t.Context(), g); err != nil {
			t.Fatal(err)
		}
	}
	b.event("g1", game.KickOff, 0, "", "")
	b.event("g1", game.Goal, 12, game.Home, "Okafor")
	return b
}

func (b *board) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ws" && b.refuseWS.Load() {
		http.Error(w, "no WebSocket through this proxy", http.StatusForbidden)
		return
	}
	b.mu.Lock()
	srv := b.srv
	b.mu.Unlock()
	srv.ServeHTTP(w, r)
}

// event feeds the next event of a game; it must be accepted.
func (b *board) event(id string, kind game.Kind, minute int, side game.Side, player string) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ids[id]++
	ev := game.Event{Game: id, ID: b.ids[id], Kind: kind, Minute: minute, Side: side, Player: player}
	if err := b.in.Ingest(b.t.Context(), ev); err != nil {
		b.t.Fatalf("ingest %+v: %v", ev, err)
	}
}

// replace takes the game old off the board and puts g in its place, as
// the feed does when a game is over.
func (b *board) replace(old string, g game.Game) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.in.RemoveGame(b.t.Context(), old); err != nil {
		b.t.Fatal(err)
	}
	if err := b.in.AddGame(b.t.Context(), g); err != nil {
		b.t.Fatal(err)
	}
}

// dropAll closes every WebSocket and SSE connection, as a gateway that
// dies would; the same hub keeps serving through a new server, so clients
// can resume.
func (b *board) dropAll() {
	b.mu.Lock()
	old := b.srv
	b.srv = game.NewServer(b.hub, game.ServerOptions{})
	b.mu.Unlock()
	old.Close()
}

// restart replaces the hub as a restarted process would: a new hub, hence
// new epochs, where the ingest step republishes the games' state.
func (b *board) restart() {
	b.t.Helper()
	b.mu.Lock()
	oldHub, oldSrv := b.hub, b.srv
	hub := fanout.NewHub(fanout.Options{})
	in := game.NewIngester(hub, slog.New(slog.DiscardHandler))
	for _, g := range b.in.Games() {
		if err := in.AddGame(b.t.Context(), g); err != nil {
			b.t.Fatal(err)
		}
	}
	b.hub, b.in, b.srv = hub, in, game.NewServer(hub, game.ServerOptions{})
	b.mu.Unlock()
	oldSrv.Close()
	oldHub.Close()
}
