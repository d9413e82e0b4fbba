package ws_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBadCommands(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{})
	c := s.dial(t)
	for _, tc := range []struct {
		name, cmd, code, topic string
		id                     int64
	}{
		{"not JSON", `{"action":`, transport.CodeBadRequest, "", -1},
		{"not an object", `[1,2]`, transport.CodeBadRequest, "", -1},
		{"two objects", `{"action":"subscribe","topic":"a"}{}`, transport.CodeBadRequest, "", -1},
		{"no action", `{"topic":"a","id":1}`, transport.CodeBadRequest, "", 1},
		{"unknown action", `{"action":"publish","topic":"a","id":2}`, transport.CodeUnknownAction, "", 2},
		{"no topic", `{"action":"subscribe","id":3}`, transport.CodeBadRequest, "", 3},
		{"epoch without since", `{"action":"subscribe","topic":"a","epoch":"x","id":4}`, transport.CodeBadRequest, "a", 4},
		{"bad id", `{"action":"subscribe","topic":"a","id":-1}`, transport.CodeBadRequest, "", -1},
		{"invalid topic", `{"action":"subscribe","topic":"a b","id":5}`, transport.CodeInvalidTopic, "", 5},
		{"long topic", `{"action":"subscribe","topic":"` + strings.Repeat("x", 201) + `","id":6}`, transport.CodeInvalidTopic, strings.Repeat("x", 201), 6},
		// The id is echoed whatever field is malformed (issue 9, finding 5).
		{"topic a number", `{"action":"subscribe","topic":5,"id":10}`, transport.CodeBadRequest, "", 10},
		{"action a number", `{"action":true,"topic":"a","id":11}`, transport.CodeBadRequest, "", 11},
		{"epoch a number", `{"action":"subscribe","topic":"a","epoch":1,"since":2,"id":12}`, transport.CodeBadRequest, "a", 12},
		// What is echoed is bounded.
		{"huge topic", `{"action":"subscribe","topic":"` + strings.Repeat("x", 4000) + `","id":13}`, transport.CodeInvalidTopic, "", 13},
		{"huge action", `{"action":"` + strings.Repeat("x", 4000) + `","topic":"a","id":14}`, transport.CodeUnknownAction, "", 14},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.send(tc.cmd)
			m := c.next()
			assert.Equal(t, "error", m.Type)
			assert.Equal(t, tc.code, m.Code)
			assert.NotEmpty(t, m.Message)
			assert.LessOrEqual(t, len(m.Message), 512, "the message is bounded")
			assert.NotContains(t, m.Message, "not a JSON object")
			assert.Equal(t, tc.topic, m.Topic)
			if tc.id < 0 {
				assert.Nil(t, m.ID)
			} else if assert.NotNil(t, m.ID) {
				assert.Equal(t, tc.id, *m.ID)
			}
		})
		c.send(`{"action":"subscribe","topic":"ok"}`) // a valid command resets the invalid count
		m := c.next()
		require.Contains(t, []string{"subscribed", "error"}, m.Type)
	}
	c.t = t
	c.send(`{"action":"subscribe","topic":"ok","id":9}`)
	m := c.next()
	assert.Equal(t, transport.CodeAlreadySubscribed, m.Code)
	assert.Equal(t, "ok", m.Topic)
}

func TestTooManyInvalid(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{})
	c := s.dial(t)
	for range 10 {
		c.send(`nonsense`)
	}
	for range 9 {
		assert.Equal(t, transport.CodeBadRequest, c.next().Code)
	}
	assert.Equal(t, websocket.StatusCode(transport.CloseProtocolViolation), c.closeStatus())
}

func TestBinaryFrame(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{})
	c := s.dial(t)
	require.NoError(t, c.c.Write(ctxT(t), websocket.MessageBinary, []byte(`{"action":"subscribe","topic":"a"}`)))
	assert.Equal(t, websocket.StatusCode(transport.CloseProtocolViolation), c.closeStatus())
}

