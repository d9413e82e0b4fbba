package market_test

import (
	"testing"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/examples/ticker/market"
)

// BenchmarkStep measures one price change: the random walk, the quote's
// JSON and the publish, with no subscriber.
func BenchmarkStep(b *testing.B) {
	hub := fanout.NewHub(fanout.Options{TopicConfig: market.TopicConfig})
	defer hub.Close()
	m := market.New(hub, 200, 1)
	if err := m.PublishAll(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := m.Step(b.N); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "changes/s")
}
