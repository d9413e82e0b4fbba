package sse_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/sse"
)

// TestSlowConsumer stops reading a stream until its queue overflows: the
// server ends the stream after what it could write, and a reconnect with
// the last id, here to another handler of the same hub, gets the rest.
func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{TopicConfig: func(string) fanout.TopicConfig {
		return fanout.TopicConfig{HistorySize: 4096}
	}})
	s := newServer(t, hub, sse.Options{QueueSize: 4})
	roomy := newServer(t, hub, sse.Options{QueueSize: 8192})
	c := s.open(t, []string{"t"})
	require.NoError(t, c.c.(*net.TCPConn).SetReadBuffer(4096))
	payload := []byte(`"` + strings.Repeat("x", 8<<10) + `"`)
	for i := 0; hub.Stats().SlowConsumers == 0; i++ {
		require.Less(t, i, 4000, "the queue never overflowed")
		_, err := hub.Publish("t", payload)
		require.NoError(t, err)
	}
	head := hub.Stats().Published
	var last uint64
	for _, e := range c.readUntilEOF(t) {
		m := e.msg(t)
		if m.Type == "update" {
			require.Equal(t, last+1, m.Seq)
		}
		last = m.Seq
	}
	require.Less(t, last, head)
	c = roomy.resume(t, []string{"t"}, c.lastID)
	for last < head {
		m := c.nextMsg(t)
		require.Equal(t, "update", m.Type)
		require.Equal(t, last+1, m.Seq)
		last = m.Seq
	}
}

func TestShutdownDrains(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{})
	conns := make([]*conn, 5)
	for i := range conns {
		conns[i] = s.open(t, []string{"t"})
		conns[i].nextMsg(t)
	}
	publish(t, hub, "t", 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.h.Shutdown(ctx) }()
	for _, c := range conns {
		events := c.readUntilEOF(t)
		require.Len(t, events, 3, "the queued updates are written before the stream ends")
	}
	require.NoError(t, <-done)
	assert.Equal(t, 0, s.h.Len())
	refused := s.dial(t, query([]string{"t"}))
	assert.Equal(t, 503, refused.status)
	require.NoError(t, s.h.Shutdown(ctx), "again")
	require.NoError(t, s.h.Close())
}

func TestCloseIsIdempotent(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{})
	c := s.open(t, []string{"t"})
	c.nextMsg(t)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { assert.NoError(t, s.h.Close()) })
	}
	wg.Wait()
	c.readUntilEOF(t)
	assert.Equal(t, 0, s.h.Len())
	// A cancelled Shutdown after Close returns at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.h.Shutdown(ctx)
}

// TestIdleStreamsHoldNoGoroutine opens idle HTTP/1.1 streams from raw
// connections (so the client side holds no goroutine either) and checks
// that the server holds none for them.
func TestIdleStreamsHoldNoGoroutine(t *testing.T) {
	const n = 200
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{})
	_, err := hub.PublishState("t", []byte(`{}`), []byte(`{"score":"0-0"}`))
	require.NoError(t, err)
	warm := s.open(t, []string{"t"}) // starts the heartbeat goroutine
	warm.nextMsg(t)
	runtime.GC()
	base := runtime.NumGoroutine()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// Keep only the client's net.Conn, so that the heap delta is mostly
	// the server's.
	raw := make([]net.Conn, n)
	for i := range raw {
		c := s.dialSmall(t, query([]string{"t"}))
		c.nextMsg(t)
		raw[i] = c.c
	}
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= base+2 }, testTimeout, time.Millisecond,
		"goroutines: base %d, now %d", base, runtime.NumGoroutine())
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("%d idle streams: %d goroutines more; heap %+d bytes per stream (with the client's net.Conn)",
		n, runtime.NumGoroutine()-base, (int64(after.HeapAlloc)-int64(before.HeapAlloc))/n)

	// They are alive: an update reaches all of them.
	publish(t, hub, "t", 1)
	for _, c := range raw {
		r := newReader(c)
		e, err := r.next()
		require.NoError(t, err)
		assert.Equal(t, "update", e.msg(t).Type)
	}
}

func TestHTTP2(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{})
	h := sse.NewHandler(hub, sse.Options{Heartbeat: 5 * time.Millisecond})
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(func() {
		_ = h.Close()
		srv.Close()
	})
	_, err := hub.PublishState("t", []byte(`{}`), []byte(`{"n":1}`))
	require.NoError(t, err)

	get := func(lastID string) (*http.Response, *reader) {
		req, err := http.NewRequestWithContext(ctxTimeout(t), http.MethodGet, srv.URL+"/?topic=t", nil)
		require.NoError(t, err)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { _ = resp.Body.Close() })
		require.Equal(t, 2, resp.ProtoMajor)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
		return resp, newReader(resp.Body)
	}
	resp, r := get("")
	assert.Equal(t, "snapshot", r.nextMsg(t).Type)
	publish(t, hub, "t", 2)
	assert.Equal(t, uint64(2), r.nextMsg(t).Seq)
	assert.Equal(t, uint64(3), r.nextMsg(t).Seq)
	require.Eventually(t, func() bool { // heartbeats on an idle stream
		_, _ = r.br.Peek(1)
		return r.br.Buffered() > 0 || r.pings > 0
	}, testTimeout, time.Millisecond)
	_ = resp.Body.Close() // cut

	publish(t, hub, "t", 1)
	_, r2 := get(r.lastID)
	m := r2.nextMsg(t)
	assert.Equal(t, "update", m.Type)
	assert.Equal(t, uint64(4), m.Seq)
	require.Eventually(t, func() bool { return h.Len() == 1 }, testTimeout, time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	require.NoError(t, h.Shutdown(ctx))
	for {
		if _, err := r2.next(); err != nil {
			break
		}
	}
	assert.Equal(t, 0, h.Len())
}

// A client that went away is found by a failed heartbeat write, with no
// message published.
func TestDeadClientFoundByHeartbeat(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{Heartbeat: time.Millisecond})
	c := s.open(t, []string{"t"})
	c.nextMsg(t)
	require.Equal(t, 1, s.h.Len())
	_ = c.c.Close()
	require.Eventually(t, func() bool { return s.h.Len() == 0 }, testTimeout, time.Millisecond)
}

// TestConcurrentShutdownsAllReturn has two Shutdowns wait for a request
// still being served: when it ends, both must return, not only the one
// that took the wake-up.
func TestConcurrentShutdownsAllReturn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := fanout.NewHub(fanout.Options{})
		defer hub.Close()
		release := make(chan struct{})
		h := sse.NewHandler(hub, sse.Options{Auth: transport.Auth{
			Subscribe: func(*http.Request, string) error { <-release; return nil },
		}})
		served := make(chan struct{})
		go func() {
			defer close(served)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/?topic=t", nil))
		}()
		synctest.Wait() // the request waits in the hook

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errs := make(chan error, 2)
		for range 2 {
			go func() { errs <- h.Shutdown(ctx) }()
		}
		synctest.Wait() // both wait for the request
		close(release)
		<-served
		synctest.Wait()

		returned := 0
		for len(errs) > 0 {
			require.NoError(t, <-errs)
			returned++
		}
		cancel() // frees a Shutdown that missed its wake-up, so that the test ends
		assert.Equal(t, 2, returned, "every Shutdown returns once the handler is idle")
		require.NoError(t, h.Close())
	})
}
