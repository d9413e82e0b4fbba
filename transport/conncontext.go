package transport

import (
	"context"
	"net"

	"github.com/fanout-go/fanout/transport/internal/conns"
)

// ConnContext is for http.Server.ConnContext. The WebSocket and SSE
// handlers take their connections over from net/http, so they cap each
// one's kernel send buffer and cut a stuck one with a reset, which drops
// what its client never read. A long-poll's connection stays net/http's;
// with ConnContext set, the long-poll handler reaches it and does the
// same. Without it, an answer a client never reads stays in the kernel
// (up to megabytes per connection) until the connection times out.
// serve.NewServer sets it.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return conns.WithConn(ctx, c)
}
