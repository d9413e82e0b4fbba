// Package serve serves the whole set of fanout's handlers as one, and runs
// the http.Server in front of them. Applications import it to put a hub on
// the web in a few lines; the examples (examples/scoreboard,
// examples/ticker, broker/redis/example/gateway) do. Applications that mount
// only some transports use transport/ws, transport/sse and transport/poll
// directly, as this package does.
//
// A [Set] holds the WebSocket, Server-Sent Events and long-poll handlers of
// one hub; [Set.Mount] puts them and the browser client (package web) on a
// mux at the paths the documentation uses, [Set.Shutdown] drains them
// all at once across one deadline, and [Set.Ready] is a readiness handler
// for a load balancer: 200 while serving, 503 once the drain has begun.
// [Set.Handlers] hands the three handlers to package metrics. [Run] does
// the rest of a process's life: serve, and on a signal mark the node not
// ready, drain, close.
//
//	set := serve.New(hub, serve.Options{})
//	mux := http.NewServeMux()
//	set.Mount(mux, "")                      // /ws, /events, /poll, /fanout.js
//	mux.Handle("GET /readyz", set.Ready())
//	ln, err := net.Listen("tcp", ":8080")
//	...
//	err = serve.Run(ctx, ln, serve.NewServer(mux), set, serve.RunOptions{})
//
// # What the library bounds, and what the server must
//
// Once a request reaches a handler, the library bounds what it costs:
// connections and held polls admitted at once, topics per connection,
// commands per second, message and queue sizes, and the slow consumer,
// which is ended rather than buffered for (see each transport's Options).
// It cannot bound what happens before: a client that sends its headers a
// byte a minute, or opens keep-alive connections and sends nothing, holds
// a connection and a goroutine of the http.Server, not of a handler. So
// the application's http.Server must set ReadHeaderTimeout, IdleTimeout
// and MaxHeaderBytes, whose zero values in net/http mean no limit or a
// large one; [NewServer] sets them, and ReadTimeout for the application's
// other handlers, and says why WriteTimeout stays zero. What neither
// bounds is the number of connections one address may open: that is for
// the proxy or the firewall in front, which alone knows the client.
package serve
