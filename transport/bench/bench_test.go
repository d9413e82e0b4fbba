package bench

import (
	"fmt"
	"syscall"
	"testing"
	"time"
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
// from the publish time each payload carries, and the CPU time of the
// whole process (server and clients) per delivery (cpu-ns/delivery). allocs/op and B/op count the
// clients' allocations too.
func BenchmarkBroadcast(b *testing.B) {
	// impl varies fastest, so that the two implementations of a row run
	// back to back, under the same load from the rest of the machine.
	for _, transport := range []string{transportWS, transportSSE} {
		for _, conns := range []int{100, 2000} {
			for _, impl := range []string{implFanout, implBaseline} {
				name := fmt.Sprintf("transport=%s/conns=%d/impl=%s", transport, conns, impl)
				b.Run(name, func(b *testing.B) { benchBroadcast(b, impl, transport, conns) })
			}
		}
	}
}

// BenchmarkLatency measures the latency of a broadcast on an otherwise
// idle server: the publisher publishes a message only once every client
// has received the previous one (lockstep), so one message is in flight at
// a time. ns/op is the time until the last connection has the message;
// p50-µs and p99-µs are over every delivery.
func BenchmarkLatency(b *testing.B) {
	for _, transport := range []string{transportWS, transportSSE} {
		for _, conns := range []int{100, 2000} {
			for _, impl := range []string{implFanout, implBaseline} {
				name := fmt.Sprintf("transport=%s/conns=%d/impl=%s", transport, conns, impl)
				b.Run(name, func(b *testing.B) { benchPaced(b, impl, transport, conns, 1, 1) })
			}
		}
	}
}

func benchBroadcast(b *testing.B, impl, transport string, conns int) {
	benchPaced(b, impl, transport, conns, paceBlock, paceDepth)
}

// benchPaced publishes b.N messages to conns connections, in blocks of
// size messages at most depth blocks ahead of the slowest client.
func benchPaced(b *testing.B, impl, transport string, conns, size, depth int) {
	needFiles(b, 2*conns)
	e := newEnv(b, impl, transport, conns)
	defer e.close()
	b.ReportAllocs()
	cpu := processCPU()
	b.ResetTimer()
	elapsed, lat, err := e.runPaced(b.N, size, depth)
	b.StopTimer()
	cpu = processCPU() - cpu
	if err != nil {
		b.Fatal(err)
	}
	deliveries := float64(conns) * float64(b.N)
	b.ReportMetric(deliveries/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/deliveries, "cpu-ns/delivery")
	b.ReportMetric(float64(lat.quantile(0.50).Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat.quantile(0.99).Nanoseconds())/1e3, "p99-µs")
}

// processCPU returns the CPU time the process has used, user and system,
// clients and server together. On a machine shared with other work it is
// steadier than the wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
