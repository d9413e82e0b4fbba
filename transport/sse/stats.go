package sse

import (
	"errors"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/internal/tally"
)

// Stats returns the handler's counters, for metrics: open streams, their
// subscriptions and write latency, streams ended by reason
// ("slow_consumer", "closed": the hub closed or the handler shut down,
// "ended": the client left or a write failed) and refused topics by error
// code.
func (h *Handler) Stats() transport.Stats { return h.stats.Stats("sse", h.Len()) }

// endReason says why a stream whose subscriber ended with err ends.
func endReason(err error) string {
	switch {
	case errors.Is(err, fanout.ErrSlowConsumer):
		return "slow_consumer"
	case errors.Is(err, fanout.ErrClosed):
		return "closed"
	}
	return "ended"
}

// counters is what the handler counts for Stats.
type counters = tally.Counters
