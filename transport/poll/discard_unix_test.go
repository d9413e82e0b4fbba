//go:build unix

package poll_test

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/internal/slowclient"
	"github.com/fanout-go/fanout/transport/poll"
)

// TestStuckAnswerIsDiscarded: with the server's ConnContext set, a poll
// whose client does not read its answer is cut with a reset once
// WriteTimeout passes, so the kernel drops the unsent answer instead of
// keeping it for the client (a plain close, after net/http's own write
// deadline, leaves it queued behind a FIN for minutes). The client sees
// the reset where it would have read the answer's start and an EOF.
func TestStuckAnswerIsDiscarded(t *testing.T) {
	t.Parallel()
	hub := fanout.NewHub(fanout.Options{TopicConfig: func(string) fanout.TopicConfig {
		return fanout.TopicConfig{HistorySize: 1024}
	}})
	h := poll.NewHandler(hub, poll.Options{WriteTimeout: 200 * time.Millisecond, QueueSize: 1024})
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnContext = transport.ConnContext
	srv.Start()
	t.Cleanup(func() {
		_ = h.Close()
		srv.Close()
		_ = hub.Close()
	})
	first, err := hub.Publish("t", []byte(`0`))
	require.NoError(t, err)
	payload := []byte(`"` + strings.Repeat("x", 32<<10) + `"`)
	for range 64 { // 2 MiB: more than the capped send buffer and the client's receive buffer
		_, err := hub.Publish("t", payload)
		require.NoError(t, err)
	}

	c, err := slowclient.Dialer.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("GET /?" + encode([]pos{{"t", first.Epoch, first.Seq}}) + " HTTP/1.1\r\nHost: test\r\n\r\n"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return h.Len() == 1 }, testTimeout, time.Millisecond)
	require.Eventually(t, func() bool { return h.Len() == 0 }, testTimeout, time.Millisecond, "the stuck answer was cut")

	require.NoError(t, c.SetReadDeadline(time.Now().Add(testTimeout)))
	_, err = io.Copy(io.Discard, c)
	assert.True(t, errors.Is(err, syscall.ECONNRESET), "the answer ended with a reset, not %v", err)
}
