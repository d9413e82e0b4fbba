package ws_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShutdown(t *testing.T) {
	t.Parallel()
	const n = 20
	s := newServer(t, nil, ws.Options{})
	var clients []*client
	for range n {
		c := s.dial(t)
		c.subscribe("news")
		c.joined("news")
		clients = append(clients, c)
	}
	require.Equal(t, n, s.h.Len())

	codes := make(chan websocket.StatusCode, n)
	for _, c := range clients {
		go func() { codes <- c.closeStatus() }()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond+testTimeout/4)
	defer cancel()
	require.NoError(t, s.h.Shutdown(ctx))
	for range n {
		assert.Equal(t, websocket.StatusCode(transport.CloseReconnect), <-codes)
	}
	assert.Equal(t, 0, s.h.Len())

	// New requests are refused; Shutdown and Close are idempotent.
	resp := s.get(t, nil)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.NoError(t, s.h.Shutdown(ctx))
	require.NoError(t, s.h.Close())
}

func TestClose(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{})
	c := s.dial(t)
	c.subscribe("news")
	require.Equal(t, "subscribed", c.next().Type)
	done := make(chan websocket.StatusCode, 1)
	go func() { done <- c.closeStatus() }()
	require.NoError(t, s.h.Close())
	assert.Equal(t, websocket.StatusGoingAway, <-done)
	assert.Equal(t, 0, s.h.Len())
	require.NoError(t, s.h.Close())
}

func TestHubClosed(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{})
	c := s.dial(t)
	c.subscribe("news")
	require.Equal(t, "subscribed", c.next().Type)
	require.NoError(t, s.hub.Close())
	assert.Equal(t, websocket.StatusGoingAway, c.closeStatus())
}

func TestShutdownExpired(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{})
	for range 3 {
		s.dial(t)
	}
	require.Eventually(t, func() bool { return s.h.Len() == 3 }, testTimeout, time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, s.h.Shutdown(ctx), context.Canceled)
	assert.Equal(t, 0, s.h.Len())
}

func TestShutdownNoDeadline(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{})
	c := s.dial(t)
	done := make(chan websocket.StatusCode, 1)
	go func() { done <- c.closeStatus() }()
	require.NoError(t, s.h.Shutdown(context.Background()))
	assert.Equal(t, websocket.StatusCode(transport.CloseReconnect), <-done)
}

// TestCloseDuringShutdown: Close cuts a slow drain short.
func TestCloseDuringShutdown(t *testing.T) {
	t.Parallel()
	const n = 10
	s := newServer(t, nil, ws.Options{})
	codes := make(chan websocket.StatusCode, n)
	for range n {
		c := s.dial(t)
		go func() { codes <- c.closeStatus() }()
	}
	require.Eventually(t, func() bool { return s.h.Len() == n }, testTimeout, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour) // one connection per 50ms batch
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- s.h.Shutdown(ctx) }()
	first := <-codes
	assert.Equal(t, websocket.StatusCode(transport.CloseReconnect), first)
	require.NoError(t, s.h.Close())
	require.NoError(t, <-shut)
	for range n - 1 {
		assert.Contains(t, []websocket.StatusCode{transport.CloseReconnect, websocket.StatusGoingAway}, <-codes)
	}
	assert.Equal(t, 0, s.h.Len())
}

func TestConnectAfterHubClosed(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{})
	require.NoError(t, s.hub.Close())
	c := s.dial(t)
	assert.Equal(t, websocket.StatusGoingAway, c.closeStatus())
}

// TestCloseUnresponsive: Close ends connections whose peers never answer
// the close handshake.
func TestCloseUnresponsive(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{})
	for range 3 {
		c := s.dial(t) // never reads, so never answers a close
		c.subscribe("a")
	}
	require.Eventually(t, func() bool { return s.hub.Stats().Subscribers == 3 }, testTimeout, time.Millisecond)
	require.NoError(t, s.h.Close())
	assert.Equal(t, 0, s.h.Len())
	assert.Equal(t, 0, s.hub.Stats().Subscribers)
}
