package sse_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/sse"
)

func TestSnapshotThenUpdates(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{})
	_, err := hub.PublishState("game:1", []byte(`{"event":"kickoff"}`), []byte(`{"score":"0-0"}`))
	require.NoError(t, err)

	c := s.open(t, []string{"game:1"})
	assert.Equal(t, "text/event-stream", c.header.Get("Content-Type"))
	assert.Equal(t, "no-cache", c.header.Get("Cache-Control"))
	assert.Equal(t, "no", c.header.Get("X-Accel-Buffering"))

	e, err := c.next()
	require.NoError(t, err)
	require.True(t, e.HasID)
	assert.Equal(t, "2000", c.retry)
	m := e.msg(t)
	assert.Equal(t, "snapshot", m.Type)
	assert.Equal(t, uint64(1), m.Seq)
	assert.JSONEq(t, `{"score":"0-0"}`, string(m.Data))

	for i := 2; i <= 5; i++ {
		_, err := hub.Publish("game:1", seqData(i))
		require.NoError(t, err)
		m := c.nextMsg(t)
		assert.Equal(t, "update", m.Type)
		assert.Equal(t, uint64(i), m.Seq)
		assert.JSONEq(t, string(seqData(i)), string(m.Data))
	}
}

// A topic without state still starts with a snapshot (data null), so that
// the client holds a position to resume from.
func TestStatelessTopicStartsWithPosition(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{})
	publish(t, hub, "t", 3)
	c := s.open(t, []string{"t"})
	m := c.nextMsg(t)
	assert.Equal(t, "snapshot", m.Type)
	assert.Equal(t, uint64(3), m.Seq)
	assert.Equal(t, "null", string(m.Data))
	// Cut before any update: the position still resumes without loss.
	first := c.lastID
	_ = c.c.Close()
	publish(t, hub, "t", 2)
	c = s.resume(t, []string{"t"}, first)
	for seq := uint64(4); seq <= 5; seq++ {
		m := c.nextMsg(t)
		assert.Equal(t, "update", m.Type)
		assert.Equal(t, seq, m.Seq)
	}
}

func TestOrderNoGapUnderConcurrentPublishing(t *testing.T) {
	t.Parallel()
	const topics, perTopic = 4, 500
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{QueueSize: topics*perTopic + 16})
	names := make([]string, topics)
	for i := range names {
		names[i] = "t" + string(rune('a'+i))
		publish(t, hub, names[i], 1)
	}
	c := s.open(t, names)
	last := map[string]uint64{}
	for range topics {
		m := c.nextMsg(t)
		require.Equal(t, "snapshot", m.Type)
		last[m.Topic] = m.Seq
	}
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Go(func() {
			for i := range perTopic {
				if _, err := hub.Publish(name, seqData(i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range topics * perTopic {
		m := c.nextMsg(t)
		require.Equal(t, "update", m.Type)
		require.Equal(t, last[m.Topic]+1, m.Seq, "topic %s", m.Topic)
		last[m.Topic] = m.Seq
	}
	wg.Wait()
	for _, name := range names {
		assert.Equal(t, uint64(perTopic+1), last[name])
	}
}

// JSON with line breaks between tokens is sent as several data: lines,
// which the client joins back into the same object.
func TestMultiLineData(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{})
	c := s.open(t, []string{"t"})
	c.nextMsg(t)
	_, err := hub.Publish("t", []byte("{\r\n \"a\": 1,\n \"b\": [2,\r3]\n}"))
	require.NoError(t, err)
	m := c.nextMsg(t)
	assert.JSONEq(t, `{"a":1,"b":[2,3]}`, string(m.Data))
}

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{Heartbeat: 5e6})
	c := s.open(t, []string{"t"})
	c.nextMsg(t)
	line, err := c.br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, ": ping\n", line)
}

