// Package client is a Go client of fanout's WebSocket transport
// (docs/protocol.md). It keeps one connection to the server, subscribes to
// topics, and hands the caller every topic's snapshot, updates and resets
// in order, through Next.
//
// The client survives failures: after a network error or a close that
// allows it (see Options and the README of the protocol's close codes) it
// reconnects with exponential backoff and full jitter, and resubscribes to
// every topic from the last position it received, so that the server
// replays what was missed from its history, or sends a reset when it
// cannot. Duplicates are dropped and a hole in a topic's sequence makes the
// client resynchronise, so the caller sees each message at most once, in
// order, and never a silent gap.
//
// One client runs one goroutine for its life, plus one reading goroutine
// per connection; Close stops and waits for both.
package client
