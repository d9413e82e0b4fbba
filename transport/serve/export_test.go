package serve

import "time"

// SetAfter replaces the timer Run waits on for RunOptions.DrainDelay until
// the test ends.
func SetAfter(f func(time.Duration) <-chan time.Time) (restore func()) {
	old := after
	after = f
	return func() { after = old }
}
