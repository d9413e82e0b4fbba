package sse_test

import (
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/sse"
	"github.com/stretchr/testify/require"
)

// TestOccupancyEvent: a topic's occupancy comes as an occupancy event
// whose id is the cursor as it was: it is no part of the topic's sequence.
func TestOccupancyEvent(t *testing.T) {
	hub := newHub(t, fanout.Options{
		Occupancy:   fanout.OccupancyOptions{Interval: 10 * time.Millisecond, PushInterval: 10 * time.Millisecond},
		TopicConfig: func(string) fanout.TopicConfig { return fanout.TopicConfig{Occupancy: true} },
	})
	s := newServer(t, hub, sse.Options{})
	c := s.open(t, []string{"room"})
	snap, err := c.next()
	require.NoError(t, err)
	require.Equal(t, "snapshot", snap.Event)
	occ, err := c.next()
	require.NoError(t, err)
	require.Equal(t, "occupancy", occ.Event)
	require.JSONEq(t, `{"type":"occupancy","topic":"room","count":1}`, occ.Data)
	require.Equal(t, snap.ID, occ.ID, "the occupancy event moved the cursor")
	require.Equal(t, int64(1), s.h.Stats().Subscriptions)
}
