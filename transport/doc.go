// Package transport holds the public names the wire transports share: the
// protocol's actions, error codes and WebSocket close codes
// (docs/protocol.md), and the authorization hooks (Auth). Applications
// import it to configure a transport's Auth and to read the codes their
// clients see; the Go client (client) imports it for the codes. The
// transports themselves live in the subpackages ws (WebSocket), sse
// (Server-Sent Events) and poll (HTTP long-polling), each an http.Handler;
// the codec they share is internal.
package transport
