package game_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/examples/scoreboard/game"
)

// BenchmarkIngest measures the ingest step of one event: validate, apply,
// encode the update and the state, publish to subscribers that keep up.
func BenchmarkIngest(b *testing.B) {
	for _, subs := range []int{0, 100} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			hub := fanout.NewHub(fanout.Options{})
			defer hub.Close()
			in := game.NewIngester(hub, quietLog())
			if err := in.AddGame(b.Context(), game.NewGame("g1", home, away)); err != nil {
				b.Fatal(err)
			}
			if err := in.Ingest(b.Context(), game.Event{Game: "g1", ID: 1, Kind: game.KickOff}); err != nil {
				b.Fatal(err)
			}
			buf := make([]fanout.Delivery, 64)
			sinks := make([]*fanout.Subscriber, subs)
			for i := range sinks {
				sinks[i] = hub.NewSubscriber(fanout.SubscriberOptions{QueueSize: 1024})
				defer sinks[i].Close()
				if err := sinks[i].Subscribe(context.Background(), game.Topic("g1")); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				// The clock, at minute 1 so that the game never ends.
				if err := in.Ingest(b.Context(), game.Event{Game: "g1", ID: int64(i + 2), Kind: game.Clock, Minute: 1}); err != nil {
					b.Fatal(err)
				}
				if i%32 == 31 {
					for _, s := range sinks {
						for n, _ := s.Drain(buf); n > 0; n, _ = s.Drain(buf) {
						}
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
