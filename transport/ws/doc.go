// Package ws serves fanout's protocol (docs/protocol.md) over WebSocket,
// with github.com/coder/websocket. Applications mount its Handler on the
// path their pages connect to (transport/serve mounts it with the other
// transports); the Go client (client) speaks to it.
//
// Each connection is one fanout.Subscriber. An idle connection costs one
// goroutine: its reading loop, which the Handler starts after the upgrade
// and owns (Shutdown and Close wait for it); ServeHTTP returns at once, so
// that net/http drops its own state for the connection. Each command the
// client sends is answered on a short-lived goroutine while the reading
// loop waits, so that the reading loop's stack stays small. A writer
// goroutine exists only while the connection has something to write: it
// drains the subscriber's queue into as few text frames as possible,
// messages separated by '\n', and ends when the queue is empty. Unless
// the connection compresses its messages (Options.CompressionMode), the
// writer frames them itself, header and payload in one write from a
// pooled buffer, so that an idle connection keeps no write buffer but the
// small one coder/websocket writes its control frames through. Keepalive
// pings run on a timer, not a goroutine.
//
// # What the handler bounds
//
// Every connection's queue (Options.QueueSize), subscriptions (MaxTopics),
// command rate and size (CommandRate, CommandBurst, ReadLimit), every
// write (WriteTimeout), how far it may fall behind (MaxLag,
// MaxUnsentBytes: beyond them it is closed with 4000 and its client
// resumes), its kernel send buffer (SendBuffer), the connections of the
// handler (MaxConnections) and, with a key the application gives, of one
// client (MaxPerClient, ClientKey), and what error replies echo. What it
// cannot bound is the HTTP server before the upgrade: run an http.Server
// with ReadHeaderTimeout and MaxHeaderBytes (transport/serve does).
//
// Connections must use HTTP/1.1: coder/websocket does not support
// WebSockets over HTTP/2 (RFC 8441). A request whose ResponseWriter cannot
// be hijacked (an HTTP/2 stream, or a middleware's wrapper that neither
// implements http.Hijacker nor has an Unwrap method) is answered with
// HTTP 501.
package ws
