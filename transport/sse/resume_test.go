package sse_test

import (
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/sse"
)

// TestResumeAfterCut cuts a stream in the middle of a burst on three
// topics, publishes more, and reconnects the way a browser does: with
// Last-Event-ID, or with the cursor parameter. The client must see every
// update exactly once.
func TestResumeAfterCut(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"Last-Event-ID", "cursor"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			hub := newHub(t, fanout.Options{})
			s := newServer(t, hub, sse.Options{})
			topics := []string{"a", "b", "c"}
			for _, tp := range topics {
				_, err := hub.PublishState(tp, []byte(`{}`), []byte(`{"state":0}`))
				require.NoError(t, err)
			}
			c := s.open(t, topics)
			last := map[string]uint64{}
			apply := func(m msg) {
				if m.Type == "update" {
					require.Equal(t, last[m.Topic]+1, m.Seq, "topic %s: no gap, no duplicate", m.Topic)
				} else {
					require.Equal(t, "snapshot", m.Type)
				}
				last[m.Topic] = m.Seq
			}
			for range topics {
				apply(c.nextMsg(t))
			}
			for i := range 30 {
				_, err := hub.Publish(topics[i%3], seqData(i))
				require.NoError(t, err)
			}
			for range 14 { // part of the burst
				apply(c.nextMsg(t))
			}
			_ = c.c.Close() // the rest of the burst is lost with the connection
			for i := 30; i < 60; i++ {
				_, err := hub.Publish(topics[i%3], seqData(i))
				require.NoError(t, err)
			}
			if how == "cursor" {
				c = s.open(t, topics, "cursor", c.lastID)
			} else {
				c = s.resume(t, topics, c.lastID)
			}
			for last["a"]+last["b"]+last["c"] < 3*21 {
				apply(c.nextMsg(t))
			}
			assert.Equal(t, map[string]uint64{"a": 21, "b": 21, "c": 21}, last)
		})
	}
}

// A cursor from another hub (another node that shares nothing, or a
// restart) names epochs the topics do not have: every topic is reset.
func TestResumeOnAnotherHubResets(t *testing.T) {
	t.Parallel()
	hub1 := newHub(t, fanout.Options{})
	hub2 := newHub(t, fanout.Options{})
	s1 := newServer(t, hub1, sse.Options{})
	s2 := newServer(t, hub2, sse.Options{})
	for _, hub := range []*fanout.Hub{hub1, hub2} {
		_, err := hub.PublishState("a", []byte(`{}`), []byte(`{"hub":1}`))
		require.NoError(t, err)
	}
	_, err := hub2.PublishState("a", []byte(`{}`), []byte(`{"hub":2}`))
	require.NoError(t, err)

	c := s1.open(t, []string{"a"})
	first := c.nextMsg(t)
	c = s2.resume(t, []string{"a"}, c.lastID)
	m := c.nextMsg(t)
	assert.Equal(t, "reset", m.Type)
	assert.NotEqual(t, first.Epoch, m.Epoch)
	assert.Equal(t, uint64(2), m.Seq)
	assert.JSONEq(t, `{"hub":2}`, string(m.Data))
}

// A resume from a position history no longer holds is a reset, even on
// the same hub.
func TestResumeTooOldResets(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{TopicConfig: func(string) fanout.TopicConfig {
		return fanout.TopicConfig{HistorySize: 4, RetainLast: true}
	}})
	s := newServer(t, hub, sse.Options{})
	publish(t, hub, "a", 1)
	c := s.open(t, []string{"a"})
	c.nextMsg(t)
	_ = c.c.Close()
	publish(t, hub, "a", 10)
	c = s.resume(t, []string{"a"}, c.lastID)
	m := c.nextMsg(t)
	assert.Equal(t, "reset", m.Type)
	assert.Equal(t, uint64(11), m.Seq)
}

// Hostile Last-Event-ID values are a fresh join (snapshot), never an
// error.
func TestHostileCursor(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{})
	_, err := hub.PublishState("a", []byte(`{}`), []byte(`{"s":1}`))
	require.NoError(t, err)
	pos := []fanout.Position{{Epoch: "AAAAAAAA", Seq: 1}}
	good := sse.EncodeCursor([]string{"a"}, pos)
	epoch := hubEpoch(t, hub, "a")
	withCheck := func(body string) string {
		sum := crc32.ChecksumIEEE([]byte(body))
		const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		var check [6]byte
		for i := 5; i >= 0; i-- {
			check[i] = b64[sum&63]
			sum >>= 6
		}
		return "1." + string(check[:]) + body
	}
	tag := good[len("1.AAAAAA~"):][:4]
	for _, tc := range []struct{ name, id string }{
		{"garbage", "not a cursor"},
		{"binary", "1.\xff\xfe\t~~.."},
		{"huge", "1.AAAAAA" + strings.Repeat("~AAAA.AAAAAAAA.1", 5000)},
		{"wrong topic", sse.EncodeCursor([]string{"b"}, []fanout.Position{{Epoch: epoch, Seq: 0}})},
		{"tampered", strings.Replace(sse.EncodeCursor([]string{"a"}, []fanout.Position{{Epoch: epoch, Seq: 0}}), "."+epoch, "."+flip(epoch[:1])+epoch[1:], 1)},
		{"seq overflow", withCheck(fmt.Sprintf("~%s.%s.%s", tag, epoch, "zzzzzzzzzzzzzz"))},
		{"seq beyond head", withCheck(fmt.Sprintf("~%s.%s.%s", tag, epoch, "3w5e11264sgsf"))},
		{"duplicate entries", withCheck(fmt.Sprintf("~%s.%s.0~%s.%s.0", tag, epoch, tag, epoch))},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c *conn
			if tc.id == "" {
				c = s.open(t, []string{"a"}, "cursor", "")
			} else {
				c = s.resume(t, []string{"a"}, tc.id)
			}
			m := c.nextMsg(t)
			switch tc.name {
			case "seq beyond head":
				assert.Equal(t, "reset", m.Type) // a vouched position the topic never reached
			default:
				assert.Equal(t, "snapshot", m.Type)
			}
			assert.JSONEq(t, `{"s":1}`, string(m.Data))
		})
	}
}

// flip returns a one-character string that differs from c.
func flip(c string) string {
	if c == "x" {
		return "y"
	}
	return "x"
}

// hubEpoch returns the epoch of topic on hub.
func hubEpoch(t *testing.T, hub *fanout.Hub, topic string) string {
	t.Helper()
	sub := hub.NewSubscriber(fanout.SubscriberOptions{})
	defer sub.Close()
	require.NoError(t, sub.Resume(ctxTimeout(t), topic, fanout.Position{}))
	d, err := sub.Next(ctxTimeout(t))
	require.NoError(t, err)
	return d.Epoch
}
