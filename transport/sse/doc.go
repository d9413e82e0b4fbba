// Package sse serves fanout topics as Server-Sent Events, the stream a
// browser opens with EventSource.
//
// A client opens GET /events?topic=a&topic=b (the path is where the
// application mounts the Handler). Each event carries one protocol object
// (docs/protocol.md) as data, its type as event, and a cursor as id: the
// position of every topic of the stream after this event. When the
// connection drops, the browser reconnects by itself and sends the last id
// as Last-Event-ID; the handler resumes every topic from it, on any node,
// with no session kept on the server. A first connect may carry a cursor
// as the cursor query parameter. EncodeCursor and DecodeCursor are the
// cursor's codec.
//
// Over HTTP/1.1 an idle stream costs no goroutine: the handler takes the
// connection over, and a writer goroutine exists only while there is
// something to write.
package sse
