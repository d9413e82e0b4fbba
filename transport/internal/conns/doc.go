// Package conns holds what the three transport handlers (transport/ws,
// transport/sse and transport/poll) share about the connections they
// serve: admission under a global and a per-client limit, the kernel
// send buffer of the connections they take over, and the measure of how
// far a connection's writer lags behind its queue. Only those packages
// import it.
package conns
