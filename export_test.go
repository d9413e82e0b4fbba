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

// ShardPeaks returns the sum of the shards' peak sizes since their maps
// were last rebuilt.
func (h *Hub) ShardPeaks() int {
	n := 0
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		n += sh.peak
		sh.mu.RUnlock()
	}
	return n
}
