package transport

import (
	"sync"

	"github.com/fanout-go/fanout"
)

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

// Counters is what a handler counts for its Stats. The zero value is ready
// to use; it is safe for concurrent use and must not be copied after first
// use. Recording a close or a refusal takes a mutex: they are rare next to
// deliveries, which cost nothing here (the Meter records them once per
// frame).
type Counters struct {
	// Meter is given to every connection's subscriber
	// (fanout.SubscriberOptions.Meter).
	Meter fanout.Meter

	mu       sync.Mutex // guards closes and rejected
	closes   map[string]uint64
	rejected map[string]uint64
}

// maxKeys bounds the distinct codes counted; codes come from the handler,
// never from clients, so this is only a guard.
const maxKeys = 64

func count(m *map[string]uint64, key string) {
	if *m == nil {
		*m = make(map[string]uint64)
	}
	if _, ok := (*m)[key]; ok || len(*m) < maxKeys {
		(*m)[key]++
	}
}

// Closed counts a connection the handler ended with code (or reason).
func (c *Counters) Closed(code string) {
	c.mu.Lock()
	count(&c.closes, code)
	c.mu.Unlock()
}

// Rejected counts a command or topic refused with a protocol error code.
func (c *Counters) Rejected(code string) {
	c.mu.Lock()
	count(&c.rejected, code)
	c.mu.Unlock()
}

// Stats returns the counters as the Stats of a handler of transport name
// with conns open connections.
func (c *Counters) Stats(name string, conns int) Stats {
	st := Stats{Transport: name, Connections: conns, MeterStats: c.Meter.Stats()}
	c.mu.Lock()
	defer c.mu.Unlock()
	st.Closes = make(map[string]uint64, len(c.closes))
	for k, v := range c.closes {
		st.Closes[k] = v
	}
	st.Rejected = make(map[string]uint64, len(c.rejected))
	for k, v := range c.rejected {
		st.Rejected[k] = v
	}
	return st
}
