package protocol

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/fanout-go/fanout"
)

// jsonEncoding is the protocol's JSON encoding, cached on each message.
var jsonEncoding = fanout.NewEncoding(encode)

// Encode returns the JSON object of d (without a trailing newline), as
// docs/protocol.md describes. The encoding is made once per message and
// delivery form and shared by every connection (see fanout.Encoding): the
// returned bytes must not be modified.
func Encode(d fanout.Delivery) []byte { return jsonEncoding.Encode(d) }

func encode(d fanout.Delivery) []byte {
	if d.Kind == fanout.Occupancy {
		return encodeOccupancy(d)
	}
	b := make([]byte, 0, 64+len(d.Topic)+len(d.Epoch)+len(d.Data))
	b = append(b, `{"type":"`...)
	b = append(b, d.Kind.String()...)
	b = append(b, `","topic":`...)
	b = appendString(b, d.Topic)
	b = append(b, `,"epoch":`...)
	b = appendString(b, d.Epoch)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, d.Seq, 10)
	if d.Gap {
		b = append(b, `,"gap":true`...)
	}
	b = append(b, `,"data":`...)
	b = appendData(b, d.Data)
	return append(b, '}')
}

// appendData embeds a payload verbatim when it is JSON. A payload that is
// not JSON is sent as a JSON string rather than breaking the frame, and
// an empty one as null.
func appendData(b, data []byte) []byte {
	switch {
	case len(data) == 0:
		return append(b, "null"...)
	case json.Valid(data):
		if bytes.ContainsAny(data, "\r\n") {
			// A message is one line of a frame or an SSE data field:
			// drop the line breaks of a pretty-printed payload.
			var buf bytes.Buffer
			_ = json.Compact(&buf, data) // cannot fail on valid JSON
			return append(b, buf.Bytes()...)
		}
		return append(b, data...)
	}
	return appendString(b, string(data))
}

// AppendSubscribed appends the reply to a successful subscribe.
func AppendSubscribed(b []byte, topic string, id int64, hasID bool) []byte {
	b = append(b, `{"type":"subscribed","topic":`...)
	b = appendString(b, topic)
	return appendID(b, id, hasID)
}

// AppendUnsubscribed appends the message that ends a subscription, with
// reason ReasonRequested or an error code.
func AppendUnsubscribed(b []byte, topic, reason string, id int64, hasID bool) []byte {
	b = append(b, `{"type":"unsubscribed","topic":`...)
	b = appendString(b, topic)
	b = append(b, `,"reason":`...)
	b = appendString(b, reason)
	return appendID(b, id, hasID)
}

// AppendError appends an error message for a failed command. topic may be
// empty. What it echoes is bounded: the message is clipped to MaxEcho
// bytes, and a topic longer than MaxEchoTopic, which cannot be a valid
// name with the default limits, is left out.
func AppendError(b []byte, e *ProtocolError, topic string, id int64, hasID bool) []byte {
	b = append(b, `{"type":"error","code":`...)
	b = appendString(b, e.Code)
	b = append(b, `,"message":`...)
	b = appendString(b, Clip(e.Message, MaxEcho))
	if topic != "" && len(topic) <= MaxEchoTopic {
		b = append(b, `,"topic":`...)
		b = appendString(b, topic)
	}
	return appendID(b, id, hasID)
}

func appendID(b []byte, id int64, hasID bool) []byte {
	if hasID {
		b = append(b, `,"id":`...)
		b = strconv.AppendInt(b, id, 10)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string. Topic names and epochs need no
// escaping, so the common case copies bytes.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
