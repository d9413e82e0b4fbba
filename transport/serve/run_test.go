package serve_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/poll"
	"github.com/fanout-go/fanout/transport/serve"
)

// running is a Run under way on a loopback port.
type running struct {
	url  string
	hub  *fanout.Hub
	set  *serve.Set
	srv  *http.Server
	stop context.CancelFunc
	done chan error
	log  *bytes.Buffer // Run's log; read it once done has answered
}

// startRun runs a set like the examples do, with srv adjusted by adjust,
// until the test stops it or ends.
func startRun(t *testing.T, opts serve.Options, ropts serve.RunOptions, adjust func(*http.Server)) *running {
	t.Helper()
	hub := fanout.NewHub(fanout.Options{})
	t.Cleanup(func() { hub.Close() })
	set := serve.New(hub, opts)
	mux := http.NewServeMux()
	set.Mount(mux, "")
	mux.Handle("GET /readyz", set.Ready())
	srv := serve.NewServer(mux)
	if adjust != nil {
		adjust(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{url: "http://" + ln.Addr().String(), hub: hub, set: set, srv: srv, stop: cancel,
		done: make(chan error, 1), log: new(bytes.Buffer)}
	ropts.Log = slog.New(slog.NewTextHandler(r.log, nil))
	go func() { r.done <- serve.Run(ctx, ln, srv, set, ropts) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
		http.DefaultClient.CloseIdleConnections()
	})
	return r
}

// wait returns Run's error, failing the test if Run does not return.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(testTimeout):
		t.Fatal("Run did not return")
		return nil
	}
}

func TestNewServerSetsTheLimits(t *testing.T) {
	srv := serve.NewServer(http.NotFoundHandler())
	assert.Positive(t, srv.ReadHeaderTimeout)
	assert.Positive(t, srv.ReadTimeout)
	assert.Positive(t, srv.IdleTimeout)
	assert.Positive(t, srv.MaxHeaderBytes)
	assert.Less(t, srv.MaxHeaderBytes, http.DefaultMaxHeaderBytes)
	assert.NotNil(t, srv.ConnContext, "transport.ConnContext, for the long-poll handler")
	assert.Zero(t, srv.WriteTimeout, "a WriteTimeout would end SSE streams and held polls")
}

// TestMaxHeaderBytesTakesTheLargestDefaultRequest sends the largest
// request line the transports' defaults allow: a long-poll of 100 topics
// (poll's MaxTopics) of 200 bytes (the hub's MaxTopicLength), each byte
// escaped to three, with a position each. NewServer's MaxHeaderBytes must
// let it through (net/http answers 431 otherwise).
func TestMaxHeaderBytesTakesTheLargestDefaultRequest(t *testing.T) {
	r := startRun(t, serve.Options{}, serve.RunOptions{}, nil)
	q := url.Values{}
	for i := range 100 {
		q.Add("topic", fmt.Sprintf("%03d", i)+strings.Repeat("@", 197))
		q.Add("epoch", "abcdefghijkl")
		q.Add("since", "18446744073709551615")
	}
	u := r.url + "/poll?" + q.Encode()
	require.Greater(t, len(u), 60<<10, "a request line of over 60 KiB")
	code, body := get(t, "GET", u)
	assert.Equal(t, http.StatusOK, code, "%.200s", body)
}

// TestReadTimeoutSparesHeldPolls checks what NewServer's doc says: a
// long-poll held past the server's ReadTimeout is not cut by it (net/http
// lifts the read deadline once the request is read). Were it cut, the
// request's context would be done when the handler returns, not after.
func TestReadTimeoutSparesHeldPolls(t *testing.T) {
	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()
	set := serve.New(hub, serve.Options{Poll: poll.Options{HoldTimeout: 300 * time.Millisecond}})
	mux := http.NewServeMux()
	set.Mount(mux, "")
	held := make(chan error, 1)
	srv := serve.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if r.URL.Query().Has("since") {
			held <- r.Context().Err() // as the handler returns
		}
	}))
	srv.ReadTimeout = 10 * time.Millisecond // well inside the hold
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve.Run(ctx, ln, srv, set, serve.RunOptions{}) }()
	defer func() {
		cancel()
		assert.NoError(t, <-done)
		http.DefaultClient.CloseIdleConnections()
	}()

	code, body := get(t, "GET", heldPoll(t, "http://"+ln.Addr().String()))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "[]\n", body, "answered empty at the end of the hold")
	assert.NoError(t, <-held, "the request's context was not cut by ReadTimeout")
}

