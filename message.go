package fanout

import (
	"sync/atomic"
	"time"
)

// Kind says how a delivery relates to the subscriber's view of its topic.
type Kind uint8

const (
	// Update is the next message of the topic: its Seq is one more than
	// the previous delivery of the topic (or more, when Gap is set).
	Update Kind = iota
	// Snapshot is the topic's full state at Seq, delivered first on join.
	Snapshot
	// Reset replaces the subscriber's state of the topic: a resume could
	// not be served from history (or named another epoch). Data is the
	// snapshot at Seq, or nil when the topic keeps none.
	Reset
)

// String returns the wire name of k: "update", "snapshot" or "reset".
func (k Kind) String() string {
	switch k {
	case Update:
		return "update"
	case Snapshot:
		return "snapshot"
	case Reset:
		return "reset"
	}
	return "unknown"
}

// Message is one publication on a topic. A Message is immutable once
// published and shared by every subscriber that receives it: do not modify
// it or its Data.
type Message struct {
	Topic string    // the topic name
	Epoch string    // the topic's epoch: a new one whenever its history is lost
	Seq   uint64    // the position in the topic, from 1 within an epoch
	Time  time.Time // when it was published on this hub
	Data  []byte    // the payload, as published

	// enc caches one wire encoding per delivery form (see Delivery.Encoded).
	enc [numForms]atomic.Pointer[[]byte]
}

// Position returns the message's position.
func (m *Message) Position() Position { return Position{Epoch: m.Epoch, Seq: m.Seq} }

// Delivery is one message as it reaches one subscriber.
type Delivery struct {
	*Message
	Kind Kind
	// Gap is set on an Update when the subscriber chose a lossy overflow
	// policy and older updates of the topic were conflated away, or when
	// the updates after the snapshot the subscriber joined from were no
	// longer all in history or did not all fit its queue. The updates
	// between the previous delivery and this one are missing by design,
	// and marked so.
	Gap bool
}

const (
	formUpdate = iota
	formGapUpdate
	formSnapshot
	formReset
	numForms
)

func (d Delivery) form() int {
	switch d.Kind {
	case Snapshot:
		return formSnapshot
	case Reset:
		return formReset
	}
	if d.Gap {
		return formGapUpdate
	}
	return formUpdate
}

// Encoded returns encode(d), computing it at most once (barring a race)
// per message and delivery form, so that a message sent to many connections
// is encoded once and its bytes are shared. The cache does not tell
// encoders apart: a program must pass the same encode function, for one
// wire format, to every call. The returned bytes must not be modified.
func (d Delivery) Encoded(encode func(Delivery) []byte) []byte {
	slot := &d.Message.enc[d.form()]
	if p := slot.Load(); p != nil {
		return *p
	}
	b := encode(d)
	if slot.CompareAndSwap(nil, &b) {
		return b
	}
	return *slot.Load()
}
