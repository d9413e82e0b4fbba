//go:build linux

package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	fanouttransport "github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/internal/slowclient"
	"github.com/fanout-go/fanout/transport/poll"
	"github.com/fanout-go/fanout/transport/sse"
	"github.com/fanout-go/fanout/transport/ws"
)

// BenchmarkNeverReading measures what clients that stop reading cost the
// server: 100 clients of one transport subscribe to a topic, then never
// read again while 512 messages of 8 KiB (4 MiB) are published on it. It
// reports the server's Go heap and the kernel's TCP memory (both sides of
// loopback, the clients' receive buffers being 4 KiB) per client, once
// the writers are stuck ("held") and again 12 seconds later, past the
// handlers' default 10-second bounds ("after"), with the clients still
// connected and still not reading. Handlers run with their defaults.
func BenchmarkNeverReading(b *testing.B) {
	if testing.Short() {
		b.Skip("about 40 s: run it without -short (BENCHMARKS.md, Hostile clients)")
	}
	for _, transport := range []string{"ws", "sse", "poll"} {
		b.Run("transport="+transport, func(b *testing.B) {
			for b.Loop() {
				held, after, err := measureStuck(transport, stuckClients)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(held.heap/stuckClients, "held-heap-B/client")
				b.ReportMetric(held.tcp/stuckClients, "held-tcp-B/client")
				b.ReportMetric(after.heap/stuckClients, "after-heap-B/client")
				b.ReportMetric(after.tcp/stuckClients, "after-tcp-B/client")
				b.ReportMetric(after.open, "after-open-clients")
			}
		})
	}
}

const (
	stuckClients = 100
	stuckBacklog = 512
	stuckAfter   = 12 * time.Second
)

// stuckCost is memory above the baseline taken before the clients came.
type stuckCost struct{ heap, tcp, open float64 }

type stuckHandler interface {
	http.Handler
	Len() int
	Close() error
}

func measureStuck(transport string, n int) (held, after stuckCost, err error) {
	hub := fanout.NewHub(fanout.Options{TopicConfig: func(string) fanout.TopicConfig {
		return fanout.TopicConfig{HistorySize: 2 * stuckBacklog} // a long-poll gets all of it
	}})
	defer hub.Close()
	var h stuckHandler
	switch transport {
	case "ws":
		h = ws.NewHandler(hub, ws.Options{})
	case "sse":
		h = sse.NewHandler(hub, sse.Options{})
	default:
		h = poll.NewHandler(hub, poll.Options{})
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnContext = fanouttransport.ConnContext // as serve.NewServer sets it: long-poll reaches its connections
	srv.Start()
	defer srv.Close()
	defer h.Close()
	first, err := hub.Publish("t", []byte(`0`))
	if err != nil {
		return held, after, err
	}
	heap0, tcp0 := stuckMemory()
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	dial := func() error {
		for range n {
			c, err := dialStuck(srv, transport, first)
			if err != nil {
				return err
			}
			clients = append(clients, c)
		}
		return nil
	}
	if transport != "poll" { // a stream subscribes, then the backlog comes
		if err := dial(); err != nil {
			return held, after, err
		}
	}
	payload := []byte(`"` + strings.Repeat("x", 8<<10) + `"`)
	for range stuckBacklog {
		if _, err := hub.Publish("t", payload); err != nil {
			return held, after, err
		}
	}
	if transport == "poll" { // a poll comes after the backlog, and is answered with it
		if err := dial(); err != nil {
			return held, after, err
		}
	}
	settleTCP()
	heap1, tcp1 := stuckMemory()
	held = stuckCost{heap: heap1 - heap0, tcp: tcp1 - tcp0, open: float64(h.Len())}
	time.Sleep(stuckAfter) // a measurement over time, not a synchronisation
	heap2, tcp2 := stuckMemory()
	after = stuckCost{heap: heap2 - heap0, tcp: tcp2 - tcp0, open: float64(h.Len())}
	return held, after, nil
}

// settleTCP waits until the kernel's TCP memory stops growing: the
// writers are stuck.
func settleTCP() {
	last := -1.0
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		_, tcp := stuckMemory()
		if tcp == last {
			return
		}
		last = tcp
	}
}

// stuckMemory returns the Go heap in use after a collection, and the
// kernel's TCP memory (/proc/net/sockstat), in bytes.
func stuckMemory() (heap, tcp float64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f, err := os.Open("/proc/net/sockstat")
	if err != nil {
		return float64(ms.HeapInuse), 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var inuse, orphan, tw, alloc, pages int
		if _, err := fmt.Sscanf(sc.Text(), "TCP: inuse %d orphan %d tw %d alloc %d mem %d", &inuse, &orphan, &tw, &alloc, &pages); err == nil {
			return float64(ms.HeapInuse), float64(pages * os.Getpagesize())
		}
	}
	return float64(ms.HeapInuse), 0
}

// dialStuck connects a client that subscribes to "t", sees that it is
// subscribed (a long-poll asks from pos, and is answered at once), and
// never reads again. It returns the connection to close at the end.
func dialStuck(srv *httptest.Server, transport string, pos fanout.Position) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr := srv.Listener.Addr().String()
	if transport == "ws" {
		var nc net.Conn
		c, resp, err := websocket.Dial(ctx, "ws://"+addr, &websocket.DialOptions{HTTPClient: &http.Client{
			Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := slowclient.Dialer.DialContext(ctx, network, addr)
				nc = c
				return c, err
			}},
		}})
		if err != nil {
			return nil, err
		}
		if resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"action":"subscribe","topic":"t"}`)); err != nil {
			return nil, err
		}
		if _, _, err := c.Read(ctx); err != nil {
			return nil, err
		}
		return nc, nil
	}
	c, err := slowclient.Dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	path := "/?topic=t"
	if transport == "poll" {
		path = fmt.Sprintf("/?topic=t&epoch=%s&since=%d", pos.Epoch, pos.Seq)
	}
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n", path); err != nil {
		_ = c.Close()
		return nil, err
	}
	if transport == "sse" { // the head and the first event: subscribed
		if _, err := c.Read(make([]byte, 1024)); err != nil {
			_ = c.Close()
			return nil, err
		}
	}
	return c, nil
}
