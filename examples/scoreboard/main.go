// Command scoreboard is a live football scoreboard pushed by fanout: a
// simulated feed of game events goes through an ingest step that validates
// them and publishes each game's update and state on the hub, and a page
// shows every game's score live, over WebSocket with Server-Sent Events as
// the fallback.
//
//	go run ./examples/scoreboard -addr localhost:8080 -rate 5 -games 6
//
// then open the URL it prints. The reusable parts are in the package game.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
	"github.com/fanout-go/fanout/transport/serve"
)

// config holds the command line.
type config struct {
	addr  string  // the listen address
	rate  float64 // feed events per second
	games int     // games on the board
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "localhost:8080", "the address to listen on")
	flag.Float64Var(&cfg.rate, "rate", 5, fmt.Sprintf("feed events per second, over all games (at most %g)", maxRate))
	flag.IntVar(&cfg.games, "games", 6, fmt.Sprintf("games on the board at once (at most %d)", game.MaxGames))
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, cfg, slog.Default(), func(url string) {
		fmt.Printf("scoreboard: open %s (Ctrl-C stops)\n", url)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "scoreboard:", err)
		os.Exit(1)
	}
}

// shutdownTimeout bounds the drain of the connections at exit.
const shutdownTimeout = 2 * time.Second

// maxRate bounds -rate: the feed sends one event per tick of a timer.
const maxRate = 1e6

// run serves the scoreboard on cfg.addr until ctx is done, then drains the
// connections and stops the feed. It calls ready with the page's URL once
// it listens.
func run(ctx context.Context, cfg config, log *slog.Logger, ready func(url string)) error {
	if !(cfg.rate > 0 && cfg.rate <= maxRate) {
		return fmt.Errorf("-rate must be above 0 and at most %g, not %g", maxRate, cfg.rate)
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	var in *game.Ingester // set before the server starts: the hub asks it which games exist
	hub := fanout.NewHub(fanout.Options{TopicConfig: game.TopicConfig, TopicExists: func(topic string) bool { return in.Exists(topic) }})
	defer hub.Close()
	in = game.NewIngester(hub, log)
	feed := game.NewFeed(in, game.FeedOptions{Games: cfg.games, Rate: cfg.rate})
	srv := game.NewServer(hub, game.ServerOptions{})

	ready(pageURL(cfg.addr, ln.Addr()))
	return serve.Run(ctx, ln, serve.NewServer(srv), srv.Set(), serve.RunOptions{
		ShutdownTimeout: shutdownTimeout,
		Work:            feed.Run, // while it serves
		Log:             log,
	})
}

// pageURL returns the URL to open: the host asked for (or localhost) and
// the port listened on.
func pageURL(addr string, bound net.Addr) string {
	host, _, _ := net.SplitHostPort(addr)
	_, port, _ := net.SplitHostPort(bound.String())
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
