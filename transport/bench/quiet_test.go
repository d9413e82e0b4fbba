package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The quiet shape is what live pages mostly are: many connections on one
// topic, few small messages each. Its clients run in a child process (the
// test binary running TestQuietClients), so that the server's CPU time
// (getrusage of this process) and memory have nothing of theirs mixed in.
const (
	envQuietURL       = "FANOUT_BENCH_QUIET_URL"       // what the child dials
	envQuietTransport = "FANOUT_BENCH_QUIET_TRANSPORT" // ws or sse
	envQuietConns     = "FANOUT_BENCH_QUIET_CONNS"     // how many connections
	envQuietSeconds   = "FANOUT_BENCH_QUIET_SECONDS"   // how long to publish
	envQuietBase      = "FANOUT_BENCH_QUIET_BASE"      // the parent's clockBase, Unix ns
)

const (
	quietRate    = 4              // messages per second
	quietPayload = 128            // bytes per payload
	quietReady   = idleReady      // what waitReady looks for
	quietResult  = "quiet-result" // count p50 p99, in ns
)

// quietConns is the number of connections: FANOUT_BENCH_QUIET_CONNS, else
// 1000 (100 with -short). BENCHMARKS.md has runs at 10 000 and 50 000.
func quietConns() int {
	if n, err := strconv.Atoi(os.Getenv(envQuietConns)); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return 100
	}
	return 1000
}

