package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/client"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/require"
)

// testTimeout bounds every wait of a test.
const testTimeout = 20 * time.Second

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// server is a loopback HTTP server whose WebSocket handler (and hub) the
// test can replace, to cut or drain every connection while the clients
// reconnect to the replacement.
type server struct {
	t    testing.TB
	opts ws.Options
	srv  *httptest.Server
	url  string

	mu   sync.Mutex // guards hub, h and down
	hub  *fanout.Hub
	h    *ws.Handler
	down bool // answer 503 to every request
}

// newServer starts a server on hub with opts and registers its teardown.
// Clients dialled afterwards are torn down first.
func newServer(t testing.TB, hub *fanout.Hub, opts ws.Options) *server {
	t.Helper()
	s := &server{t: t, opts: opts, hub: hub, h: ws.NewHandler(hub, opts)}
	s.srv = httptest.NewServer(s)
	s.url = "ws" + strings.TrimPrefix(s.srv.URL, "http")
	t.Cleanup(func() {
		s.mu.Lock()
		h := s.h
		s.mu.Unlock()
		require.NoError(t, h.Close())
		s.srv.Close()
	})
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h, down := s.h, s.down
	s.mu.Unlock()
	if down {
		http.Error(w, "down for a test", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// setDown makes the server answer 503 to every request (and cuts the open
// connections), or serve again.
func (s *server) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
	if down {
		s.cut()
	}
}

// replace installs a new handler on hub (the current one when nil) and
// returns the old handler, still holding its connections.
func (s *server) replace(hub *fanout.Hub) *ws.Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	if hub != nil {
		s.hub = hub
	}
	old := s.h
	s.h = ws.NewHandler(s.hub, s.opts)
	return old
}

// cut closes every connection with 1001 (going away).
func (s *server) cut() { require.NoError(s.t, s.replace(nil).Close()) }

// drain closes every connection with 4001 (reconnect), like a deploy. Its
// context has no deadline, so Shutdown paces at its default rate (1000
// connections per second) rather than over the time left.
func (s *server) drain() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	require.NoError(s.t, s.replace(nil).Shutdown(ctx))
}

func newHub(t testing.TB, history int) *fanout.Hub {
	hub := fanout.NewHub(fanout.Options{TopicConfig: func(string) fanout.TopicConfig {
		return fanout.TopicConfig{HistorySize: history}
	}})
	t.Cleanup(func() { _ = hub.Close() })
	return hub
}

// states records the client's state changes.
type states struct {
	mu     sync.Mutex // guards errs
	errs   []error    // the errors of Disconnected
	change chan client.State
}

func newStates() *states { return &states{change: make(chan client.State, 1024)} }

func (s *states) on(st client.State, err error) {
	if st == client.Disconnected {
		s.mu.Lock()
		s.errs = append(s.errs, err)
		s.mu.Unlock()
	}
	select {
	case s.change <- st:
	default:
	}
}

// disconnects returns the errors that ended connections.
func (s *states) disconnects() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

// dial connects a client with fast backoff and registers its Close.
func dial(t testing.TB, url string, opts client.Options) *client.Client {
	t.Helper()
	if opts.MinBackoff == 0 {
		opts.MinBackoff, opts.MaxBackoff = time.Millisecond, 20*time.Millisecond
	}
	c, err := client.Dial(ctxT(t), url, opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// next returns the next message, failing the test on an error.
func next(t testing.TB, c *client.Client) client.Message {
	t.Helper()
	m, err := c.Next(ctxT(t))
	require.NoError(t, err)
	return m
}

// waitFor reads state changes until want.
func (s *states) waitFor(t testing.TB, want client.State) {
	t.Helper()
	ctx := ctxT(t)
	for {
		select {
		case st := <-s.change:
			if st == want {
				return
			}
		case <-ctx.Done():
			t.Fatalf("no %v state: %v", want, ctx.Err())
		}
	}
}

// hasError reports whether one of errs matches target.
func hasError(errs []error, target error) bool {
	for _, err := range errs {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
