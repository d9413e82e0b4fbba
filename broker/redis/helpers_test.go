package redis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	redisbroker "github.com/fanout-go/fanout/broker/redis"
	"github.com/fanout-go/fanout/broker/redis/internal/redistest"
	"github.com/stretchr/testify/require"
)

// newBroker returns a Broker on srv, bound to a new recording sink,
// closed by the test's cleanup.
func newBroker(t testing.TB, srv *redistest.Server, opts redisbroker.Options) (*redisbroker.Broker, *sink) {
	t.Helper()
	opts.Addr = srv.Addr
	b, err := redisbroker.New(opts)
	require.NoError(t, err)
	s := newSink()
	b.Bind(s)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b, s
}

// sink records what a broker hands over.
type sink struct {
	mu          sync.Mutex // guards pubs and reconnected
	pubs        []fanout.Publication
	reconnected int
	wake        chan struct{} // receives after every call, without blocking
}

func newSink() *sink { return &sink{wake: make(chan struct{}, 1)} }

func (s *sink) Receive(p fanout.Publication) {
	s.mu.Lock()
	s.pubs = append(s.pubs, p)
	s.mu.Unlock()
	s.signal()
}

func (s *sink) Reconnected() {
	s.mu.Lock()
	s.reconnected++
	s.mu.Unlock()
	s.signal()
}

func (s *sink) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *sink) reconnects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reconnected
}

// waitFor waits until the sink holds at least n publications, and returns
// them.
func (s *sink) waitFor(t testing.TB, n int) []fanout.Publication {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		s.mu.Lock()
		if len(s.pubs) >= n {
			out := append([]fanout.Publication(nil), s.pubs...)
			s.mu.Unlock()
			return out
		}
		have := len(s.pubs)
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-timeout.C:
			t.Fatalf("the sink received %d publications, want %d", have, n)
		}
	}
}

// waitReconnected waits until the sink was told of at least n reconnects.
func (s *sink) waitReconnected(t testing.TB, n int) {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for s.reconnects() < n {
		select {
		case <-s.wake:
		case <-timeout.C:
			t.Fatalf("the sink was told of %d reconnects, want %d", s.reconnects(), n)
		}
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
