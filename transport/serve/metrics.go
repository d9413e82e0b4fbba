package serve

import "github.com/fanout-go/fanout/metrics"

// Handlers returns the set's transport handlers, whose counters
// metrics.NewHandler (a /metrics endpoint with no dependency) and the
// metrics/prometheus module's NewCollector export:
//
//	mux.Handle("GET /metrics", metrics.NewHandler(hub, set.Handlers()...))
func (s *Set) Handlers() []metrics.Handler {
	hs := make([]metrics.Handler, 0, len(s.named))
	for _, n := range s.named {
		if h, ok := n.h.(metrics.Handler); ok {
			hs = append(hs, h)
		}
	}
	return hs
}
