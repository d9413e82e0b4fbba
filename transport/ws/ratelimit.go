package ws

import "time"

// bucket is a token bucket: rate tokens per second, up to burst. The time
// is passed in, so that it needs no goroutine and tests need no sleeps. It
// is not safe for concurrent use; the reading loop owns it.
type bucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int, now time.Time) bucket {
	return bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// take takes one token at time now and reports whether there was one.
func (b *bucket) take(now time.Time) bool {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.burst, b.tokens+d.Seconds()*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
