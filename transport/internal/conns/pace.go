package conns

import (
	"context"
	"time"
)

// DrainTick is the pause between two batches of a paced drain.
const DrainTick = 50 * time.Millisecond

// DrainRate is how many connections per second a paced drain ends when
// its context has no deadline.
const DrainRate = 1000

// Pace ends n connections in batches, calling end(lo, hi) for the
// connections lo to hi-1 of the caller's list: one batch every DrainTick,
// spread over three quarters of the time ctx leaves before its deadline
// (at DrainRate per second when it has none), so that their clients do
// not all come back in the same instant and the last quarter is left for
// them to finish. It is the one drain of every handler's Shutdown. It
// returns false, leaving the rest to the caller, when ctx is done or
// hurry (which may be nil) is closed first.
func Pace(ctx context.Context, hurry <-chan struct{}, n int, end func(lo, hi int)) bool {
	if n == 0 {
		return true
	}
	batches := int64(n) * int64(time.Second) / (DrainRate * int64(DrainTick))
	if deadline, ok := ctx.Deadline(); ok {
		batches = int64(time.Until(deadline) * 3 / 4 / DrainTick)
	}
	batches = max(1, min(batches, int64(n)))
	size := int((int64(n) + batches - 1) / batches)
	tick := time.NewTicker(DrainTick)
	defer tick.Stop()
	for lo := 0; lo < n; lo += size {
		if lo > 0 {
			select {
			case <-tick.C:
			case <-hurry:
				return false
			case <-ctx.Done():
				return false
			}
		}
		end(lo, min(lo+size, n))
	}
	return true
}
