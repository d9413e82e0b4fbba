package fanout

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// Position is a place in a topic's stream: the message with sequence
// number Seq in the epoch Epoch. A subscriber that has processed the
// message at a Position resumes from it with Subscriber.Resume.
//
// A topic's epoch changes whenever its sequence restarts (the topic was
// evicted, the hub restarted, a broker lost its data), so that positions
// from an earlier life of the topic are never mistaken for current ones.
type Position struct {
	Epoch string
	Seq   uint64
}

// String returns "epoch:seq".
func (p Position) String() string { return fmt.Sprintf("%s:%d", p.Epoch, p.Seq) }

// epochLen is the length of a new epoch: 8 characters of base64url, 48
// random bits.
const epochLen = 8

// NewEpoch returns a fresh random epoch: 8 characters from the URL-safe
// base64 alphabet. Brokers use it; the hub makes its own.
func NewEpoch() string {
	var b [epochLen * 6 / 8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// plan is what a joining subscriber receives before the live stream.
type plan int

const (
	planLive    plan = iota // nothing to catch up: live from head+1
	planReplay              // history from since+1 to head, as updates
	planInitial             // the snapshot (kind Snapshot or Reset), then history after it
)

// decide chooses how a subscriber that presents from (nil on a fresh join)
// catches up with a topic whose epoch is epoch and whose newest sequence
// number is head. oldest is the first sequence number history holds (0 when
// empty) and room the free space of the subscriber's queue.
//
// A resume is served from history only when the epoch matches, history
// holds every message after from.Seq and they fit the queue; otherwise the
// subscriber is reset, which is never worse than an overflow or a gap.
func decide(from *Position, epoch string, head, oldest uint64, room int) (plan, Kind) {
	if from == nil {
		return planInitial, Snapshot
	}
	if from.Epoch != epoch || from.Seq > head {
		return planInitial, Reset
	}
	missed := head - from.Seq
	switch {
	case missed == 0:
		return planLive, Update
	case oldest != 0 && oldest <= from.Seq+1 && missed <= uint64(room):
		return planReplay, Update
	}
	return planInitial, Reset
}