// quietDuration is how long the publisher runs: FANOUT_BENCH_QUIET_SECONDS,
// else 3s (1s with -short).
func quietDuration() time.Duration {
	if n, err := strconv.Atoi(os.Getenv(envQuietSeconds)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if testing.Short() {
		return time.Second
	}
	return 3 * time.Second
}

// BenchmarkQuietConnections measures the quiet shape: quietConns()
// connections subscribed to one topic, quietRate messages per second with
// quietPayload-byte payloads, for quietDuration(). It reports the
// publish-to-receive latency percentiles over every delivery (p50-ms,
// p99-ms), the server's CPU time per delivery (cpu-µs/delivery, user and
// system), and what each connection holds after the traffic (B/conn, live
// heap and stacks after two GCs; goroutines/conn), for fanout and the
// baseline, WebSocket and SSE. The measurement runs once per
// sub-benchmark and -count, at its first call (b.N == 1): ns/op means
// nothing.
func BenchmarkQuietConnections(b *testing.B) {
	for _, impl := range []string{implFanout, implBaseline} {
		for _, transport := range []string{transportWS, transportSSE} {
			var m *quietCost
			b.Run(fmt.Sprintf("impl=%s/transport=%s", impl, transport), func(b *testing.B) {
				if m == nil || b.N == 1 { // once per -count: each starts at b.N == 1
					n := quietConns()
					needFiles(b, n)
					c, err := measureQuiet(impl, transport, n, quietDuration())
					if err != nil {
						b.Fatal(err)
					}
					m = &c
				}
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(m.p50.Seconds()*1e3, "p50-ms")
				b.ReportMetric(m.p99.Seconds()*1e3, "p99-ms")
				b.ReportMetric(m.cpuPerDelivery.Seconds()*1e6, "cpu-µs/delivery")
				b.ReportMetric(m.bytes, "B/conn")
				b.ReportMetric(m.goroutines, "goroutines/conn")
			})
		}
	}
}

// quietCost is what one quiet measurement found.
type quietCost struct {
	p50, p99       time.Duration
	cpuPerDelivery time.Duration
	bytes          float64 // heap and stacks per connection, after traffic
	goroutines     float64 // per connection, after traffic
}

func measureQuiet(impl, transport string, n int, d time.Duration) (quietCost, error) {
	ctx, cancel := context.WithTimeout(context.Background(), idleTimeout+2*d)
	defer cancel()
	padding = bytes.Repeat([]byte("x"), quietPayload-len(`{"t":1000000000000,"p":""}`))
	defer func() { padding = nil }()
	srv := newServer(impl, transport)
	defer srv.close()
	before := readState()

	child, err := startQuietClients(ctx, srv.url(transport), transport, n, d)
	if err != nil {
		return quietCost{}, err
	}
	defer child.stop()
	if err := child.waitReady(); err != nil {
		return quietCost{}, err
	}
	if err := settle(ctx, srv, n); err != nil {
		return quietCost{}, err
	}
	cpu := processCPU()
	last, err := publishQuietly(ctx, srv, d)
	if err != nil {
		return quietCost{}, err
	}
	count, p50, p99, err := child.result(last)
	if err != nil {
		return quietCost{}, err
	}
	cpu = processCPU() - cpu
	after := readState()
	if want := int64(last) * int64(n); count != want {
		return quietCost{}, fmt.Errorf("the clients received %d updates, want %d", count, want)
	}
	return quietCost{
		p50:            p50,
		p99:            p99,
		cpuPerDelivery: cpu / time.Duration(max(count, 1)),
		bytes:          (float64(after.heap+after.stack) - float64(before.heap+before.stack)) / float64(n),
		goroutines:     float64(after.goroutines-before.goroutines) / float64(n),
	}, child.stop()
}

// publishQuietly publishes quietRate messages a second for d and returns
// the last sequence number.
func publishQuietly(ctx context.Context, srv *server, d time.Duration) (uint64, error) {
	tick := time.NewTicker(time.Second / quietRate)
	defer tick.Stop()
	var seq uint64
	for end := time.Now().Add(d); time.Now().Before(end); {
		select {
		case <-ctx.Done():
			return seq, ctx.Err()
		case <-tick.C:
		}
		seq++
		if err := srv.publish(seq, nanotime()); err != nil {
			return seq, err
		}
	}
	return seq, nil
}

// quietChild is the child process holding the quiet clients.
type quietChild struct{ *child }

func startQuietClients(ctx context.Context, url, transport string, n int, d time.Duration) (*quietChild, error) {
	c, err := startChild(ctx, "TestQuietClients",
		envQuietURL+"="+url, envQuietTransport+"="+transport, envQuietConns+"="+strconv.Itoa(n),
		envQuietSeconds+"="+strconv.Itoa(int(d/time.Second)),
		envQuietBase+"="+strconv.FormatInt(clockBase.UnixNano(), 10))
	if err != nil {
		return nil, err
	}
	return &quietChild{c}, nil
}

// result tells the child the last sequence number published and reads
// what its clients received: the updates counted and the latency
// percentiles.
func (c *quietChild) result(last uint64) (count int64, p50, p99 time.Duration, err error) {
	if err := c.send("%d", last); err != nil {
		return 0, 0, 0, err
	}
	line, err := c.readLine(quietResult)
	if err != nil {
		return 0, 0, 0, err
	}
	var a, b int64
	if _, err := fmt.Sscanf(line, "%d %d %d", &count, &a, &b); err != nil {
		return 0, 0, 0, fmt.Errorf("%s line %q: %w", quietResult, line, err)
	}
	return count, time.Duration(a), time.Duration(b), nil
}

// TestQuietClients is the child side of BenchmarkQuietConnections: with
// the FANOUT_BENCH_QUIET_* variables set it opens the connections, each
// with a reading goroutine that checks order and records latency, writes
// the ready line, and, once the parent writes the last sequence number,
// waits until every client has it and writes the result line. It closes
// the clients when its stdin closes. Without the variables it is skipped.
func TestQuietClients(t *testing.T) {
	url := os.Getenv(envQuietURL)
	if url == "" {
		t.Skip("the client side of BenchmarkQuietConnections; it runs as a child process")
	}
	n, err := strconv.Atoi(os.Getenv(envQuietConns))
	if err != nil {
		t.Fatal(err)
	}
	base, err := strconv.ParseInt(os.Getenv(envQuietBase), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	clockBase = time.Unix(0, base) // wall clock: latencies across processes
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
	if err := e.connect(url, os.Getenv(envQuietTransport), n); err != nil {
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
	fmt.Printf("%s %d %d %d\n", quietResult, lat.n, lat.quantile(0.5), lat.quantile(0.99))
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
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
