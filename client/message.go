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
	// subscribe), fanout.Update (the next change) or fanout.Reset (the
	// client's state of the topic is stale: replace it with Data).
	Kind  fanout.Kind
	Topic string
	Epoch string
	Seq   uint64
	// Gap is set on an update that follows the previous message of the
	// topic by more than one, a hole the server marks as intended (a
	// conflated topic, or history that could not reach the snapshot).
	Gap bool
	// Data is the published payload, JSON, verbatim; nil when a reset
	// carries no state (the topic keeps no snapshot).
	Data json.RawMessage
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
// dst. Empty lines are skipped.
func parseFrame(dst []frameMsg, frame []byte) ([]frameMsg, error) {
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
		if err := json.Unmarshal(line, &dst[len(dst)-1]); err != nil {
			return dst[:len(dst)-1], fmt.Errorf("%w: %v", errBadMessage, err)
		}
	}
	return dst, nil
}
