package client_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/client"
	"github.com/fanout-go/fanout/transport/ws"
)

// BenchmarkParseFrame measures the client's decoding of a busy frame: 128
// updates of a 60-byte payload, as transport/ws batches them.
func BenchmarkParseFrame(b *testing.B) {
	var sb strings.Builder
	for i := range 128 {
		fmt.Fprintf(&sb, `{"type":"update","topic":"game:123","epoch":"k3Xq9a_Z","seq":%d,"data":{"event":"goal","team":"A","score":"2-1","minute":%d}}`+"\n", i+1, i)
	}
	frame := []byte(sb.String())
	b.SetBytes(int64(len(frame)))
	p := client.NewFrameParser()
	b.ReportAllocs()
	for b.Loop() {
		if n, err := p.Parse(frame); err != nil || n != 128 {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*128), "ns/msg")
}

// BenchmarkReceive measures one client receiving a topic's updates end to
// end over loopback: hub, transport/ws, client, Next. The publisher stays
// at most 256 messages ahead, within the server's queue.
func BenchmarkReceive(b *testing.B) {
	hub := newHub(b, 0)
	s := newServer(b, hub, ws.Options{})
	_, err := hub.PublishState("feed", []byte(`0`), []byte(`0`))
	if err != nil {
		b.Fatal(err)
	}
	c := dial(b, s.url, client.Options{})
	if err := c.Subscribe("feed"); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Next(ctx); err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"event":"goal","team":"A","score":"2-1","minute":` + strconv.Itoa(42) + `}`)
	const window = 256
	b.ReportAllocs()
	b.ResetTimer()
	published := 0
	for i := 0; i < b.N; i++ {
		for published < b.N && published < i+window {
			if _, err := hub.Publish("feed", payload); err != nil {
				b.Fatal(err)
			}
			published++
		}
		m, err := c.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if m.Kind != fanout.Update {
			b.Fatalf("got %v", m.Kind)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkIdleClients measures the memory of idle connected clients, each
// subscribed to one quiet topic: heap and goroutine stacks per client,
// client and server side together (both run in this process).
func BenchmarkIdleClients(b *testing.B) {
	const n = 200
	hub := newHub(b, 0)
	s := newServer(b, hub, ws.Options{})
	_, err := hub.PublishState("quiet", []byte(`0`), []byte(`0`))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		before := memory()
		clients := make([]*client.Client, 0, n)
		for range n {
			c, err := client.Dial(context.Background(), s.url, client.Options{})
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Subscribe("quiet"); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Next(context.Background()); err != nil {
				b.Fatal(err)
			}
			clients = append(clients, c)
		}
		after := memory()
		b.ReportMetric(float64(after.heap-before.heap)/n, "heapB/client")
		b.ReportMetric(float64(after.stack-before.stack)/n, "stackB/client")
		b.ReportMetric(float64(after.goroutines-before.goroutines)/n, "goroutines/client")
		for _, c := range clients {
			_ = c.Close()
		}
	}
}

type mem struct{ heap, stack, goroutines int64 }

func memory() mem {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return mem{int64(ms.HeapAlloc), int64(ms.StackInuse), int64(runtime.NumGoroutine())}
}
