package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The idle clients run in a child process: the test binary itself
// (os.Args[0]) running TestIdleClients with these variables set, so that
// the server's memory and goroutines are measured with nothing of the
// clients' mixed in, and no subtraction is needed.
const (
	envIdleURL       = "FANOUT_BENCH_IDLE_URL"       // what to dial
	envIdleTransport = "FANOUT_BENCH_IDLE_TRANSPORT" // ws or sse
	envIdleConns     = "FANOUT_BENCH_IDLE_CONNS"     // how many
)

// idleReady is the line the child writes once every connection is
// subscribed.
const idleReady = "idle-clients-ready"

// idleTimeout bounds a whole idle measurement, child process included.
const idleTimeout = 2 * time.Minute

// idleConns is the number of idle connections measured.
func idleConns() int {
	if testing.Short() {
		return 200
	}
	return 2000
}

// BenchmarkIdleConnection measures what an idle connection, subscribed to
// one topic, costs the server: B/conn is the growth of the live heap and
// of the goroutine stacks (runtime.MemStats HeapAlloc+StackInuse, after
// two GCs) divided by the connections, with heap-B/conn and stack-B/conn
// its two parts, and goroutines/conn the growth of runtime.NumGoroutine.
// HeapAlloc after a GC counts the live objects (rounded up to their size
// classes); HeapInuse would count whole spans, and so depend on how full
// the spans left by earlier benchmarks in the process are.
// The clients are in a child process (see TestIdleClients). The
// measurement runs once per sub-benchmark and -count, at its first call:
// the iteration count and ns/op mean nothing (ns/op is reported as 0).
func BenchmarkIdleConnection(b *testing.B) {
	for _, impl := range []string{implFanout, implBaseline} {
		for _, transport := range []string{transportWS, transportSSE} {
			var m *idleCost // measured once, at the first call
			b.Run(fmt.Sprintf("impl=%s/transport=%s", impl, transport), func(b *testing.B) {
				if m == nil {
					n := idleConns()
					needFiles(b, n)
					c, err := measureIdle(impl, transport, n)
					if err != nil {
						b.Fatal(err)
					}
					m = &c
				}
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(m.bytes(), "B/conn")
				b.ReportMetric(m.heap, "heap-B/conn")
				b.ReportMetric(m.stack, "stack-B/conn")
				b.ReportMetric(m.goroutines, "goroutines/conn")
			})
		}
	}
}

// idleCost is the server's cost of one idle connection.
type idleCost struct {
	heap, stack, goroutines float64
}

func (c idleCost) bytes() float64 { return c.heap + c.stack }

// serverState is what the server process holds.
type serverState struct {
	heap, stack uint64
	goroutines  int
}

func readState() serverState {
	runtime.GC()
	runtime.GC() // the second clears the pools' victim caches
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return serverState{heap: ms.HeapAlloc, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

// measureIdle starts impl's server, has a child process open n idle
// connections to it, and returns the server's growth per connection.
func measureIdle(impl, transport string, n int) (idleCost, error) {
	ctx, cancel := context.WithTimeout(context.Background(), idleTimeout)
	defer cancel()
	srv := newServer(impl, transport)
	defer srv.close()
	before := readState()

	child, err := startIdleClients(ctx, srv.url(transport), transport, n)
	if err != nil {
		return idleCost{}, err
	}
	defer child.stop()
	if err := child.waitReady(); err != nil {
		return idleCost{}, err
	}
	if err := settle(ctx, srv, n); err != nil {
		return idleCost{}, err
	}
	after := readState()
	if err := writeProfiles(impl, transport); err != nil {
		return idleCost{}, err
	}
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	return idleCost{
		heap:       per(after.heap, before.heap),
		stack:      per(after.stack, before.stack),
		goroutines: float64(after.goroutines-before.goroutines) / float64(n),
	}, child.stop()
}

// settle waits until the server holds n connections, runs no ServeHTTP
// beyond those it keeps (the hijacking SSE handler keeps none), and its
// goroutine count has stopped moving: writers started to send the
// subscription replies end on their own, and there is nothing to wait on
// for that, so this polls (every 10ms, until 5 readings agree).
func settle(ctx context.Context, srv *server, n int) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last, same := -1, 0
	for same < 5 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the server did not settle with %d connections (holds %d, %d goroutines): %w",
				n, srv.open(), runtime.NumGoroutine(), ctx.Err())
		case <-tick.C:
		}
		g := runtime.NumGoroutine()
		if srv.open() != n || g != last {
			last, same = g, 0
			continue
		}
		same++
	}
	return nil
}

// envProfiles names a directory where measureIdle writes the server's
// heap and goroutine profiles with the idle connections open, for pprof:
// idle-<impl>-<transport>.{heap,goroutine}.pprof.
const envProfiles = "FANOUT_BENCH_PROFILES"

func writeProfiles(impl, transport string) error {
	dir := os.Getenv(envProfiles)
	if dir == "" {
		return nil
	}
	for _, name := range []string{"heap", "goroutine"} {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("idle-%s-%s.%s.pprof", impl, transport, name)))
		if err != nil {
			return err
		}
		err = pprof.Lookup(name).WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func startIdleClients(ctx context.Context, url, transport string, n int) (*child, error) {
	return startChild(ctx, "TestIdleClients",
		envIdleURL+"="+url, envIdleTransport+"="+transport, envIdleConns+"="+strconv.Itoa(n))
}

// TestIdleClients is the child side of BenchmarkIdleConnection: with the
// FANOUT_BENCH_IDLE_* variables set it opens the connections, subscribes
// each to the benchmark topic, reads the confirmation (the "subscribed"
// reply or the response head), writes the ready line and holds them, with
// no goroutine per connection, until its stdin closes. Without the
// variables it is skipped.
func TestIdleClients(t *testing.T) {
	url := os.Getenv(envIdleURL)
	if url == "" {
		t.Skip("the client side of BenchmarkIdleConnection; it runs as a child process")
	}
	transport := os.Getenv(envIdleTransport)
	n, err := strconv.Atoi(os.Getenv(envIdleConns))
	if err != nil {
		t.Fatal(err)
	}
	needFiles(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), idleTimeout)
	defer cancel()
	closers := make([]io.Closer, 0, n)
	defer func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}()
	for range n {
		c, err := dialIdle(ctx, url, transport)
		if err != nil {
			t.Fatal(err)
		}
		closers = append(closers, c)
	}
	fmt.Println(idleReady)
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
}

// dialIdle opens one idle subscribed connection and returns what closes it.
func dialIdle(ctx context.Context, url, transport string) (io.Closer, error) {
	if transport == transportWS {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			return nil, err
		}
		if err := c.Write(ctx, websocket.MessageText, subscribeCommand); err != nil {
			_ = c.CloseNow()
			return nil, err
		}
		if err := awaitSubscribed(ctx, c); err != nil {
			_ = c.CloseNow()
			return nil, err
		}
		return closerFunc(c.CloseNow), nil
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", url)
	if err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	req := "GET /?topic=" + benchTopic + " HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		_ = conn.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		_ = conn.Close()
		return nil, fmt.Errorf("event stream: %v, %v", resp, err)
	}
	return conn, nil
}

// awaitSubscribed reads frames until the "subscribed" reply, which may
// come after the topic's first messages (a snapshot).
func awaitSubscribed(ctx context.Context, c *websocket.Conn) error {
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		for _, m := range bytes.Split(b, []byte("\n")) {
			if kind, _, _ := parseMessage(m); kind == kindSubscribed {
				return nil
			}
		}
	}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
