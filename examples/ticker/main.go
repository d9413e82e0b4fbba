// Command ticker streams the prices of many instruments, hundreds of
// changes per second, to a page with a live table and a sparkline per row.
//
//	go run ./examples/ticker -addr localhost:8081 -instruments 200 -rate 500
//
// Every instrument is a topic whose every message is the instrument's full
// quote (TopicConfig RetainLast and Conflate), and every connection
// conflates (OverflowConflate): a client that falls behind gets the newest
// quote of each instrument instead of a backlog, and the page draws at
// most once per animation frame, so it stays smooth on a slow machine.
// The reusable parts are in the package market.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/examples/ticker/market"
	"github.com/fanout-go/fanout/transport/serve"
)

// config holds the command line.
type config struct {
	addr        string
	instruments int
	rate        float64
	seed        uint64
}

// maxInstruments bounds -instruments (the page subscribes to each).
const maxInstruments = market.MaxTopicsPerClient - 1

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "localhost:8081", "the address to listen on")
	flag.IntVar(&cfg.instruments, "instruments", 200, fmt.Sprintf("instruments on the board (at most %d)", maxInstruments))
	flag.Float64Var(&cfg.rate, "rate", 500, "price changes per second, over all instruments")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, cfg, slog.Default(), func(url string) {
		fmt.Printf("ticker: open %s (Ctrl-C stops)\n", url)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ticker:", err)
		os.Exit(1)
	}
}

const shutdownTimeout = 2 * time.Second

// run serves the ticker on cfg.addr until ctx is done, then drains the
// connections and stops the market. It calls ready with the page's URL
// once it listens.
func run(ctx context.Context, cfg config, log *slog.Logger, ready func(url string)) error {
	if cfg.instruments < 1 || cfg.instruments > maxInstruments {
		return fmt.Errorf("-instruments must be from 1 to %d, not %d", maxInstruments, cfg.instruments)
	}
	if cfg.rate <= 0 {
		return fmt.Errorf("-rate must be positive, not %g", cfg.rate)
	}
	if cfg.seed == 0 {
		cfg.seed = rand.Uint64()
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	var mkt *market.Market // set before the server starts: the hub asks it which topics exist
	hub := fanout.NewHub(fanout.Options{TopicConfig: market.TopicConfig, TopicExists: func(topic string) bool { return mkt.Exists(topic) }})
	defer hub.Close()
	mkt = market.New(hub, cfg.instruments, cfg.seed)
	srv := market.NewServer(hub)

	ready(pageURL(cfg.addr, ln.Addr()))
	return serve.Run(ctx, ln, serve.NewServer(srv), srv.Set(), serve.RunOptions{
		ShutdownTimeout: shutdownTimeout,
		Work:            func(ctx context.Context) error { return mkt.Run(ctx, cfg.rate) },
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
