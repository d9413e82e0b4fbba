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
// An idle client costs one goroutine, which connects, reads the
// connection and reconnects; a writer goroutine exists only while commands
// are due, and a pinging one only while an idle check waits for its pong.
// Close stops them all and waits for them.
package client
