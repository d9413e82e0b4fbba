package conns

import (
	"time"

	"github.com/fanout-go/fanout"
)

// Lag measures how far a connection's writer is behind its queue: the age
// of the oldest message it has not delivered, and the bytes it has taken
// from the queue since the queue was last empty. It is not safe for
// concurrent use: the connection's writer owns it. The zero value
// measures nothing (see NewLag).
type Lag struct {
	maxAge   time.Duration // 0: unbounded
	maxBytes int           // 0: unbounded
	behind   int           // bytes taken since the queue was last empty
}

// NewLag returns a Lag that reports a connection whose oldest undelivered
// message is older than maxAge, or that has taken more than maxBytes from
// its queue without emptying it. A bound <= 0 is not checked.
func NewLag(maxAge time.Duration, maxBytes int) Lag {
	return Lag{maxAge: max(maxAge, 0), maxBytes: max(maxBytes, 0)}
}

// Since returns when the oldest of ds became undelivered: its publication
// on this hub, or joined (the latest subscribe of the connection) for a
// message published before that, such as a snapshot or a resume's replay.
// It returns joined when ds is empty.
func Since(ds []fanout.Delivery, joined time.Time) time.Time {
	if len(ds) == 0 || ds[0].Message == nil || ds[0].Time.Before(joined) {
		return joined
	}
	return ds[0].Time
}

// Deadline returns the time by which a write that began at now must end:
// now+timeout, or sooner when the lag bound counted from since falls
// first. A deadline already past means the connection lags: see Over.
func (l *Lag) Deadline(now, since time.Time, timeout time.Duration) time.Time {
	d := now.Add(timeout)
	if l.maxAge > 0 && !since.IsZero() {
		if byLag := since.Add(l.maxAge); byLag.Before(d) {
			return byLag
		}
	}
	return d
}

// Took records n bytes taken from the queue; empty reports whether that
// left the queue empty, which ends the count: the writer has caught up.
// It reports whether the writer is still behind by more than the bytes
// bound.
func (l *Lag) Took(n int, empty bool) bool {
	if empty {
		l.behind = 0
		return false
	}
	l.behind += n
	return l.maxBytes > 0 && l.behind > l.maxBytes
}

// Over reports whether a message undelivered since since is older than
// the bound at now.
func (l *Lag) Over(now, since time.Time) bool {
	return l.maxAge > 0 && !since.IsZero() && now.Sub(since) > l.maxAge
}
