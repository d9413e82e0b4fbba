package sse_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/sse"
)

// TestEchoesBounded sends requests whose topic names and hook texts are
// large: every refusal's body stays within a few hundred bytes (a 921 KB
// request got a 1.84 MB answer before, issue 9 finding 4).
func TestEchoesBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("z", 2000)
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{Auth: transport.Auth{
		Connect: func(r *http.Request) error {
			if r.URL.Query().Get("deny") != "" {
				return errors.New(strings.Repeat("no ", 10000))
			}
			return nil
		},
		Subscribe: func(_ *http.Request, topic string) error {
			return errors.New("not " + topic + " nor anything like " + topic)
		},
	}})
	var topics []string
	for i := range 100 {
		topics = append(topics, long+string(rune('a'+i%26))+strings.Repeat("x", i))
	}
	for name, path := range map[string]string{
		"every topic denied": query(topics),
		"connect denied":     query([]string{"a"}, "deny", "1"),
		"too many topics":    query(append(topics, "y")),
	} {
		c := s.dialSize(t, 4096, path)
		assert.NotEqual(t, http.StatusOK, c.status, name)
		assert.LessOrEqual(t, len(c.body), 600, "%s: %d bytes: %.80s", name, len(c.body), c.body)
	}
}

// TestNotFound streams a topic the application says does not exist beside
// one that does: an error event not_found for the first, the stream goes
// on with the second, and the hub holds nothing for the first.
func TestNotFound(t *testing.T) {
	t.Parallel()
	hub := newHub(t, fanout.Options{TopicExists: func(topic string) bool { return topic == "real" }})
	s := newServer(t, hub, sse.Options{})
	c := s.open(t, []string{"invented", "real"})
	m := c.nextMsg(t)
	assert.Equal(t, "error", m.Type)
	assert.Equal(t, transport.CodeNotFound, m.Code)
	assert.Equal(t, "invented", m.Topic)
	m = c.nextMsg(t)
	assert.Equal(t, "snapshot", m.Type)
	assert.Equal(t, "real", m.Topic)
	assert.Equal(t, 1, hub.Stats().Topics)

	c = s.dial(t, query([]string{"invented"}))
	assert.Equal(t, http.StatusBadRequest, c.status)
	assert.Contains(t, c.body, "no such topic")
}