func TestHubClosedEndsStream(t *testing.T) {
	t.Parallel()
	hub := fanout.NewHub(fanout.Options{})
	s := newServer(t, hub, sse.Options{})
	c := s.open(t, []string{"t"})
	c.nextMsg(t)
	require.NoError(t, hub.Close())
	c.readUntilEOF(t)
	require.Eventually(t, func() bool { return s.h.Len() == 0 }, testTimeout, 5e6)

	refused := s.dial(t, query([]string{"t"}))
	assert.Equal(t, 503, refused.status)
	assert.NotEmpty(t, refused.header.Get("Retry-After"))
}

func TestManyStreams(t *testing.T) {
	t.Parallel()
	const streams, msgs = 200, 10
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{})
	conns := make([]*conn, streams)
	for i := range conns {
		conns[i] = s.open(t, []string{"t", "u"})
		for range 2 {
			require.Equal(t, "snapshot", conns[i].nextMsg(t).Type)
		}
	}
	assert.Equal(t, streams, s.h.Len())
	publish(t, hub, "t", msgs)
	for _, c := range conns {
		for i := range msgs {
			m := c.nextMsg(t)
			require.Equal(t, uint64(i+1), m.Seq)
		}
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{})
	deny := func(_ *http.Request, topic string) error {
		if strings.HasPrefix(topic, "secret") {
			return errors.New("fanout: not yours")
		}
		return nil
	}
	s := newServer(t, hub, sse.Options{MaxTopics: 3, Auth: transport.Auth{
		Connect: func(r *http.Request) error {
			if r.Header.Get("X-Banned") != "" {
				return errors.New("fanout: banned; sign in again")
			}
			return nil
		},
		Subscribe: deny,
	}})
	for _, tc := range []struct {
		name   string
		path   string
		header string
		status int
		text   string
	}{
		{"no topic", "/", "", 400, "name the topics"},
		{"too many", query([]string{"a", "b", "c", "d"}), "", 400, "more than 3 topics"},
		{"duplicates count once", query([]string{"a", "a", "b", "c", "c"}), "", 200, ""},
		{"invalid names only", query([]string{"bad topic", "bäd"}), "", 400, "invalid topic"},
		{"connect denied", query([]string{"a"}), "X-Banned: 1", 403, "banned"},
		{"every topic denied", query([]string{"secret1", "secret2"}), "", 403, "not yours"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.header != "" {
				headers = append(headers, tc.header)
			}
			c := s.dial(t, tc.path, headers...)
			require.Equal(t, tc.status, c.status, c.body)
			assert.Contains(t, c.body, tc.text)
		})
	}
	t.Run("method", func(t *testing.T) {
		resp, err := http.Post(s.srv.URL+"/?topic=a", "text/plain", nil)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, 405, resp.StatusCode)
	})
	t.Run("some topics denied or invalid", func(t *testing.T) {
		c := s.open(t, []string{"secret", "ok", "bad topic"})
		got := map[string]msg{}
		for range 3 {
			m := c.nextMsg(t)
			got[m.Type+" "+m.Topic] = m
		}
		assert.Equal(t, "forbidden", got["error secret"].Code)
		assert.Equal(t, "fanout: not yours", got["error secret"].Message)
		assert.Equal(t, "invalid_topic", got["error bad topic"].Code)
		assert.Contains(t, got, "snapshot ok")
	})
}

func TestMaxConnections(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{MaxConnections: 2})
	a := s.open(t, []string{"t"})
	s.open(t, []string{"t"})
	c := s.dial(t, query([]string{"t"}))
	assert.Equal(t, 503, c.status)
	assert.Equal(t, "5", c.header.Get("Retry-After"))

	// A closed stream frees its place once a write finds it gone.
	_ = a.c.Close()
	require.Eventually(t, func() bool {
		publish(t, hub, "t", 1)
		return s.h.Len() < 2
	}, testTimeout, 5e6)
	s.open(t, []string{"t"})
}
