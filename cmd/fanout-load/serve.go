package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/poll"
	fanoutserve "github.com/fanout-go/fanout/transport/serve"
	"github.com/fanout-go/fanout/transport/sse"
	"github.com/fanout-go/fanout/transport/ws"
)

// serveConfig is the command line of fanout-load serve.
type serveConfig struct {
	Addr     string        // the listen address
	Rate     float64       // messages per second per topic
	Topics   int           // topics published
	Pattern  string        // topic names, %d from 1 to Topics
	Size     int           // payload bytes
	MaxConns int           // per transport
	Duration time.Duration // stop after; 0: until interrupted
}

// parseServe parses the arguments of fanout-load serve.
func parseServe(args []string, fs *flag.FlagSet) (serveConfig, error) {
	var cfg serveConfig
	fs.StringVar(&cfg.Addr, "addr", "localhost:8080", "the address to listen on")
	fs.Float64Var(&cfg.Rate, "rate", 4, "messages per second on each topic")
	fs.IntVar(&cfg.Topics, "topics", 1, "topics to publish on")
	fs.StringVar(&cfg.Pattern, "topic-pattern", "load:%d", "topic names, %d running from 1 to -topics")
	fs.IntVar(&cfg.Size, "size", 128, "payload size in bytes (at least 48: the timestamp, a counter and padding)")
	fs.IntVar(&cfg.MaxConns, "max-conns", 1_000_000, "connections each transport accepts")
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop after this long (0: at Ctrl-C)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return cfg, cfg.validate()
}

func (c *serveConfig) validate() error {
	var errs []error
	if !(c.Rate > 0 && c.Rate <= 1e6) {
		errs = append(errs, errors.New("-rate: above 0, at most 1e6"))
	}
	if c.Topics < 1 {
		errs = append(errs, errors.New("-topics: at least 1"))
	}
	if c.Size < minPayload || c.Size > fanout.DefaultMaxMessageSize {
		errs = append(errs, fmt.Errorf("-size: %d to %d", minPayload, fanout.DefaultMaxMessageSize))
	}
	if c.MaxConns < 1 {
		errs = append(errs, errors.New("-max-conns: at least 1"))
	}
	return errors.Join(errs...)
}

// serveStats is what a server did, for its closing line.
type serveStats struct {
	Published, Delivered, SlowConsumers uint64
	CPU                                 time.Duration // user and system time of the process
	MaxRSS                              int64         // bytes
}

// serve runs a fanout server on cfg.Addr, the three transports at /ws,
// /events and /poll, and a publisher at cfg.Rate on cfg.Topics topics,
// until ctx is done or cfg.Duration has passed. It calls ready with the
// server's base URL once it listens, and writes a closing line to out.
func serve(ctx context.Context, cfg serveConfig, out io.Writer, ready func(url string)) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	hub := fanout.NewHub(fanout.Options{})
	set := fanoutserve.New(hub, fanoutserve.Options{
		WS:   ws.Options{MaxConnections: cfg.MaxConns},
		SSE:  sse.Options{MaxConnections: cfg.MaxConns},
		Poll: poll.Options{MaxHeld: cfg.MaxConns},
	})
	mux := http.NewServeMux()
	set.Mount(mux, "") // /ws, /events, /poll (and /fanout.js)

	if cfg.Duration > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeout(ctx, cfg.Duration)
		defer stop()
	}
	ready("http://" + ln.Addr().String())
	// fanoutserve.Run drains the handlers and the server together (held polls
	// are answered at once rather than waited out) and stops the
	// publisher last. Clients too slow to finish the drain are cut off:
	// worth a line, not a failure.
	err = fanoutserve.Run(ctx, ln, fanoutserve.NewServer(mux), set, fanoutserve.RunOptions{
		ShutdownTimeout: 2 * time.Second,
		Work: func(ctx context.Context) error {
			publish(ctx, hub, cfg)
			return ctx.Err()
		},
		Log: slog.New(slog.NewTextHandler(out, nil)),
	})
	hs := hub.Stats()
	err = errors.Join(err, hub.Close())
	ss := serveStats{Published: hs.Published, Delivered: hs.Delivered, SlowConsumers: hs.SlowConsumers}
	ss.CPU, ss.MaxRSS = usage()
	writeServeStats(out, ss)
	return err
}

// writeServeStats writes the server's closing line.
func writeServeStats(w io.Writer, s serveStats) {
	perDelivery := "-"
	if s.Delivered > 0 && s.CPU > 0 {
		perDelivery = fmt.Sprintf("%.2fµs", float64(s.CPU)/float64(time.Microsecond)/float64(s.Delivered))
	}
	fmt.Fprintf(w, "fanout-load serve: published %d, delivered %d, slow consumers %d; CPU %.1fs (%s per delivery), max RSS %.0f MiB\n",
		s.Published, s.Delivered, s.SlowConsumers, s.CPU.Seconds(), perDelivery, float64(s.MaxRSS)/(1<<20))
}

// publishTick is the publisher's shortest interval; faster rates publish
// several messages per topic per tick.
const publishTick = time.Millisecond

// publish publishes on every topic at cfg.Rate until ctx is done, keeping
// to the rate over time: each tick publishes what is due.
func publish(ctx context.Context, hub *fanout.Hub, cfg serveConfig) {
	topics := patternTopics(cfg.Pattern, cfg.Topics)
	every := max(time.Duration(float64(time.Second)/cfg.Rate), publishTick)
	t := time.NewTicker(every)
	defer t.Stop()
	start := time.Now()
	var sent uint64
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			due := uint64(now.Sub(start).Seconds() * cfg.Rate)
			for ; sent < due; sent++ {
				for _, topic := range topics {
					// The hub keeps the payload: a new one each time. Errors
					// are the hub closing: ctx is done then too.
					_, _ = hub.Publish(topic, payload(make([]byte, 0, cfg.Size), time.Now(), sent, cfg.Size))
				}
			}
		}
	}
}

// minPayload is the smallest payload: {"ts":<19 digits>,"n":<n>,"pad":""}.
const minPayload = 48

// payload appends a JSON payload of size bytes carrying the publish time
// in "ts" (Unix nanoseconds, first, so that readers find it fast), a
// counter n, and padding.
func payload(b []byte, ts time.Time, n uint64, size int) []byte {
	b = append(b, `{"ts":`...)
	b = strconv.AppendInt(b, ts.UnixNano(), 10)
	b = append(b, `,"n":`...)
	b = strconv.AppendUint(b, n, 10)
	b = append(b, `,"pad":"`...)
	for len(b) < size-2 {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}
