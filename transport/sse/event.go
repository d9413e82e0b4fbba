package sse

import (
	"bytes"

	"github.com/fanout-go/fanout/internal/protocol"
)

// appendEvent appends one event: the cursor as id, the type as event and
// the JSON object as data.
func appendEvent(b []byte, c *cursor, typ string, data []byte) []byte {
	b = append(b, "id: "...)
	b = c.appendTo(b)
	b = append(b, "\nevent: "...)
	b = append(b, typ...)
	b = append(b, '\n')
	b = appendData(b, data)
	return append(b, '\n')
}

// appendErrorEvent appends an error event for topic, without an id: the
// browser keeps the last one.
func appendErrorEvent(b []byte, pe *protocol.ProtocolError, topic string) []byte {
	b = append(b, "event: error\n"...)
	b = appendData(b, protocol.AppendError(nil, pe, topic, 0, false))
	return append(b, '\n')
}

// appendData appends data as data: lines. JSON may hold line breaks
// between tokens; each becomes a line of its own, which the browser joins
// with "\n" again, so the object it parses is the same.
func appendData(b, data []byte) []byte {
	if bytes.IndexByte(data, '\n') < 0 && bytes.IndexByte(data, '\r') < 0 {
		b = append(b, "data: "...)
		b = append(b, data...)
		return append(b, '\n')
	}
	for {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			b = append(b, "data: "...)
			b = append(b, data...)
			return append(b, '\n')
		}
		b = append(b, "data: "...)
		b = append(b, data[:i]...)
		b = append(b, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
}
