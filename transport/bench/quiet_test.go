package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The quiet shape is what live pages mostly are: many connections on one
// topic, few small messages each. Its servers and clients run in child
// processes (the test binary running TestQuietServer and
// TestQuietClients), so that a server's CPU time (getrusage of its
// process) and memory have nothing of its clients' mixed in, and so that
// more connections can be measured than one process may open files.
const (
	envQuietProcs     = "FANOUT_BENCH_QUIET_PROCS"     // how many server processes
	envQuietConns     = "FANOUT_BENCH_QUIET_CONNS"     // how many connections: in all, or a client child's
	envQuietSeconds   = "FANOUT_BENCH_QUIET_SECONDS"   // how long to publish
	envQuietRate      = "FANOUT_BENCH_QUIET_RATE"      // messages per second
	envQuietImpl      = "FANOUT_BENCH_QUIET_IMPL"      // what a server child runs
	envQuietURL       = "FANOUT_BENCH_QUIET_URL"       // what a client child dials
	envQuietTransport = "FANOUT_BENCH_QUIET_TRANSPORT" // ws or sse
	envQuietBase      = "FANOUT_BENCH_QUIET_BASE"      // the parent's clockBase, Unix ns
)

// quietPayload is the size of a payload, in bytes.
const quietPayload = 128

// quietRate is the number of messages a second: FANOUT_BENCH_QUIET_RATE,
// else 4.
func quietRate() float64 {
	if r, err := strconv.ParseFloat(os.Getenv(envQuietRate), 64); err == nil && r > 0 {
		return r
	}
	return 4
}

// quietConns is the number of connections, over all processes:
// FANOUT_BENCH_QUIET_CONNS, else 1000 (100 with -short).
func quietConns() int {
	if n, err := strconv.Atoi(os.Getenv(envQuietConns)); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return 100
	}
	return 1000
}

// quietDuration is how long the publishers run: FANOUT_BENCH_QUIET_SECONDS,
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

// quietProcs is the number of server processes that hold n connections:
// FANOUT_BENCH_QUIET_PROCS, else the fewest that keep each one's
// connections within what its open-file limit allows (connsPerProcess),
// or 1 if the limit cannot be read.
func quietProcs(n int) int {
	if k, err := strconv.Atoi(os.Getenv(envQuietProcs)); err == nil && k > 0 {
		return k
	}
	per, err := connsPerProcess()
	if err != nil {
		return 1
	}
	return max((n+per-1)/per, 1)
}

