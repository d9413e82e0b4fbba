// Package client is a Go client of fanout's WebSocket transport
// (docs/protocol.md, served by transport/ws). It keeps one connection to
// the server, subscribes to topics, and hands the caller each topic's
// snapshot, updates and resets in order, through Next.
//
// The client survives failures. After a network error, a silent
// connection, or a close code the protocol marks as transient (1001, 4000
// slow consumer, 4001 drain, ...; see Options.MinBackoff for the delays)
// it reconnects with exponential backoff and full jitter, and resubscribes
// every topic from the last message it received, so that the server
// replays what was missed from its history, or sends a reset when it
// cannot. It drops duplicates, and a message that does not follow its
// topic's last position makes it reconnect and resume, so the caller sees
// each message at most once, in order, and never a silent gap. It stops
// for good after a close that retrying would not change (1000, 1008, an
// unknown code) or a refused handshake (*RefusedError), and forgets a
// topic the server refuses (*TopicError).
//
// Position and Resume let a process save where it was and carry on from
// there in a later one.
//
// One client runs one goroutine for its life, plus one reading goroutine
// per connection; Close stops both and waits for them.
package client
