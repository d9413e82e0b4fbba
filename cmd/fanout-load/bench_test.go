package main

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkHandle measures what checking one message costs the load
// generator (parse, check, latency), per payload size: the budget that
// bounds how many messages per second one core of fanout-load follows.
func BenchmarkHandle(b *testing.B) {
	for _, size := range []int{128, 1024} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			l := &loadRun{cfg: loadConfig{}, st: newStats(), start: time.Now(), limit: make(chan struct{})}
			c := &client{load: l, topics: []string{"load:1"}, chk: newChecker([]string{"load:1"}, true)}
			now := time.Now()
			c.handle([]byte(`{"type":"snapshot","topic":"load:1","epoch":"k3Xq9a_Z","seq":0,"data":null}`), "", now)
			msgs := make([][]byte, 1024)
			for i := range msgs {
				msgs[i] = fmt.Appendf(nil, `{"type":"update","topic":"load:1","epoch":"k3Xq9a_Z","seq":%d,"data":%s}`,
					i+1, payload(nil, now, uint64(i), size))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i > 0 && i%len(msgs) == 0 { // start the topic again
					c.chk = newChecker(c.topics, true)
					c.handle([]byte(`{"type":"snapshot","topic":"load:1","epoch":"k3Xq9a_Z","seq":0,"data":null}`), "", now)
				}
				c.handle(msgs[i%len(msgs)], "", now)
			}
			b.StopTimer()
			if v := l.st.totalViolations(); v != 0 {
				b.Fatalf("%d violations", v)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
