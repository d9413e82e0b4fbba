package bench

import (
	"bytes"
	"strconv"
	"time"
)

// The benchmark topic. Every message carries its publish time, in
// nanoseconds on the monotonic clock since clockBase, as {"t":...}, so that
// a client in the same process measures publish->receive latency.
const benchTopic = "bench"

var clockBase = time.Now()

// nanotime returns the monotonic time since clockBase.
func nanotime() int64 { return int64(time.Since(clockBase)) }

// padding, when set, pads every payload with a "p" field after "t", to
// give the payloads a size (see BenchmarkQuietConnections). Benchmarks
// that set it run one at a time and reset it.
var padding []byte

// appendPayload appends the published payload of a message sent at t.
func appendPayload(b []byte, t int64) []byte {
	b = append(b, `{"t":`...)
	b = strconv.AppendInt(b, t, 10)
	if len(padding) > 0 {
		b = append(b, `,"p":"`...)
		b = append(b, padding...)
		b = append(b, '"')
	}
	return append(b, '}')
}

// baselineEpoch stands in for a topic epoch in the baseline's messages, so
// that they have the same layout and length as fanout's.
const baselineEpoch = "baseline"

// appendUpdate appends the baseline's wire message: the same JSON object
// as protocol.Encode writes for an update.
func appendUpdate(b []byte, seq uint64, t int64) []byte {
	b = append(b, `{"type":"update","topic":"`+benchTopic+`","epoch":"`+baselineEpoch+`","seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"data":`...)
	b = appendPayload(b, t)
	return append(b, '}')
}

// Kinds of message a client tells apart.
const (
	kindOther = iota
	kindUpdate
	kindSnapshot
	kindSubscribed
)

var (
	typeUpdate     = []byte(`{"type":"update"`)
	typeSnapshot   = []byte(`{"type":"snapshot"`)
	typeSubscribed = []byte(`{"type":"subscribed"`)
	fieldSeq       = []byte(`"seq":`)
	fieldT         = []byte(`"t":`)
)

// parseMessage reads the kind, seq and publish time of one wire message
// without allocating. It relies on the field order both servers write.
func parseMessage(b []byte) (kind int, seq uint64, t int64) {
	switch {
	case bytes.HasPrefix(b, typeUpdate):
		kind = kindUpdate
	case bytes.HasPrefix(b, typeSnapshot):
		kind = kindSnapshot
	case bytes.HasPrefix(b, typeSubscribed):
		return kindSubscribed, 0, 0
	default:
		return kindOther, 0, 0
	}
	i := bytes.Index(b, fieldSeq)
	if i < 0 {
		return kindOther, 0, 0
	}
	b = b[i+len(fieldSeq):]
	seq, b = parseUint(b)
	if i = bytes.Index(b, fieldT); i >= 0 {
		var v uint64
		v, _ = parseUint(b[i+len(fieldT):])
		t = int64(v)
	}
	return kind, seq, t
}

func parseUint(b []byte) (uint64, []byte) {
	var v uint64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + uint64(b[i]-'0')
	}
	return v, b[i:]
}
