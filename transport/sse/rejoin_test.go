package sse_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/sse"
)

// TestRejoinStartsWithSnapshot opens a stream again and again, each one
// resuming a busy topic (its writer has the updates missed since the last
// stream to write) and joining another topic afresh: the fresh topic
// starts with a snapshot every time, never a reset.
func TestRejoinStartsWithSnapshot(t *testing.T) {
	t.Parallel()
	rounds, burst := 2000, 8
	if testing.Short() {
		rounds = 200
	}
	hub := newHub(t, fanout.Options{})
	s := newServer(t, hub, sse.Options{})
	topics := []string{"busy", "r"}
	busy, err := hub.Publish("busy", seqData(0))
	require.NoError(t, err)

	counts := map[string]int{}
	for range rounds {
		publish(t, hub, "busy", burst)
		publish(t, hub, "r", 1)
		cursor := sse.EncodeCursor(topics, []fanout.Position{busy, {}})
		c := s.open(t, topics, "cursor", cursor)
		for {
			m := c.nextMsg(t)
			if m.Topic == "r" {
				counts[m.Type]++
				break
			}
		}
		_ = c.c.Close()
		busy.Seq += uint64(burst)
	}
	assert.Equal(t, map[string]int{"snapshot": rounds}, counts)
}
