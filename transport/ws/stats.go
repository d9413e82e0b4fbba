package ws

import (
	"strconv"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/internal/tally"
)

// Stats returns the handler's counters, for metrics: open connections,
// their subscriptions and write latency, closes by close code (those the
// handler starts; 1006 for a connection cut without a handshake) and
// refused commands by error code.
func (h *Handler) Stats() transport.Stats { return h.stats.Stats("ws", h.Len()) }

// closeName is a close code as Stats counts it.
func closeName(code websocket.StatusCode) string { return strconv.Itoa(int(code)) }

// counters is what the handler counts for Stats.
type counters = tally.Counters
