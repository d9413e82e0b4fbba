package poll_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/poll"
)

// TestMaxPerClient: one client, named by the application's key, cannot
// hold more than MaxPerClient polls at once; another client can.
func TestMaxPerClient(t *testing.T) {
	t.Parallel()
	hub := fanout.NewHub(fanout.Options{})
	h := poll.NewHandler(hub, poll.Options{MaxPerClient: 1, HoldTimeout: time.Hour,
		ClientKey: func(r *http.Request) string { return r.URL.Query().Get("user") }})
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		_ = h.Close()
		srv.Close()
		_ = hub.Close()
	})
	s := &server{hub: hub, h: h, srv: srv}
	s.keep(t, "t")
	first := s.poll(t, pos{topic: "t"})[0]
	q := func(user string) string {
		v := url.Values{"topic": {"t"}, "epoch": {first.Epoch}, "since": {"0"}, "user": {user}}
		return v.Encode()
	}
	held := make(chan result, 1)
	go func() { held <- s.fetch(q("alice")) }()
	require.Eventually(t, func() bool { return h.Len() == 1 }, testTimeout, time.Millisecond)
	status, body, _ := s.get(t, q("alice"))
	assert.Equal(t, http.StatusServiceUnavailable, status, body)
	assert.Contains(t, body, "this client")
	bob := make(chan result, 1)
	go func() { bob <- s.fetch(q("bob")) }()
	require.Eventually(t, func() bool { return h.Len() == 2 }, testTimeout, time.Millisecond, "another client is served")
	_, err := hub.Publish("t", []byte(`1`))
	require.NoError(t, err)
	assert.Len(t, receive(t, held), 1)
	assert.Len(t, receive(t, bob), 1)
}
