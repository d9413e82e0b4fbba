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
