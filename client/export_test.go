package client

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/fanout-go/fanout"
)

// Backoff exposes the reconnect backoff to the tests: Next returns the
// delay of the next attempt, Ceiling its upper bound.
type Backoff struct{ b backoff }

func NewBackoff(min, max time.Duration, int64n func(int64) int64) *Backoff {
	return &Backoff{backoff{min: min, max: max, int64n: int64n}}
}
func (b *Backoff) Next() time.Duration    { return b.b.next() }
func (b *Backoff) Ceiling() time.Duration { return b.b.ceiling() }
func (b *Backoff) Reset()                 { b.b.reset() }

// RetryAfter, Busy and RetryDelay expose the handling of a server's
// Retry-After.
func RetryAfter(v string, now time.Time) (time.Duration, bool) { return retryAfter(v, now) }
func Busy(resp *http.Response, err error, now time.Time) error { return busy(resp, err, now) }

// Refusal exposes the test for a final refusal of a handshake.
func Refusal(resp *http.Response, err error) error { return refusal(resp, err) }
func RetryDelay(err error, b *Backoff, limit time.Duration) time.Duration {
	return retryDelay(err, &b.b, limit)
}

// Bucket exposes the command pacing.
type Bucket struct{ b bucket }

func NewBucket(rate float64, burst int, now time.Time) *Bucket {
	return &Bucket{newBucket(rate, burst, now)}
}
func (b *Bucket) Take(now time.Time) bool          { return b.b.take(now) }
func (b *Bucket) Wait(now time.Time) time.Duration { return b.b.wait(now) }

// Verdicts of Judge.
const (
	Deliver = int(deliver)
	Drop    = int(drop)
	Lost    = int(lost)
)

func Judge(recv fanout.Position, has bool, m Message) int { return int(judge(recv, has, &m)) }

// Reconnect kinds of ReconnectPolicy.
const (
	Stop      = int(stop)
	WithDelay = int(withDelay)
	Promptly  = int(promptly)
)

func ReconnectPolicy(err error) int { return int(reconnectPolicy(err)) }

var (
	ErrOverflow = errOverflow
	ErrLost     = errLost
)

// ParseFrame parses a server frame into its data messages and the types
// of all its objects.
func ParseFrame(frame []byte) (msgs []Message, types []string, err error) {
	fs, err := parseFrame(nil, frame, make(interner))
	for i := range fs {
		types = append(types, fs[i].Type)
		if k, ok := fs[i].kind(); ok {
			msgs = append(msgs, fs[i].message(k))
		}
	}
	return msgs, types, err
}

// Reconnector exposes the choice of the first reconnect delay.
type Reconnector struct{ r *reconnector }

func NewReconnector(min, max time.Duration, int64n func(int64) int64) Reconnector {
	return Reconnector{newReconnector(min, max, int64n)}
}

// First returns the delay before reconnecting after a connection that
// lived for lived and ended with err; Retry the delay of a further
// attempt when that one fails.
func (r Reconnector) First(err error, lived time.Duration) time.Duration {
	return r.r.first(reconnectPolicy(err), lived)
}
func (r Reconnector) Retry() time.Duration { return r.r.bo.next() }

// FrameParser parses frames like a connection's reader, reusing its
// buffers; Parse returns the number of objects.
type FrameParser struct {
	fs []frameMsg
	in interner
}

func NewFrameParser() *FrameParser { return &FrameParser{in: make(interner)} }

func (p *FrameParser) Parse(frame []byte) (int, error) {
	var err error
	p.fs, err = parseFrame(p.fs[:0], frame, p.in)
	return len(p.fs), err
}

// DecodeBoth decodes one line with the fast path (ok reports whether it
// accepted the line) and with encoding/json.
func DecodeBoth(line []byte) (fast, slow Message, ok bool, err error) {
	var f frameMsg
	if ok = parseData(line, &f, make(interner)); ok {
		k, _ := f.kind()
		fast = f.message(k)
	}
	var g frameMsg
	if err = json.Unmarshal(line, &g); err == nil {
		if k, isData := g.kind(); isData {
			slow = g.message(k)
		}
	}
	return fast, slow, ok, err
}

// QueueOrder pushes and pops seqs through the client's ring in the given
// pattern (a positive number pushes that many, a negative pops that many)
// and returns the seqs popped.
func QueueOrder(pattern ...int) []uint64 {
	var q queue
	var next uint64
	var out []uint64
	for _, n := range pattern {
		for ; n > 0; n-- {
			next++
			q.push(item{m: Message{Seq: next}})
		}
		for ; n < 0 && q.len() > 0; n++ {
			out = append(out, q.pop().m.Seq)
		}
	}
	return out
}