// BenchmarkQuietConnections measures the quiet shape: quietConns()
// connections subscribed to one topic, quietRate() messages per second
// with quietPayload-byte payloads, for quietDuration(). The messages are
// published on a fixed schedule: a server that falls behind publishes
// the late ones at once, so that every run does the same work; behind-ms
// is how late the last one was.
//
// The connections are split over quietProcs() server processes
// (TestQuietServer), each with its own client process (TestQuietClients),
// all on this machine: one process may not hold more connections than its
// open-file limit. The benchmark process only coordinates: the servers
// publish at the same time, each its own sequence, and the results are
// summed over the processes.
//
// It reports the publish-to-receive latency percentiles over every
// delivery (p50-ms, p99-ms), the servers' CPU time per delivery
// (cpu-µs/delivery, user and system, from just before publishing until
// every client has the last message), and what each connection holds
// after the traffic (B/conn, the servers' growth of live heap and stacks
// after two GCs; goroutines/conn), for fanout and the baseline, WebSocket
// and SSE. The measurement runs once per sub-benchmark and -count, at its
// first call (b.N == 1): ns/op means nothing.
func BenchmarkQuietConnections(b *testing.B) {
	for _, impl := range []string{implFanout, implBaseline} {
		for _, transport := range []string{transportWS, transportSSE} {
			var m *quietCost
			b.Run(fmt.Sprintf("impl=%s/transport=%s", impl, transport), func(b *testing.B) {
				if m == nil || b.N == 1 { // once per -count: each starts at b.N == 1
					n := quietConns()
					k := quietProcs(n)
					needFiles(b, (n+k-1)/k)
					c, err := measureQuiet(impl, transport, n, k, quietSchedule(quietRate(), quietDuration()))
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
				b.ReportMetric(m.behind.Seconds()*1e3, "behind-ms")
			})
		}
	}
}

// TestMeasureQuiet runs the quiet measurement over two server processes
// at a small scale: every update reaches every connection (measureQuiet
// checks that), and the numbers are sane.
func TestMeasureQuiet(t *testing.T) {
	const n = 60
	needFiles(t, n)
	c, err := measureQuiet(implFanout, transportWS, n, 2, quietSchedule(4, time.Second))
	require.NoError(t, err)
	require.Equal(t, int64(4*n), c.deliveries, "every update to every connection")
	require.Positive(t, c.p50)
	require.GreaterOrEqual(t, c.p99, c.p50)
	require.Positive(t, c.cpuPerDelivery)
	require.Positive(t, c.bytes)
	require.Positive(t, c.goroutines)
}

// quietCost is what one quiet measurement found.
type quietCost struct {
	deliveries     int64         // updates received, over all processes
	behind         time.Duration // how late the latest last message was published
	p50, p99       time.Duration
	cpuPerDelivery time.Duration
	bytes          float64 // heap and stacks per connection, after traffic
	goroutines     float64 // per connection, after traffic
}

// quietShard is one server process and the client process holding its
// connections.
type quietShard struct {
	conns   int
	server  *child        // TestQuietServer
	clients *child        // TestQuietClients
	last    uint64        // the last update the server published
	behind  time.Duration // how late it published it
	lat     hist          // what its clients received
	cost    quietServerCost
}

// measureQuiet measures the quiet shape with n connections split over k
// server processes, each with its own client process, all publishing on
// schedule s at the same time. Each step is taken in every process before the next
// step begins, so that the processes connect, settle, publish and measure
// together. Every process is stopped and waited for, whatever happens.
func measureQuiet(impl, transport string, n, k int, sched schedule) (_ quietCost, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), idleTimeout+2*sched.length())
	defer cancel()
	var shards []*quietShard
	defer func() { err = errors.Join(err, stopQuiet(shards)) }()
	for _, conns := range quietSplit(n, k) {
		srv, err := startQuietServer(ctx, impl, transport)
		if err != nil {
			return quietCost{}, err
		}
		shards = append(shards, &quietShard{conns: conns, server: srv})
	}
	steps := []func(*quietShard) error{
		func(s *quietShard) error { return s.startClients(ctx, transport) },
		func(s *quietShard) error { return s.clients.waitReady() },
		func(s *quietShard) error { return s.server.send("%s %d", quietSettle, s.conns) },
		func(s *quietShard) error { _, err := s.server.readLine(quietSettled); return err },
		func(s *quietShard) error { return s.server.send("%s %s", quietPublish, sched) },
		(*quietShard).published,
		(*quietShard).received,
		func(s *quietShard) error { return s.server.send(quietCostCmd) },
		(*quietShard).readCost,
	}
	for _, step := range steps {
		for _, s := range shards {
			if err := step(s); err != nil {
				return quietCost{}, err
			}
		}
	}
	var lat hist
	var sum quietServerCost
	var behind time.Duration
	for _, s := range shards {
		behind = max(behind, s.behind)
		lat.merge(&s.lat)
		sum.cpu += s.cost.cpu
		sum.bytes += s.cost.bytes
		sum.goroutines += s.cost.goroutines
	}
	return quietCost{
		deliveries:     int64(lat.n),
		behind:         behind,
		p50:            lat.quantile(0.5),
		p99:            lat.quantile(0.99),
		cpuPerDelivery: sum.cpu / time.Duration(max(lat.n, 1)),
		bytes:          float64(sum.bytes) / float64(n),
		goroutines:     float64(sum.goroutines) / float64(n),
	}, nil
}

// quietSplit splits n connections over k processes (at most n), the first
// n%k one more than the others.
func quietSplit(n, k int) []int {
	k = min(max(k, 1), max(n, 1))
	conns := make([]int, k)
	for i := range conns {
		conns[i] = n / k
		if i < n%k {
			conns[i]++
		}
	}
	return conns
}

// startClients reads the server's URL and starts the client process.
func (s *quietShard) startClients(ctx context.Context, transport string) error {
	url, err := s.server.readLine(quietURL)
	if err != nil {
		return err
	}
	s.clients, err = startQuietClients(ctx, url, transport, s.conns)
	return err
}

// published reads the last update the server published, and how late,
// and tells the clients to wait for it.
func (s *quietShard) published() error {
	line, err := s.server.readLine(quietPublished)
	if err != nil {
		return err
	}
	var behind int64
	if _, err := fmt.Sscanf(line, "%d %d", &s.last, &behind); err != nil {
		return fmt.Errorf("%s line %q: %w", quietPublished, line, err)
	}
	s.behind = time.Duration(behind)
	return s.clients.send("%d", s.last)
}

// received reads the latencies the clients recorded, once every one has
// the last update, and checks that each received every update.
func (s *quietShard) received() error {
	line, err := s.clients.readLine(quietResult)
	if err != nil {
		return err
	}
	if err := s.lat.UnmarshalText([]byte(line)); err != nil {
		return err
	}
	if want := s.last * uint64(s.conns); s.lat.n != want {
		return fmt.Errorf("%d clients received %d updates, want %d (%d each)", s.conns, s.lat.n, want, s.last)
	}
	return nil
}

// readCost reads what the server measured.
func (s *quietShard) readCost() error {
	line, err := s.server.readLine(quietCostLine)
	if err != nil {
		return err
	}
	return s.cost.parse(line)
}

// stopQuiet stops the client processes, then the servers (so that the
// clients close the connections rather than see them closed), each group
// at once, and waits for all of them.
func stopQuiet(shards []*quietShard) error {
	var clients, servers []*child
	for _, s := range shards {
		if s.clients != nil {
			clients = append(clients, s.clients)
		}
		servers = append(servers, s.server)
	}
	var errs []error
	for _, group := range [][]*child{clients, servers} {
		for _, c := range group {
			c.end()
		}
		for _, c := range group {
			errs = append(errs, c.stop())
		}
	}
	return errors.Join(errs...)
}
