package ratelimit

import "time"

// Bucket is a token bucket: Rate tokens per second, up to a burst. The
// time is passed in, so that it needs no goroutine and tests need no
// sleeps. It is not safe for concurrent use: its owner (a connection's
// reading loop, a client's link) holds it. The zero value has no tokens
// and never refills; create one with New.
type Bucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

// New returns a full bucket of rate tokens per second and burst tokens at
// most, as of now.
func New(rate float64, burst int, now time.Time) Bucket {
	return Bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// refill adds the tokens earned since the last call; a time before it
// earns none.
func (b *Bucket) refill(now time.Time) {
	if now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}

// Take takes one token at time now and reports whether there was one.
func (b *Bucket) Take(now time.Time) bool {
	b.refill(now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Wait returns how long after now the next token is available: zero when
// one is.
func (b *Bucket) Wait(now time.Time) time.Duration {
	b.refill(now)
	if b.tokens >= 1 {
		return 0
	}
	if b.rate <= 0 {
		return time.Duration(1<<63 - 1) // never
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}