// TestRunDrainsHeldPolls checks that Run answers a held long-poll at the
// drain instead of waiting for it until the deadline (as a Shutdown of the
// http.Server before the set's would), and returns nil.
func TestRunDrainsHeldPolls(t *testing.T) {
	r := startRun(t, serve.Options{Poll: poll.Options{HoldTimeout: time.Hour}},
		serve.RunOptions{ShutdownTimeout: time.Hour}, nil)
	code, _ := get(t, "GET", r.url+"/readyz")
	require.Equal(t, http.StatusOK, code)

	held := heldPoll(t, r.url)
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get(held)
		if !assert.NoError(t, err) {
			answered <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	require.Eventually(t, func() bool { return r.hub.Stats().Subscribers == 1 }, testTimeout, time.Millisecond)

	r.stop()
	require.NoError(t, r.wait(t))
	assert.Equal(t, http.StatusOK, <-answered)
	assert.NotContains(t, r.log.String(), "cut", "everything drained before the deadline")
	_, err := http.Get(r.url + "/readyz")
	assert.Error(t, err, "the listener is closed")
}

// TestRunDrainDelay checks that during RunOptions.DrainDelay the node
// still serves, and its readiness handler answers 503.
func TestRunDrainDelay(t *testing.T) {
	waiting := make(chan time.Duration, 1)
	release := make(chan time.Time)
	defer serve.SetAfter(func(d time.Duration) <-chan time.Time {
		waiting <- d
		return release
	})()
	r := startRun(t, serve.Options{}, serve.RunOptions{DrainDelay: 5 * time.Second}, nil)
	code, _ := get(t, "GET", r.url+"/readyz")
	require.Equal(t, http.StatusOK, code)

	r.stop()
	assert.Equal(t, 5*time.Second, <-waiting)
	code, body := get(t, "GET", r.url+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "draining\n", body)
	code, _ = get(t, "GET", r.url+"/fanout.js")
	assert.Equal(t, http.StatusOK, code, "still serving during the delay")

	close(release)
	require.NoError(t, r.wait(t))
}

// TestRunReturnsWhatStopsServing: a listener that fails ends Run with its
// error, after the set is closed.
func TestRunReturnsWhatStopsServing(t *testing.T) {
	hub := fanout.NewHub(fanout.Options{})
	defer hub.Close()
	set := serve.New(hub, serve.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	err = serve.Run(context.Background(), ln, serve.NewServer(http.NotFoundHandler()), set, serve.RunOptions{})
	require.Error(t, err)
	assert.True(t, errors.Is(err, net.ErrClosed), "%v", err)
	assert.Equal(t, http.StatusServiceUnavailable, readyCode(set), "not ready once Run has returned")
}

// TestSlowlorisIsCut opens many connections that each send half a request
// and then nothing: the server's ReadHeaderTimeout closes every one (with
// net/http's zero value they would be held for ever).
func TestSlowlorisIsCut(t *testing.T) {
	r := startRun(t, serve.Options{}, serve.RunOptions{}, func(srv *http.Server) {
		srv.ReadHeaderTimeout = 50 * time.Millisecond
	})
	const clients = 200
	conns := make([]net.Conn, 0, clients)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range clients {
		c, err := net.Dial("tcp", r.url[len("http://"):])
		require.NoError(t, err)
		conns = append(conns, c)
		_, err = io.WriteString(c, "GET /readyz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		require.NoError(t, err)
	}
	for i, c := range conns {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(testTimeout)))
		_, err := io.ReadAll(c)
		var ne net.Error
		require.False(t, errors.As(err, &ne) && ne.Timeout(), "connection %d was not cut by the server: %v", i, err)
	}
	code, _ := get(t, "GET", r.url+"/readyz")
	assert.Equal(t, http.StatusOK, code, "the server serves on")
}

// TestRunWork checks RunOptions.Work: it runs while the server serves,
// until after the drain, and its failure ends the run.
func TestRunWork(t *testing.T) {
	t.Run("stops after the drain", func(t *testing.T) {
		var set *serve.Set // the run's, set before Work can end
		seen := make(chan int, 1)
		r := startRun(t, serve.Options{}, serve.RunOptions{Work: func(ctx context.Context) error {
			<-ctx.Done()
			seen <- readyCode(set) // the readiness when Work is stopped
			return ctx.Err()       // context.Canceled: not an error of the run
		}}, nil)
		set = r.set
		code, _ := get(t, "GET", r.url+"/readyz")
		require.Equal(t, http.StatusOK, code)
		r.stop()
		require.NoError(t, r.wait(t))
		assert.Equal(t, http.StatusServiceUnavailable, <-seen, "stopped after the drain began")
	})
	t.Run("its error ends the run", func(t *testing.T) {
		broke := errors.New("feed broke")
		r := startRun(t, serve.Options{}, serve.RunOptions{Work: func(context.Context) error { return broke }}, nil)
		err := r.wait(t)
		assert.ErrorIs(t, err, broke)
		assert.Equal(t, http.StatusServiceUnavailable, readyCode(r.set))
		_, err = http.Get(r.url + "/readyz")
		assert.Error(t, err, "the listener is closed")
	})
	t.Run("returning early is an error", func(t *testing.T) {
		r := startRun(t, serve.Options{}, serve.RunOptions{Work: func(context.Context) error { return nil }}, nil)
		err := r.wait(t)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "Work returned before the context was done")
	})
}
