package bench

import (
	"fmt"
	"testing"
)

// BenchmarkBroadcast measures the highest broadcast rate a transport
// sustains without loss: one op is one publication on one topic, delivered
// to every connection over loopback. The publisher goes as fast as the
// slowest client allows (see pacer) and every client checks that it gets
// each update once, in order. Clients run in this process and share its
// two cores with the server, the same for every implementation.
//
// Metrics: deliveries/s (conns × publications / time), and the
// publish->receive latency percentiles of all deliveries (p50-µs, p99-µs),
// from the publish time each payload carries. allocs/op and B/op count the
// clients' allocations too.
func BenchmarkBroadcast(b *testing.B) {
	for _, impl := range []string{implFanout, implBaseline} {
		for _, transport := range []string{transportWS, transportSSE} {
			for _, conns := range []int{100, 2000} {
				name := fmt.Sprintf("impl=%s/transport=%s/conns=%d", impl, transport, conns)
				b.Run(name, func(b *testing.B) { benchBroadcast(b, impl, transport, conns) })
			}
		}
	}
}

func benchBroadcast(b *testing.B, impl, transport string, conns int) {
	needFiles(b, 2*conns)
	e := newEnv(b, impl, transport, conns)
	defer e.close()
	b.ReportAllocs()
	b.ResetTimer()
	elapsed, lat, err := e.run(b.N)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(conns)*float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(lat.quantile(0.50).Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat.quantile(0.99).Nanoseconds())/1e3, "p99-µs")
}
