package fanout

import "time"

// Sweep runs one eviction sweep now, for tests that must not wait for the
// sweeper's ticker.
func (h *Hub) Sweep() { h.sweep(time.Now()) }

// MinCatchUpInterval is minCatchUpInterval, for the tests of its pacing.
const MinCatchUpInterval = minCatchUpInterval
