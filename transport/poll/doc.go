// Package poll serves fanout topics over HTTP long-polling, for clients
// that can use neither WebSocket nor Server-Sent Events. Applications
// mount its Handler on the path their pages poll (transport/serve mounts
// it with the other transports).
//
// A client asks GET /poll?topic=a&epoch=e&since=41 (the path is where the
// application mounts the Handler). The answer is a JSON array of protocol
// objects (docs/protocol.md): at once when the topic has messages after
// (e, 41), else when one arrives or the hold timeout passes (then []).
// Without epoch and since the answer is the topic's snapshot, at once. The
// client polls again with the position of the last message it applied.
// Several topics are polled at once by repeating topic, epoch and since,
// matched by their order.
//
// # What the handler bounds
//
// The requests it serves at once (Options.MaxHeld) and, with a key the
// application gives, those of one client (MaxPerClient, ClientKey), the
// topics of a request (MaxTopics), an answer's size (MaxUnsentBytes) and
// its write (WriteTimeout), and what refusals and error objects echo. The
// connections are the HTTP server's: run an http.Server with
// ReadHeaderTimeout, IdleTimeout and MaxHeaderBytes (transport/serve
// does); their kernel buffers are the server's too.
package poll
