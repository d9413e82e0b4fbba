package client

import (
	"time"

	"github.com/fanout-go/fanout/internal/ratelimit"
)

// backoff computes the delays between attempts: exponential growth from
// min to max with full jitter, a uniform random delay between zero and the
// current ceiling, so that many clients that lost the same server do not
// come back in step. It is not safe for concurrent use; each user holds
// its own.
type backoff struct {
	min, max time.Duration
	attempt  int                 // attempts since the last reset
	int64n   func(n int64) int64 // a random integer in [0, n); math/rand/v2's Int64N in production
}

// ceiling returns the upper bound of the next delay:
// min(max, min·2^attempt).
func (b *backoff) ceiling() time.Duration {
	d := b.min
	for i := 0; i < b.attempt && d < b.max; i++ {
		d *= 2
	}
	return min(d, b.max)
}

// next returns the delay before the next attempt and counts the attempt.
func (b *backoff) next() time.Duration {
	c := b.ceiling()
	if c < b.max {
		b.attempt++
	}
	if c <= 0 {
		return 0
	}
	return time.Duration(b.int64n(int64(c)))
}

// reset starts again from min.
func (b *backoff) reset() { b.attempt = 0 }

// maxPrompt is how many prompt reconnects in a row (after 4000, 4001 or
// the client's own overflow) reset the backoff while the connections
// between them stay short; after that the backoff grows as for any
// failure, so that a server that keeps closing a client at once does not
// get a reconnect every MinBackoff.
const maxPrompt = 3

// reconnector chooses the delay before the first attempt to reconnect.
type reconnector struct {
	bo     backoff
	prompt int // prompt reconnects since the last healthy connection
}

func newReconnector(min, max time.Duration, int64n func(int64) int64) *reconnector {
	return &reconnector{bo: backoff{min: min, max: max, int64n: int64n}}
}

// first returns the delay before reconnecting after a connection that
// lived for lived and ended with a reconnect of kind. A connection that
// lived at least the longest delay (max) was healthy: the backoff starts
// again from min.
func (r *reconnector) first(kind reconnectKind, lived time.Duration) time.Duration {
	if lived >= r.bo.max {
		r.bo.reset()
		r.prompt = 0
	}
	if kind == promptly {
		r.prompt++
		if r.prompt <= maxPrompt {
			r.bo.reset()
		}
	}
	return r.bo.next()
}

// bucket is the token bucket pacing the commands the client sends (the
// one the server's transport/ws limits them with): rate tokens per
// second, up to burst. Time is passed in.
type bucket struct{ ratelimit.Bucket }

func newBucket(rate float64, burst int, now time.Time) bucket {
	return bucket{ratelimit.New(rate, burst, now)}
}

// take takes a token if one is available at now.
func (b *bucket) take(now time.Time) bool { return b.Take(now) }

// wait returns how long after now the next token is available.
func (b *bucket) wait(now time.Time) time.Duration { return b.Wait(now) }
