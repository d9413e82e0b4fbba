package poll

import (
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/internal/tally"
)

// Stats returns the handler's counters, for metrics: held polls, their
// subscriptions and write latency (from publishing to the answer), and
// refused topics by error code.
func (h *Handler) Stats() transport.Stats { return h.stats.Stats("poll", h.Len()) }

// counters is what the handler counts for Stats.
type counters = tally.Counters
