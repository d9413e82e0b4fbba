package sse_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/sse"
)

// BenchmarkFanout publishes b.N messages on one topic streamed to many
// HTTP/1.1 clients on loopback, and waits until every client has read
// every event. Clients count events (blank lines) without parsing them.
func BenchmarkFanout(b *testing.B) {
	for _, streams := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			hub := fanout.NewHub(fanout.Options{})
			defer hub.Close()
			h := sse.NewHandler(hub, sse.Options{QueueSize: 1 << 14})
			s := &server{hub: hub, h: h}
			s.srv = newBenchServer(h)
			defer s.srv.Close()
			defer h.Close()

			var done sync.WaitGroup
			var delivered atomic.Int64
			conns := make([]net.Conn, streams)
			for i := range conns {
				c, err := net.Dial("tcp", s.srv.Listener.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				conns[i] = c
				if _, err := c.Write([]byte("GET /?topic=t HTTP/1.1\r\nHost: b\r\n\r\n")); err != nil {
					b.Fatal(err)
				}
				// Read the head, the retry line and the snapshot, so that
				// the stream is subscribed before the first publish.
				r := bufio.NewReader(c)
				for blank := 0; blank < 3; {
					line, err := r.ReadString('\n')
					if err != nil {
						b.Fatal(err)
					}
					if line == "\n" || line == "\r\n" {
						blank++
					}
				}
				done.Go(func() {
					buf := make([]byte, 32<<10)
					var n int64
					var prev byte
					for n < int64(b.N) {
						k, err := r.Read(buf)
						if err != nil {
							return
						}
						p := buf[:k]
						if prev == '\n' && k > 0 && p[0] == '\n' {
							n++
						}
						n += int64(bytes.Count(p, []byte("\n\n")))
						if k > 0 {
							prev = p[k-1]
						}
					}
					delivered.Add(n)
				})
			}
			payload := []byte(`{"price":123.45,"size":100}`)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := hub.Publish("t", payload); err != nil {
					b.Fatal(err)
				}
			}
			done.Wait()
			b.StopTimer()
			for _, c := range conns {
				_ = c.Close()
			}
			b.ReportMetric(float64(delivered.Load())/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
