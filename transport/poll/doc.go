// Package poll serves fanout topics over HTTP long-polling, for clients
// that can use neither WebSocket nor Server-Sent Events.
//
// A client asks GET /poll?topic=a&epoch=e&since=41 (the path is where the
// application mounts the Handler). The answer is a JSON array of protocol
// objects (docs/protocol.md): at once when the topic has messages after
// (e, 41), else when one arrives or the hold timeout passes (then []).
// Without epoch and since the answer is the topic's snapshot, at once. The
// client polls again with the position of the last message it applied.
// Several topics are polled at once by repeating topic, epoch and since,
// matched by their order.
package poll
