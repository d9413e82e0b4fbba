// Package tally holds what the transport handlers (transport/ws,
// transport/sse, transport/poll) count for their Stats. It is imported by
// them only.
package tally

import (
	"sync"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
)

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
func (c *Counters) Stats(name string, conns int) transport.Stats {
	st := transport.Stats{Transport: name, Connections: conns, MeterStats: c.Meter.Stats()}
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
