package redis_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	redisbroker "github.com/fanout-go/fanout/broker/redis"
	"github.com/fanout-go/fanout/broker/redis/internal/redistest"
)

// BenchmarkPublish measures Publish through Redis from 4, 32 and 128
// concurrent publishers on 64 topics: with batching off (MaxBatch 1: each
// publisher runs its own EVALSHA on a pooled connection), with one
// batcher, and with the default (a lone publish goes straight to Redis;
// under load, Options.Pipelines batchers send what waits as pipelines).
func BenchmarkPublish(b *testing.B) {
	srv := redistest.Start(b)
	data := []byte(`{"price":101.25,"size":300,"side":"buy"}`)
	const topics = 64
	for _, perCPU := range []int{2, 16, 64} {
		for _, c := range []struct {
			name string
			opts redisbroker.Options
		}{
			{"direct", redisbroker.Options{MaxBatch: 1}},
			{"pipelines=1", redisbroker.Options{Pipelines: 1}},
			{"default", redisbroker.Options{}},
		} {
			publishers := perCPU * runtime.GOMAXPROCS(0)
			b.Run(fmt.Sprintf("publishers=%d/%s", publishers, c.name), func(b *testing.B) {
				br, _ := newBroker(b, srv, c.opts)
				names := make([]string, topics)
				for i := range names {
					names[i] = fmt.Sprintf("bench.%s.%d", c.name, i)
				}
				b.SetParallelism(perCPU)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						i++
						if _, err := br.Publish(context.Background(), names[i%topics], data, nil, true); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publishes/s")
			})
		}
	}
}
