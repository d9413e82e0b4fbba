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
	// Occupancy carries the topic's subscriber count (Hub.Occupancy) to
	// the subscribers of a topic configured with TopicConfig.Occupancy:
	// Data is the count as a decimal number (a JSON number), Epoch and
	// Seq are empty, and it is no part of the topic's sequence. It comes
	// after the subscription's first Snapshot, when the count changes,
	// at most once per OccupancyOptions.PushInterval.
	Occupancy
)

// String returns the wire name of k: "update", "snapshot", "reset" or
// "occupancy".
func (k Kind) String() string {
	switch k {
	case Update:
		return "update"
	case Snapshot:
		return "snapshot"
	case Reset:
		return "reset"
	case Occupancy:
		return "occupancy"
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

	// enc caches one wire encoding per delivery form (see Encoding).
	enc [numForms]atomic.Pointer[encoded]
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
	formOccupancy
	numForms
)

func (d Delivery) form() int {
	switch d.Kind {
	case Snapshot:
		return formSnapshot
	case Reset:
		return formReset
	case Occupancy:
		return formOccupancy
	}
	if d.Gap {
		return formGapUpdate
	}
	return formUpdate
}

// An Encoding is a wire format's encoder whose results messages cache, so
// that a message sent to many connections is encoded once per delivery
// form and its bytes are shared. A transport creates one Encoding per wire
// format, once, and encodes every delivery through it. A message caches
// the bytes of the first Encoding that encodes it; another Encoding gets
// correct bytes for the same message, computed on each call. An Encoding
// is safe for concurrent use.
type Encoding struct {
	encode func(Delivery) []byte
}

// encoded is one cached encoding and the Encoding that made it.
type encoded struct {
	by *Encoding
	b  []byte
}

// NewEncoding returns an Encoding that encodes with encode, which must
// return the same bytes for the same delivery every time.
func NewEncoding(encode func(Delivery) []byte) *Encoding {
	return &Encoding{encode: encode}
}

// Encode returns the encoding of d. The returned bytes are shared and
// must not be modified.
func (e *Encoding) Encode(d Delivery) []byte {
	slot := &d.Message.enc[d.form()]
	if c := slot.Load(); c != nil {
		if c.by == e {
			return c.b
		}
		return e.encode(d) // the message is cached for another format
	}
	c := &encoded{by: e, b: e.encode(d)}
	if slot.CompareAndSwap(nil, c) {
		return c.b
	}
	return e.Encode(d)
}
