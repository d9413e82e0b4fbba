package client_test

import (
	"testing"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/client"
	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/require"
)

// TestOccupancy: the counts the server pushes reach Next, in order with
// the topic's messages and without moving its position, and Occupancy.
func TestOccupancy(t *testing.T) {
	hub := fanout.NewHub(fanout.Options{
		Occupancy:   fanout.OccupancyOptions{Interval: 10 * time.Millisecond, PushInterval: 10 * time.Millisecond},
		TopicConfig: func(string) fanout.TopicConfig { return fanout.TopicConfig{Occupancy: true} },
	})
	t.Cleanup(func() { require.NoError(t, hub.Close()) })
	srv := newServer(t, hub, ws.Options{})

	a := dial(t, srv.url, client.Options{})
	require.NoError(t, a.Subscribe("room"))
	snap := next(t, a)
	require.Equal(t, fanout.Snapshot, snap.Kind)
	m := next(t, a)
	require.Equal(t, client.Message{Kind: fanout.Occupancy, Topic: "room", Count: 1}, m)
	pos, ok := a.Position("room")
	require.True(t, ok)
	require.Equal(t, snap.Position(), pos, "an occupancy message moved the position")

	b := dial(t, srv.url, client.Options{})
	require.NoError(t, b.Subscribe("room"))
	for m.Count != 2 {
		m = next(t, a)
		require.Equal(t, fanout.Occupancy, m.Kind)
	}
	n, ok := a.Occupancy("room")
	require.True(t, ok)
	require.Equal(t, 2, n)
	_, ok = a.Occupancy("elsewhere")
	require.False(t, ok)
}
