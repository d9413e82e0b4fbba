// Package bench holds loopback benchmarks of the WebSocket and
// Server-Sent Events transports (transport/ws, transport/sse) beside
// minimal baselines written in the same package: a coder/websocket
// broadcaster and a net/http SSE broadcaster, each with a buffered channel
// per connection and a writer that coalesces everything queued into one
// frame or one flush.
//
// The package has no API: everything is in its test files.
// BenchmarkBroadcast measures the highest broadcast rate without loss,
// BenchmarkLatency the broadcast of one message at a time,
// BenchmarkIdleConnection what an idle subscribed connection costs the
// server (its clients run in a child process), and
// BenchmarkQuietConnections the quiet shape of live pages: many
// connections, few small messages (its servers and clients run in child
// processes, as many as the open-file limit needs). The "Transports"
// section of BENCHMARKS.md at the repository root has the results and the
// commands that produce them.
package bench
