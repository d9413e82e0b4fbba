package ws_test

import (
	"runtime"
	"testing"

	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/require"
)

// BenchmarkIdleConnMemory reports the memory an idle subscribed
// connection costs: the heap of server and test client together (both run
// in this process), and the goroutine stacks, which are the server's only
// (an idle test client holds no goroutine).
func BenchmarkIdleConnMemory(b *testing.B) {
	const conns = 500
	for b.Loop() {
		s := newServer(b, nil, ws.Options{})
		heap0, stack0 := memInUse()
		clients := make([]*client, conns)
		for i := range clients {
			clients[i] = s.dial(b)
			clients[i].subscribe("idle")
			require.Equal(b, "subscribed", clients[i].next().Type)
		}
		heap1, stack1 := memInUse()
		b.ReportMetric(float64(heap1-heap0)/conns, "heap-bytes/conn")
		b.ReportMetric(float64(stack1-stack0)/conns, "stack-bytes/conn")
		b.StopTimer()
		for _, c := range clients {
			_ = c.c.CloseNow()
		}
		require.NoError(b, s.h.Close())
		b.StartTimer()
	}
}

func memInUse() (heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.StackInuse
}
