// Package sse serves fanout topics as Server-Sent Events, the stream a
// browser opens with EventSource. Applications mount its Handler on the
// path their pages stream from (transport/serve mounts it with the other
// transports).
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
//
// # What the handler bounds
//
// Every stream's queue (Options.QueueSize) and topics (MaxTopics), every
// write (WriteTimeout), how far a stream may fall behind (MaxLag,
// MaxUnsentBytes: beyond them it ends, and the browser resumes), the
// kernel send buffer of the streams it takes over (SendBuffer), the
// streams of the handler (MaxConnections) and, with a key the application
// gives, of one client (MaxPerClient, ClientKey), and what refusals and
// error events echo. The request itself is the HTTP server's: run an
// http.Server with ReadHeaderTimeout and MaxHeaderBytes (transport/serve
// does).
package sse
