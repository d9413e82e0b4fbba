package conns

import (
	"context"
	"net"
)

// connKey is the context key of the connection a request came on.
type connKey struct{}

// WithConn returns ctx carrying c: an http.Server's ConnContext (see
// transport.ConnContext), so that a handler that does not take its
// connection over (long-poll) can still bound it and cut it.
func WithConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// ConnOf returns the connection WithConn put in ctx, or nil.
func ConnOf(ctx context.Context) net.Conn {
	c, _ := ctx.Value(connKey{}).(net.Conn)
	return c
}
