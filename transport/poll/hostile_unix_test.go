//go:build unix

package poll_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/internal/slowclient"
	"github.com/fanout-go/fanout/transport/poll"
)

// newBacklogServer serves a hub whose topic "t" holds 8 MiB of history
// (256 messages of 32 KiB: more than the socket buffers of a loopback
// connection hold), and returns the position before them.
func newBacklogServer(t *testing.T, opts poll.Options) (*server, pos) {
	t.Helper()
	hub := fanout.NewHub(fanout.Options{TopicConfig: func(string) fanout.TopicConfig {
		return fanout.TopicConfig{HistorySize: 4096}
	}})
	opts.QueueSize = 4096
	h := poll.NewHandler(hub, opts)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		_ = h.Close()
		srv.Close()
		_ = hub.Close()
	})
	first, err := hub.Publish("t", []byte(`0`))
	require.NoError(t, err)
	payload := []byte(`"` + strings.Repeat("x", 32<<10) + `"`)
	for range backlogLen {
		_, err := hub.Publish("t", payload)
		require.NoError(t, err)
	}
	return &server{hub: hub, h: h, srv: srv}, pos{"t", first.Epoch, first.Seq}
}

// backlogLen is the number of messages of newBacklogServer's backlog.
const backlogLen = 256

// neverReader sends a poll from p from a client whose receive buffer is
// small, and never reads the answer.
func (s *server) neverReader(t *testing.T, p pos) {
	t.Helper()
	c, err := slowclient.Dialer.Dial("tcp", s.srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Write([]byte("GET /?" + encode([]pos{p}) + " HTTP/1.1\r\nHost: test\r\n\r\n"))
	require.NoError(t, err)
}

// TestNeverReadingPollsCut sends polls that have a large answer and never
// reads them: the write timeout cuts them and their answers' memory goes
// (a write without deadline held them, and the Shutdown, forever).
func TestNeverReadingPollsCut(t *testing.T) {
	t.Parallel()
	s, from := newBacklogServer(t, poll.Options{WriteTimeout: 200 * time.Millisecond, MaxUnsentBytes: 16 << 20})
	for range 4 {
		s.neverReader(t, from)
	}
	require.Eventually(t, func() bool { return s.h.Len() == 0 && s.hub.Stats().Subscribers == 0 },
		6*testTimeout, 10*time.Millisecond, "polls still answering clients that do not read") // slow under -race on a busy machine: building 8 MiB answers
}

// TestNeverReadingPollsShutdown has Shutdown meet polls whose clients do
// not read their large answers, with no write timeout: it returns when its
// context ends, having cut them, and Close returns at once.
func TestNeverReadingPollsShutdown(t *testing.T) {
	t.Parallel()
	s, from := newBacklogServer(t, poll.Options{WriteTimeout: time.Hour, MaxUnsentBytes: 16 << 20})
	for range 4 {
		s.neverReader(t, from)
	}
	require.Eventually(t, func() bool { return s.h.Len() == 4 }, testTimeout, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, s.h.Shutdown(ctx), context.DeadlineExceeded)
	assert.Equal(t, 0, s.h.Len())
	require.NoError(t, s.h.Close())
}

// TestNeverReadingPollsClose has Close meet polls whose clients do not
// read: it cuts them and returns.
func TestNeverReadingPollsClose(t *testing.T) {
	t.Parallel()
	s, from := newBacklogServer(t, poll.Options{WriteTimeout: time.Hour, MaxUnsentBytes: 16 << 20})
	for range 4 {
		s.neverReader(t, from)
	}
	require.Eventually(t, func() bool { return s.h.Len() == 4 }, testTimeout, time.Millisecond)
	require.NoError(t, s.h.Close())
	assert.Equal(t, 0, s.h.Len())
}

// TestAnswerBounded polls a large backlog: each answer holds at most
// MaxUnsentBytes (plus one message), and polling on from the last message
// of each answer gets every message once, in order.
func TestAnswerBounded(t *testing.T) {
	t.Parallel()
	s, from := newBacklogServer(t, poll.Options{MaxUnsentBytes: 1 << 20, HoldTimeout: time.Hour})
	answers := 0
	for from.since < backlogLen+1 {
		status, body, ms := s.get(t, encode([]pos{from}))
		require.Equal(t, 200, status)
		assert.LessOrEqual(t, len(body), 1<<20+33<<10)
		for _, m := range ms {
			require.Equal(t, "update", m.Type)
			require.Equal(t, from.since+1, m.Seq, "after "+strconv.FormatUint(from.since, 10))
			from.since = m.Seq
		}
		answers++
	}
	assert.Greater(t, answers, 7)
}
