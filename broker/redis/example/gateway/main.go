// Command gateway is one node of a multi-node scoreboard: a fanout.Hub
// whose Options.Broker is a Redis broker, serving the scoreboard page,
// /fanout.js, /ws, /events and /poll, and /readyz for the load balancer in
// front (200 while it serves, 503 from the moment SIGTERM starts the
// drain). With -feed it also runs the simulated feed, publishing through
// the hub and so through Redis; every gateway on the same Redis shows the
// same scores with the same (epoch, seq).
//
//	redis-server --port 6379 --save '' --appendonly no &
//	go run ./example/gateway -addr localhost:8080 -feed
//	go run ./example/gateway -addr localhost:8081
//
// (from broker/redis), then open both URLs it prints.
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
	"github.com/fanout-go/fanout/broker/redis"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
	"github.com/fanout-go/fanout/transport/serve"
)

// config holds the command line.
type config struct {
	addr  string  // the listen address
	redis string  // the Redis server, host:port
	feed  bool    // run the simulated feed on this gateway
	rate  float64 // feed events per second
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "localhost:8080", "the address to listen on")
	flag.StringVar(&cfg.redis, "redis", "127.0.0.1:6379", "the Redis server, host:port")
	flag.BoolVar(&cfg.feed, "feed", false, "run the simulated feed on this gateway (run it on one only)")
	flag.Float64Var(&cfg.rate, "rate", 5, "feed events per second, with -feed")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, cfg, slog.Default(), func(url string) {
		fmt.Printf("gateway: open %s (Ctrl-C stops)\n", url)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

// shutdownTimeout bounds the drain of the connections at exit.
const shutdownTimeout = 2 * time.Second

// run serves the scoreboard on cfg.addr through Redis until ctx is done,
// then drains the connections and closes the hub, which closes the broker.
// It calls ready with the page's URL once it listens.
func run(ctx context.Context, cfg config, log *slog.Logger, ready func(url string)) error {
	br, err := redis.New(redis.Options{Addr: cfg.redis})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		_ = br.Close()
		return err
	}
	// The games are published by whichever gateway runs the feed: this one
	// cannot know which exist, but refuses names no feed can publish.
	hub := fanout.NewHub(fanout.Options{Broker: br, TopicConfig: game.TopicConfig, TopicExists: game.WellFormed})
	defer hub.Close()
	srv := game.NewServer(hub, game.ServerOptions{})

	opts := serve.RunOptions{ShutdownTimeout: shutdownTimeout, Log: log}
	if cfg.feed {
		opts.Work = game.NewFeed(game.NewIngester(hub, log), game.FeedOptions{Rate: cfg.rate}).Run
	}
	ready(pageURL(cfg.addr, ln.Addr()))
	return serve.Run(ctx, ln, serve.NewServer(srv), srv.Set(), opts)
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
