// Package transport holds what the wire transports share: the JSON codec
// of fanout's protocol (docs/protocol.md), its error and close codes, and
// the authorization hooks. The transports themselves live in the
// subpackages ws (WebSocket), sse (Server-Sent Events) and poll (HTTP
// long-polling), each an http.Handler.
package transport
