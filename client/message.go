package client

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/fanout-go/fanout"
)

// Message is one snapshot, update or reset of a topic, as the server sent
// it. The client hands each to the caller once, in the topic's order.
type Message struct {
	// Kind is fanout.Snapshot (the topic's full state, first after a
	// subscribe), fanout.Update (the next change), fanout.Reset (the
	// client's state of the topic is stale: replace it with Data) or
	// fanout.Occupancy (the topic's subscriber count, in Count).
	Kind  fanout.Kind
	Topic string
	Epoch string
	Seq   uint64
	// Gap is set on an update that follows the previous message of the
	// topic by more than one, a hole the server marks as intended (a
	// conflated topic, or history that could not reach the snapshot).
	Gap bool
	// Data is the published payload, JSON, verbatim; nil when a snapshot
	// or reset carries no state (the topic keeps no snapshot).
	Data json.RawMessage
	// Count is the topic's subscriber count on a fanout.Occupancy message,
	// which the server pushes for the topics it configures so; such a
	// message has no position and no Data, and does not move the topic's
	// Position.
	Count int
}

// Position returns the message's position.
func (m Message) Position() fanout.Position { return fanout.Position{Epoch: m.Epoch, Seq: m.Seq} }

// TopicError is a refusal of a topic by the server: an error message (or
// an unsubscribed message with an error reason) with a code from
// docs/protocol.md, such as forbidden, invalid_topic or limit. Next
// returns it in order with the messages; the client has forgotten the
// topic and does not retry it. The connection and the other topics are
// unaffected: keep calling Next.
//
// The codes unavailable and rate_limited are not returned: the client
// retries those topics itself, with backoff.
type TopicError struct {
	Topic   string // the refused topic; empty if the server named none
	Code    string // the protocol's error code
	Message string // the server's explanation
}

func (e *TopicError) Error() string {
	return fmt.Sprintf("fanout: topic %q refused: %s: %s", e.Topic, e.Code, e.Message)
}

// frameMsg is one object of a server frame, any type.
type frameMsg struct {
	Type    string          `json:"type"`
	Topic   string          `json:"topic"`
	Epoch   string          `json:"epoch"`
	Seq     uint64          `json:"seq"`
	Gap     bool            `json:"gap"`
	Data    json.RawMessage `json:"data"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Reason  string          `json:"reason"`
	Count   int             `json:"count"`
	ID      *int64          `json:"id"`
}

// kind returns the fanout.Kind of a data message, and false for the other
// types.
func (f *frameMsg) kind() (fanout.Kind, bool) {
	switch f.Type {
	case "snapshot":
		return fanout.Snapshot, true
	case "update":
		return fanout.Update, true
	case "reset":
		return fanout.Reset, true
	}
	return 0, false
}

func (f *frameMsg) message(k fanout.Kind) Message {
	data := f.Data
	if bytes.Equal(data, []byte("null")) {
		data = nil
	}
	return Message{Kind: k, Topic: f.Topic, Epoch: f.Epoch, Seq: f.Seq, Gap: f.Gap, Data: data}
}

// parseFrame appends the objects of a text frame, separated by '\n', to
// dst. Empty lines are skipped. The data of the messages decoded by the
// fast path alias frame, which the caller must not reuse; topics and
// epochs go through in, so that a busy topic's strings are shared.
func parseFrame(dst []frameMsg, frame []byte, in interner) ([]frameMsg, error) {
	for len(frame) > 0 {
		line := frame
		if i := bytes.IndexByte(frame, '\n'); i >= 0 {
			line, frame = frame[:i], frame[i+1:]
		} else {
			frame = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		dst = append(dst, frameMsg{})
		f := &dst[len(dst)-1]
		if parseData(line, f, in) {
			continue
		}
		*f = frameMsg{}
		if err := json.Unmarshal(line, f); err != nil {
			return dst[:len(dst)-1], fmt.Errorf("%w: %v", errBadMessage, err)
		}
	}
	return dst, nil
}

// parseData decodes a snapshot, update or reset laid out exactly as the
// server's encoder (internal/protocol.Encode) writes it, without
// reflection or copies. It returns false for anything else (another type, another field order, escaped
// strings, invalid data), which encoding/json then decodes.
func parseData(line []byte, f *frameMsg, in interner) bool {
	p := line
	if !skip(&p, `{"type":"`) {
		return false
	}
	switch {
	case skip(&p, `update"`):
		f.Type = "update"
	case skip(&p, `snapshot"`):
		f.Type = "snapshot"
	case skip(&p, `reset"`):
		f.Type = "reset"
	default:
		return false
	}
	topic, ok1 := field(&p, `,"topic":"`)
	epoch, ok2 := field(&p, `","epoch":"`)
	if !ok1 || !ok2 || !skip(&p, `","seq":`) {
		return false
	}
	n := 0 // seq is below 2^53: at most 16 digits, without leading zeros
	for n < len(p) && n < 16 && p[n] >= '0' && p[n] <= '9' {
		f.Seq = f.Seq*10 + uint64(p[n]-'0')
		n++
	}
	if n == 0 || (n > 1 && p[0] == '0') {
		return false
	}
	p = p[n:]
	f.Gap = skip(&p, `,"gap":true`)
	if !skip(&p, `,"data":`) || len(p) < 2 || p[len(p)-1] != '}' {
		return false
	}
	data := bytes.TrimSpace(p[:len(p)-1])
	if !json.Valid(data) {
		return false
	}
	f.Topic, f.Epoch, f.Data = in.get(topic), in.get(epoch), data[:len(data):len(data)] // an append by the caller must not reach the next message
	return true
}

// skip consumes prefix from *p if *p starts with it.
func skip(p *[]byte, prefix string) bool {
	if !bytes.HasPrefix(*p, []byte(prefix)) {
		return false
	}
	*p = (*p)[len(prefix):]
	return true
}

// field consumes prefix and a string up to the next quote, which it
// leaves, and returns the string. It fails on escapes, control bytes and
// non-ASCII bytes, none of which topic names and epochs contain.
func field(p *[]byte, prefix string) ([]byte, bool) {
	if !skip(p, prefix) {
		return nil, false
	}
	i := bytes.IndexByte(*p, '"')
	if i < 0 {
		return nil, false
	}
	s := (*p)[:i]
	for _, c := range s {
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return nil, false
		}
	}
	*p = (*p)[i:]
	return s, true
}

// interner shares the strings of topic names and epochs between the
// messages of a connection. It holds at most maxInterned strings.
type interner map[string]string

const maxInterned = 1024

func (in interner) get(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	if len(in) >= maxInterned {
		clear(in)
	}
	s := string(b)
	in[s] = s
	return s
}
