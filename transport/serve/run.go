package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/fanout-go/fanout/transport/internal/conns"
)

// The timeouts NewServer sets; see there.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = time.Minute
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 128 << 10
)

// NewServer returns an http.Server for h with the limits an internet-facing
// server of the set needs; net/http's zero values set none:
//
//   - ReadHeaderTimeout 10s: a client must send its request line and
//     headers within it, so that half-sent requests (slowloris) cannot hold
//     connections. The handlers cannot bound this: they run only once the
//     headers are in.
//   - ReadTimeout 1 minute: bounds the reading of a whole request, body
//     included, for the application's other handlers (the transports read
//     no body). It does not limit how long a handler holds a request:
//     net/http lifts the deadline once the body is read, hijacking
//     (WebSocket, SSE over HTTP/1.1) clears it, and over HTTP/2 it applies
//     to request bodies only. So held long-polls and streams outlive it.
//   - IdleTimeout 2 minutes: a keep-alive connection between requests.
//   - MaxHeaderBytes 128 KiB (net/http's default is 1 MiB): the memory a
//     request line and headers may take, with room for the longest poll
//     or SSE query the defaults allow (100 topics of 200 bytes, escaped;
//     about 64 KiB). Raise it with the transports' MaxTopics.
//
// ConnContext is transport.ConnContext: the long-poll handler reaches its
// connections through it, caps their send buffers and cuts a stuck one
// with a reset, as the WebSocket and SSE handlers do with theirs. Chain it
// if you set a ConnContext of your own.
//
// WriteTimeout stays zero, deliberately: net/http sets it once per request,
// from its start, not per write. Over HTTP/1.1 a long-poll held longer
// could no longer write its answer, and over HTTP/2 it resets an SSE
// stream when it passes, however healthy the stream. The transports put
// their own deadline on each write instead.
//
// Change any field before serving; with TLS set TLSConfig too.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnContext:       conns.WithConn, // transport.ConnContext: the long-poll handler bounds and cuts its connections
	}
}

// RunOptions configures Run. The zero value gives the defaults.
type RunOptions struct {
	// ShutdownTimeout bounds the drain once ctx is done: the set's
	// connections are drained across it, and those left are then cut.
	// Keep it below the time the process manager waits before it kills
	// the process (Kubernetes: terminationGracePeriodSeconds, 30s by
	// default, minus DrainDelay). Zero means 10s.
	ShutdownTimeout time.Duration

	// DrainDelay is how long Run keeps serving, with the set's readiness
	// handler answering 503, before it starts the drain: time for a load
	// balancer's health checks to take the node out, so that the clients
	// told to reconnect are not sent back to it. Zero means no delay (the
	// listener closes at once, which a balancer also notices).
	DrainDelay time.Duration

	// Work, if set, runs beside the server, in its own goroutine, for as
	// long as it serves: the application's feed or ingest loop. Its
	// context ends after the drain, so that the clients still connected
	// get updates until they leave; Run then ignores a returned
	// context.Canceled. When Work returns first, Run drains and returns
	// Work's error: Work should return only when its context is done, or
	// when it fails. Nil means none.
	Work func(ctx context.Context) error

	// Log receives a warning when the drain had to cut connections at
	// ShutdownTimeout (clients too slow to leave; they reconnect and
	// resume), which is no reason to fail. Nil means slog.Default().
	Log *slog.Logger
}

// The defaults of RunOptions.
const defaultShutdownTimeout = 10 * time.Second

// after is time.After; tests replace it to end DrainDelay when they choose.
var after = time.After

// Run serves srv on ln until ctx is done, serving fails or opts.Work
// returns, then drains: it marks set not ready, waits opts.DrainDelay
// (when ctx ended it), runs srv.Shutdown and set.Shutdown at the same time
// across opts.ShutdownTimeout (each needs the other: the http.Server does
// not end the set's hijacked connections, and it waits for the held
// long-polls the set answers), closes srv and set, and last stops
// opts.Work. srv's Handler should serve set (Set.Mount) and its readiness
// handler (Set.Ready); NewServer gives srv the timeouts it needs.
//
// Run returns nil after a drain that ctx started; else what stopped it:
// the error of srv.Serve, or opts.Work's result, joined with opts.Work's
// error if it failed later. It takes ln over and closes it; it returns
// only when srv and set are closed and opts.Work has returned.
func Run(ctx context.Context, ln net.Listener, srv *http.Server, set *Set, opts RunOptions) error {
	opts = opts.withDefaults()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }() // waited for below
	var worked chan error                   // nil without Work: never ready
	wctx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	if opts.Work != nil {
		worked = make(chan error, 1)
		go func() { worked <- opts.Work(wctx) }() // waited for below
	}

	var stopped error // what ended the serving, if not ctx
	select {
	case <-ctx.Done():
		set.markDraining()
		if opts.DrainDelay > 0 {
			<-after(opts.DrainDelay)
		}
	case err := <-served:
		served, stopped = nil, fmt.Errorf("serve: %w", err)
	case err := <-worked:
		worked, stopped = nil, err
		if stopped == nil {
			stopped = errWorkEnded
		}
	}
	if err := drain(srv, set, opts.ShutdownTimeout); err != nil {
		opts.Log.Warn("serve: connections cut at the end of the drain; their clients reconnect and resume", "err", err)
	}
	stopWork()
	err := errors.Join(stopped, serveErr(served))
	if worked != nil {
		if werr := <-worked; !errors.Is(werr, context.Canceled) {
			err = errors.Join(err, werr)
		}
	}
	return err
}

// errWorkEnded is what Run returns when RunOptions.Work returned nil
// before Run's context was done.
var errWorkEnded = errors.New("serve: RunOptions.Work returned before the context was done; return only when its context is done, or return the error that stopped it")

// withDefaults returns o with its zero fields set to their defaults.
func (o RunOptions) withDefaults() RunOptions {
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = defaultShutdownTimeout
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// serveErr waits for srv.Serve's error on served, if served is not nil,
// and returns it unless it says the server was shut down.
func serveErr(served chan error) error {
	if served == nil {
		return nil
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// drain shuts srv and set down at once within timeout, then closes both,
// and returns what their Shutdowns and Closes reported, joined.
func drain(srv *http.Server, set *Set, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var (
		wg     sync.WaitGroup
		srvErr error
	)
	wg.Go(func() { srvErr = srv.Shutdown(ctx) })
	setErr := set.Shutdown(ctx)
	wg.Wait()
	if srvErr != nil {
		// The requests still open at the deadline; Close's own error
		// would only repeat that the listeners are closed.
		_ = srv.Close()
	}
	return errors.Join(srvErr, setErr, set.Close())
}
