package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Lines a client child writes to its parent.
const (
	quietReady  = idleReady      // its connections are subscribed (waitReady)
	quietResult = "quiet-result" // and the latency histogram (hist.MarshalText)
)

// startQuietClients starts a client child with n connections to url.
func startQuietClients(ctx context.Context, url, transport string, n int) (*child, error) {
	return startChild(ctx, "TestQuietClients",
		envQuietURL+"="+url, envQuietTransport+"="+transport, envQuietConns+"="+strconv.Itoa(n),
		envQuietBase+"="+strconv.FormatInt(clockBase.UnixNano(), 10))
}

// TestQuietClients is the client side of BenchmarkQuietConnections: with
// the FANOUT_BENCH_QUIET_* variables set it opens the connections, each
// with a reading goroutine that checks order and records latency, writes
// the ready line, and, once the parent writes the last sequence number,
// waits until every client has it and writes the result line: every
// latency recorded, as a histogram. It closes the clients when its stdin
// closes. Without the variables it is skipped.
func TestQuietClients(t *testing.T) {
	url := os.Getenv(envQuietURL)
	if url == "" {
		t.Skip("the client side of BenchmarkQuietConnections; it runs as a child process")
	}
	n, err := strconv.Atoi(os.Getenv(envQuietConns))
	if err != nil {
		t.Fatal(err)
	}
	setQuietClock(t)
	needFiles(t, n)
	e := &env{clients: make([]client, n), errc: make(chan error, 1)}
	defer func() {
		for _, c := range e.clients {
			if c != nil {
				c.close()
			}
		}
		e.readers.Wait()
	}()
	// The bound of a whole measurement, not one per connection: the client
	// processes connect at the same time, sharing the machine's cores.
	ctx, cancel := context.WithTimeout(context.Background(), idleTimeout)
	defer cancel()
	if err := e.connect(ctx, url, os.Getenv(envQuietTransport), n); err != nil {
		t.Fatal(err)
	}
	fmt.Println(quietReady)

	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() {
		return // the parent gave up
	}
	last, err := strconv.ParseUint(strings.TrimSpace(in.Text()), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := awaitQuiet(e, last); err != nil {
		t.Fatal(err)
	}
	lat := new(hist)
	for _, c := range e.clients {
		lat.merge(&c.recv().lat)
	}
	text, err := lat.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%s %s\n", quietResult, text)
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
}

// setQuietClock sets clockBase to the parent's, from FANOUT_BENCH_QUIET_BASE,
// on the wall clock: the publish times a server child writes and the
// receive times a client child reads are then on the same clock.
func setQuietClock(t *testing.T) {
	base, err := strconv.ParseInt(os.Getenv(envQuietBase), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	clockBase = time.Unix(0, base) // no monotonic reading: time.Since uses the wall clock
}

// awaitQuiet waits until every client has received update last, polling
// (the clients' reading goroutines signal nothing), for at most
// waitTimeout.
func awaitQuiet(e *env, last uint64) error {
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for _, c := range e.clients {
		for c.recv().seen.Load() < last {
			select {
			case err := <-e.errc:
				return err
			case <-tick.C:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("client %d has update %d of %d after %v", c.recv().id, c.recv().seen.Load(), last, waitTimeout)
			}
		}
	}
	return nil
}
