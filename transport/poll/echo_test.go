package poll_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/poll"
)

// TestEchoesBounded sends polls whose topic names and hook texts are
// large: every refusal's body stays within a few hundred bytes (a 921 KB
// request got a 1.84 MB answer before, issue 9 finding 4), and so does
// each error object of an answer.
func TestEchoesBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("z", 2000)
	s := newServer(t, poll.Options{HoldTimeout: time.Hour, Auth: transport.Auth{
		Connect: func(r *http.Request) error {
			if r.URL.Query().Has("deny") {
				return errors.New(strings.Repeat("no ", 10000))
			}
			return nil
		},
		Subscribe: func(_ *http.Request, topic string) error {
			if topic == "ok" {
				return nil
			}
			return errors.New("not " + topic + " nor anything like " + topic)
		},
	}})
	q := url.Values{}
	for i := range 100 {
		q.Add("topic", long+strings.Repeat("x", i))
	}
	denied := q.Encode()
	q.Set("deny", "1")
	connect := q.Encode()
	q.Del("deny")
	q.Add("epoch", "e")
	unpaired := q.Encode()
	for name, query := range map[string]string{"every topic denied": denied, "connect denied": connect, "unpaired": unpaired} {
		status, body, _ := s.get(t, query)
		assert.NotEqual(t, http.StatusOK, status, name)
		assert.LessOrEqual(t, len(body), 600, "%s: %d bytes: %.80s", name, len(body), body)
	}

	// Denied topics among an allowed one: one error object each, bounded.
	q = url.Values{"topic": {"ok", long + "1", long + "2"}}
	status, body, ms := s.get(t, q.Encode())
	assert.Equal(t, http.StatusOK, status)
	assert.Len(t, ms, 3)
	assert.Less(t, len(body), 3*600, "%d bytes", len(body))
}

// TestNotFound polls a topic the application says does not exist beside
// one that does: an error object not_found for the first, at once, and
// the hub holds nothing for it.
func TestNotFound(t *testing.T) {
	t.Parallel()
	hub := fanout.NewHub(fanout.Options{TopicExists: func(topic string) bool { return topic == "real" }})
	t.Cleanup(func() { _ = hub.Close() })
	h := poll.NewHandler(hub, poll.Options{})
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		_ = h.Close()
		srv.Close()
	})
	s := &server{hub: hub, h: h, srv: srv}
	ms := s.poll(t, pos{topic: "invented"}, pos{topic: "real"})
	require.Len(t, ms, 2)
	assert.Equal(t, "error", ms[0].Type)
	assert.Equal(t, transport.CodeNotFound, ms[0].Code)
	assert.Equal(t, "invented", ms[0].Topic)
	assert.Equal(t, "snapshot", ms[1].Type)
	status, body, _ := s.get(t, "topic=invented")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "no such topic")
}
