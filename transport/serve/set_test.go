package serve_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/poll"
	"github.com/fanout-go/fanout/transport/serve"
)

// testTimeout bounds what a test waits for; reaching it is a failure.
const testTimeout = 30 * time.Second

// newSet returns a set on a fresh hub, mounted under prefix on an
// httptest server, all closed when the test ends.
func newSet(t *testing.T, prefix string, opts serve.Options) (*serve.Set, *httptest.Server) {
	t.Helper()
	hub := fanout.NewHub(fanout.Options{})
	set := serve.New(hub, opts)
	mux := http.NewServeMux()
	set.Mount(mux, prefix)
	mux.Handle("GET /readyz", set.Ready())
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		assert.NoError(t, set.Close())
		ts.Close()
		http.DefaultClient.CloseIdleConnections()
		hub.Close()
	})
	return set, ts
}

// get returns the status and body of a request to url.
func get(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// heldPoll returns the URL of a long-poll of topic a that waits for news:
// at the position the topic's snapshot poll gives.
func heldPoll(t *testing.T, base string) string {
	t.Helper()
	code, body := get(t, "GET", base+"/poll?topic=a")
	require.Equal(t, http.StatusOK, code, body)
	var msgs []struct {
		Epoch string `json:"epoch"`
		Seq   uint64 `json:"seq"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &msgs))
	require.Len(t, msgs, 1, body)
	return fmt.Sprintf("%s/poll?topic=a&epoch=%s&since=%d", base, url.QueryEscape(msgs[0].Epoch), msgs[0].Seq)
}

// readyCode returns the status set's readiness handler answers.
func readyCode(set *serve.Set) int {
	w := httptest.NewRecorder()
	set.Ready().ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	return w.Code
}

func TestMountServesEveryTransport(t *testing.T) {
	for _, prefix := range []string{"", "/live"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			_, ts := newSet(t, prefix, serve.Options{})
			base := ts.URL + prefix

			code, body := get(t, "GET", base+"/fanout.js")
			assert.Equal(t, http.StatusOK, code)
			assert.Contains(t, body, "export class FanoutClient")

			code, body = get(t, "GET", base+"/poll?topic=a")
			assert.Equal(t, http.StatusOK, code, body)
			assert.Contains(t, body, `"type":"snapshot"`)

			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, "GET", base+"/events?topic=a", nil)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
			resp.Body.Close()

			c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
			require.NoError(t, err)
			c.CloseNow()
		})
	}
}

// bareSet returns a set on a fresh hub, both closed when the test ends.
func bareSet(t *testing.T) *serve.Set {
	hub := fanout.NewHub(fanout.Options{})
	set := serve.New(hub, serve.Options{})
	t.Cleanup(func() {
		assert.NoError(t, set.Close())
		hub.Close()
	})
	return set
}

func TestMountRefusesAMalformedPrefix(t *testing.T) {
	set := bareSet(t)
	for _, prefix := range []string{"live", "/live/", "/", "/{x}", "/a b"} {
		assert.Panics(t, func() { set.Mount(http.NewServeMux(), prefix) }, prefix)
	}
}

func TestReadyAnswersGetAndHeadOnly(t *testing.T) {
	set := bareSet(t)
	for method, want := range map[string]int{"GET": 200, "HEAD": 200, "POST": 405, "DELETE": 405} {
		w := httptest.NewRecorder()
		set.Ready().ServeHTTP(w, httptest.NewRequest(method, "/readyz", nil))
		assert.Equal(t, want, w.Code, method)
	}
}

// TestReadyFlipsAtShutdown checks that readiness fails from the start of
// the drain, while connections are still open, and stays failed.
func TestReadyFlipsAtShutdown(t *testing.T) {
	set, ts := newSet(t, "", serve.Options{})
	code, body := get(t, "GET", ts.URL+"/readyz")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ready\n", body)

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	// A client that never reads does not answer the drain's close, so the
	// drain lasts until cancel.
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", nil)
	require.NoError(t, err)
	defer c.CloseNow()

	sctx, scancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- set.Shutdown(sctx) }()
	require.Eventually(t, func() bool { return readyCode(set) == http.StatusServiceUnavailable },
		testTimeout, time.Millisecond)
	scancel()
	select {
	case err := <-done:
		if err != nil {
			assert.ErrorIs(t, err, context.Canceled)
		}
	case <-ctx.Done():
		t.Fatal("Shutdown did not return when its context was cancelled")
	}
	code, _ = get(t, "GET", ts.URL+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code, "still draining after Shutdown")
}

// TestShutdownReturnsByTheDeadline holds a connection of every transport
// whose client does nothing: Shutdown still returns once its context's
// deadline has passed, having cut them, and Close after it is a no-op.
func TestShutdownReturnsByTheDeadline(t *testing.T) {
	set, ts := newSet(t, "", serve.Options{Poll: poll.Options{HoldTimeout: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", nil)
	require.NoError(t, err) // never read: the close handshake is never answered
	defer c.CloseNow()
	req, err := http.NewRequestWithContext(ctx, "GET", ts.URL+"/events?topic=a", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err) // never read either
	defer resp.Body.Close()
	held := heldPoll(t, ts.URL)
	polled := make(chan error, 1)
	go func() {
		resp, err := http.Get(held) // held
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		polled <- err
	}()

	sctx, scancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer scancel()
	done := make(chan error, 1)
	go func() { done <- set.Shutdown(sctx) }()
	select {
	case err := <-done:
		require.Error(t, err, "the WebSocket client never answered the close")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "ws: ")
	case <-ctx.Done():
		t.Fatal("Shutdown did not return by its deadline")
	}
	select {
	case err := <-polled:
		assert.NoError(t, err, "the held poll was answered")
	case <-ctx.Done():
		t.Fatal("the held poll was not answered")
	}
	assert.NoError(t, set.Close())
	assert.NoError(t, set.Close(), "Close is idempotent")
}

func TestCloseIsIdempotent(t *testing.T) {
	set, ts := newSet(t, "", serve.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	read := make(chan error, 1)
	go func() { _, _, err := c.Read(ctx); read <- err }() // ends when the server closes the connection
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- set.Close() }()
	}
	for range 2 {
		assert.NoError(t, <-errs)
	}
	assert.Error(t, <-read, "Close closed the connection")
	assert.False(t, errors.Is(set.Shutdown(ctx), context.DeadlineExceeded), "nothing left to drain")
}
