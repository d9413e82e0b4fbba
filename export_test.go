package fanout

import "time"

// Sweep runs one eviction sweep now, for tests that must not wait for the
// sweeper's ticker.
func (h *Hub) Sweep() { h.sweep(time.Now()) }

// MinCatchUpInterval is minCatchUpInterval, for the tests of its pacing.
const MinCatchUpInterval = minCatchUpInterval

// Receive hands h a publication as its broker would.
func (h *Hub) Receive(p Publication) { h.receive(p) }

// Reconnected tells h that its broker lost and restored its connection.
func (h *Hub) Reconnected() { h.reconnected() }
