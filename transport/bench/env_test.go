package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Pacing: a publisher stays within paceDepth blocks of paceBlock messages
// of the slowest client, 256 messages in flight at most, half the
// transports' default queue (512) and the baselines' channels.
const (
	paceBlock = 64
	paceDepth = 4
)

// waitTimeout bounds each wait of a run for the clients.
const waitTimeout = 30 * time.Second

// env is a server with n loopback clients subscribed to the benchmark
// topic, each reading in its own goroutine.
type env struct {
	srv     *server
	clients []client
	readers sync.WaitGroup
	seq     uint64 // the last seq published

	errOnce sync.Once
	errc    chan error // the first broken guarantee
}

// newEnv starts impl's server for transport and connects n clients.
func newEnv(tb testing.TB, impl, transport string, n int) *env {
	tb.Helper()
	e := &env{srv: newServer(impl, transport), clients: make([]client, n), errc: make(chan error, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout+time.Duration(n)*time.Millisecond)
	defer cancel()
	if err := e.connect(ctx, e.srv.url(transport), transport, n); err != nil {
		e.close()
		tb.Fatal(err)
	}
	return e
}

func (e *env) fail(err error) {
	e.errOnce.Do(func() { e.errc <- err })
}

// connect dials the clients, 8 at a time, and waits until every one is
// subscribed, or ctx ends.
func (e *env) connect(ctx context.Context, url, transport string, n int) error {
	jobs := make(chan int)
	errs := make(chan error, n)
	var dialers sync.WaitGroup
	for range 8 {
		dialers.Go(func() {
			for i := range jobs {
				r := newReceiver(i, e.fail)
				var c client
				var err error
				if transport == transportWS {
					c, err = dialWS(ctx, url, r, &e.readers)
				} else {
					c, err = dialSSE(ctx, url, r, &e.readers)
				}
				if err != nil {
					errs <- fmt.Errorf("client %d: %w", i, err)
					continue
				}
				e.clients[i] = c
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	dialers.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	for _, c := range e.clients {
		select {
		case <-c.recv().ready:
		case err := <-e.errc:
			return err
		case <-ctx.Done():
			return fmt.Errorf("client %d not subscribed: %w", c.recv().id, ctx.Err())
		}
	}
	return nil
}

// run publishes count messages as fast as the pacing allows (paceBlock,
// paceDepth) and waits until every client has received them all. It
// returns the time taken and the merged latencies.
func (e *env) run(count int) (time.Duration, *hist, error) {
	return e.runPaced(count, paceBlock, paceDepth)
}

// runPaced is run with blocks of size messages, depth blocks ahead of the
// slowest client.
func (e *env) runPaced(count, size, depth int) (time.Duration, *hist, error) {
	p := newPacer(e.seq, uint64(count), uint64(size), len(e.clients))
	for _, c := range e.clients {
		r := c.recv()
		r.lat.reset()
		r.pacer.Store(p) // the client is quiet: it has received everything
	}
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	wait := func(j int) error {
		timer.Reset(waitTimeout)
		select {
		case <-p.blocks[j].done:
			return nil
		case err := <-e.errc:
			return err
		case <-timer.C:
			return fmt.Errorf("%d of %d clients have not received messages %d..%d within %v",
				p.missing(j), len(e.clients), p.start+uint64(j)*p.size+1, p.end(uint64(j)), waitTimeout)
		}
	}
	start := time.Now()
	for i := range count {
		seq := e.seq + 1
		if i%size == 0 && i/size >= depth {
			if err := wait(i/size - depth); err != nil {
				return 0, nil, err
			}
		}
		if err := e.srv.publish(seq, nanotime()); err != nil {
			return 0, nil, err
		}
		e.seq = seq
	}
	if count > 0 {
		if err := wait(len(p.blocks) - 1); err != nil {
			return 0, nil, err
		}
	}
	elapsed := time.Since(start)
	lat := new(hist)
	for _, c := range e.clients {
		lat.merge(&c.recv().lat)
	}
	return elapsed, lat, nil
}

// close closes the clients, waits for their goroutines, then closes the
// server.
func (e *env) close() {
	for _, c := range e.clients {
		if c != nil {
			c.close()
		}
	}
	e.readers.Wait()
	e.srv.close()
}
