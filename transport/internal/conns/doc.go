// Package conns is the one connection lifecycle of the three transport
// handlers (transport/ws, transport/sse and transport/poll); only they
// import it. It holds:
//
//   - admission: a global limit and, keyed by a function of the request
//     the application gives, a limit per client (Admission), with one
//     refusal (Refuse: 503 and Retry-After);
//   - tracking: the open connections or held requests (Set), which
//     Shutdown and Close reach even when they arrive as the handler closes;
//   - the paced drain of every Shutdown (Pace): batches every 50ms over
//     three quarters of the time before the deadline, then the rest cut;
//   - the on-demand writer of the streaming transports (Writer): a
//     goroutine only while there is something to write;
//   - the bounds on a client that does not keep up: the lag of a writer
//     behind its queue (Lag, Since), the kernel send buffer of the
//     connections a handler takes over (SetSendBuffer), and the reset that
//     drops what the kernel holds for a connection cut because it is
//     stuck (Discard).
//
// So Shutdown(ctx) means one thing in every handler: refuse new requests,
// end the open ones gracefully in paced batches (WebSocket: close 4001;
// SSE: write what is queued, then end; long-poll: answer with what has
// arrived), wait for them, and when ctx ends first cut the rest and return
// ctx.Err(). Close ends everything at once (WebSocket: 1001, cut after a
// 2-second grace; SSE and long-poll: cut) and waits; both may be called
// more than once and together.
package conns
