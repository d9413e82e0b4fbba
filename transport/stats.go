package transport

import "github.com/fanout-go/fanout"

// Stats are a transport handler's counters, for metrics (package
// metrics turns them into Prometheus metrics or an expvar value).
type Stats struct {
	// Transport names the handler's transport: "ws", "sse" or "poll".
	Transport string
	// Connections is the number of open connections (event streams, held
	// polls) now.
	Connections int
	// Subscriptions and WriteLatency are those of the handler's
	// connections (see fanout.Meter).
	fanout.MeterStats
	// Closes counts the connections the handler ended, by WebSocket close
	// code ("4000", "1001", ... and "1006" for a connection cut without a
	// close handshake) or, for an event stream, by reason
	// ("slow_consumer", "closed", "ended").
	Closes map[string]uint64
	// Rejected counts the commands and topics the handler refused, by
	// protocol error code ("forbidden", "rate_limited", ...).
	Rejected map[string]uint64
}