func TestOversizedCommand(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{ReadLimit: 100})
	c := s.dial(t)
	c.send(`{"action":"subscribe","topic":"` + strings.Repeat("a", 100) + `"}`)
	assert.Equal(t, websocket.StatusMessageTooBig, c.closeStatus())
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{CommandRate: 0.001, CommandBurst: 5})
	c := s.dial(t)
	for i := range 8 {
		c.send(fmt.Sprintf(`{"action":"subscribe","topic":"t%d","id":%d}`, i, i))
	}
	for i := range 8 {
		m := c.next()
		require.NotNil(t, m.ID)
		assert.EqualValues(t, i, *m.ID)
		if i < 5 {
			assert.Equal(t, "subscribed", m.Type)
			continue
		}
		assert.Equal(t, "error", m.Type)
		assert.Equal(t, transport.CodeRateLimited, m.Code)
		assert.Equal(t, fmt.Sprintf("t%d", i), m.Topic)
	}
	// A flood ends with a close.
	for range 10 {
		if err := c.c.Write(ctxT(t), websocket.MessageText, []byte(`{"action":"subscribe","topic":"x"}`)); err != nil {
			break
		}
	}
	assert.Equal(t, websocket.StatusCode(transport.CloseProtocolViolation), c.closeStatus())
}

func TestMaxTopics(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{MaxTopics: 2})
	c := s.dial(t)
	for i := range 3 {
		c.send(fmt.Sprintf(`{"action":"subscribe","topic":"t%d"}`, i))
	}
	assert.Equal(t, "subscribed", c.next().Type)
	assert.Equal(t, "subscribed", c.next().Type)
	m := c.next()
	assert.Equal(t, transport.CodeLimit, m.Code)
	assert.Equal(t, "t2", m.Topic)
}

func TestMaxConnections(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{MaxConnections: 2})
	s.dial(t)
	c := s.dial(t)
	_, resp, err := websocket.Dial(ctxT(t), s.url, nil)
	require.Error(t, err)
	require.NotNil(t, resp)
	assert.Equal(t, 503, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))

	// A closed connection frees its place.
	require.NoError(t, c.c.Close(websocket.StatusNormalClosure, "bye"))
	require.Eventually(t, func() bool { return s.h.Len() == 1 }, testTimeout, time.Millisecond)
	s.dial(t)
}

// TestResubscribeAll: with the defaults, a client may subscribe to as many
// topics as it may hold, all at once (as after a reconnect).
func TestResubscribeAll(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{})
	c := s.dial(t)
	for i := range ws.DefaultMaxTopics {
		c.subscribe(fmt.Sprintf("t%d", i))
	}
	for range ws.DefaultMaxTopics {
		require.Equal(t, "subscribed", c.next().Type)
	}
}

// TestNotFound subscribes a topic the application says does not exist:
// the reply is not_found, and the hub holds nothing for it.
func TestNotFound(t *testing.T) {
	t.Parallel()
	hub := fanout.NewHub(fanout.Options{TopicExists: func(topic string) bool { return topic == "real" }})
	t.Cleanup(func() { _ = hub.Close() })
	s := newServer(t, hub, ws.Options{})
	c := s.dial(t)
	c.send(`{"action":"subscribe","topic":"invented","id":1}`)
	m := c.next()
	assert.Equal(t, "error", m.Type)
	assert.Equal(t, transport.CodeNotFound, m.Code)
	assert.Equal(t, "invented", m.Topic)
	assert.Equal(t, 0, hub.Stats().Topics)
	c.subscribe("real")
	c.joined("real")
}

// TestMaxPerClient: one client, named by the application's key, cannot
// open more than MaxPerClient connections; another client can, and a
// closed connection frees its place.
func TestMaxPerClient(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil, ws.Options{MaxPerClient: 1,
		ClientKey: func(r *http.Request) string { return r.URL.Query().Get("user") }})
	dial := func(user string) (*websocket.Conn, *http.Response, error) {
		c, resp, err := websocket.Dial(ctxT(t), s.url+"?user="+user, nil)
		if err == nil {
			t.Cleanup(func() { _ = c.CloseNow() })
		}
		return c, resp, err
	}
	alice, _, err := dial("alice")
	require.NoError(t, err)
	_, resp, err := dial("alice")
	require.Error(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	_, _, err = dial("bob")
	require.NoError(t, err, "another client")
	require.NoError(t, alice.Close(websocket.StatusNormalClosure, ""))
	require.Eventually(t, func() bool { return s.h.Len() == 1 }, testTimeout, time.Millisecond)
	_, _, err = dial("alice")
	assert.NoError(t, err, "a closed connection frees its place")
}
