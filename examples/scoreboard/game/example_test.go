package game_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

// The ingest step publishes each accepted event with the game's new
// state: a subscriber joining at any moment gets the state, then the
// updates after it.
func ExampleIngester() {
	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()
	in := game.NewIngester(hub, slog.New(slog.DiscardHandler))
	home := game.Team{Name: "Northbridge", Short: "NBR"}
	away := game.Team{Name: "Eastport Rovers", Short: "EPR"}
	if err := in.AddGame(context.Background(), game.NewGame("g1", home, away)); err != nil {
		fmt.Println(err)
		return
	}
	_ = in.Ingest(context.Background(), game.Event{Game: "g1", ID: 1, Kind: game.KickOff})

	sub := hub.NewSubscriber(fanout.SubscriberOptions{})
	defer sub.Close()
	_ = sub.Subscribe(context.Background(), game.Topic("g1"))
	_ = in.Ingest(context.Background(), game.Event{Game: "g1", ID: 2, Kind: game.Goal, Minute: 9, Side: game.Away, Player: "Berg"})

	for range 2 {
		d, _ := sub.Next(context.Background())
		fmt.Printf("%s %d %s\n", d.Kind, d.Seq, d.Data[:40])
	}
	// Output:
	// snapshot 2 {"id":"g1","home":{"name":"Northbridge",
	// update 3 {"event":{"game":"g1","id":2,"kind":"goa
}

// An event that cannot happen is rejected with the reason, and the game
// is unchanged.
func ExampleGame_Apply() {
	g := game.NewGame("g1", game.Team{Name: "Northbridge"}, game.Team{Name: "Eastport Rovers"})
	_, err := g.Apply(game.Event{Game: "g1", ID: 1, Kind: game.Goal, Minute: 3, Side: game.Home, Player: "Okafor"})
	fmt.Println(err)
	fmt.Println(g.Phase, g.Home.Score)
	// Output:
	// scoreboard: event 1 (goal at 3') of game "g1" rejected: the ball is not in play: the game is not started
	// scheduled 0
}
