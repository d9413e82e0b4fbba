// Package ratelimit is the token bucket that paces commands on both ends
// of a WebSocket: transport/ws limits the commands a client may send, and
// the Go client (client) paces the commands it sends so that the server's
// limit does not refuse them. Only those two import it.
package ratelimit
