package ws_test

import (
	"testing"

	"github.com/fanout-go/fanout/transport/ws"
	"github.com/stretchr/testify/require"
)

// TestStats: the handler counts its connections, their subscriptions, the
// latency of the updates it writes, the commands it refuses and the
// connections it closes.
func TestStats(t *testing.T) {
	s := newServer(t, nil, ws.Options{})
	c := s.dial(t)
	c.subscribe("a")
	c.joined("a")
	c.send(`{"action":"subscribe","topic":"not valid!"}`)
	require.Equal(t, "error", c.next().Type)
	for i := range 3 {
		publish(t, s.hub, "a", `{"n":1}`)
		require.Equal(t, uint64(i+1), c.nextData().Seq)
	}
	st := s.h.Stats()
	require.Equal(t, "ws", st.Transport)
	require.Equal(t, 1, st.Connections)
	require.Equal(t, int64(1), st.Subscriptions)
	require.Equal(t, uint64(3), st.WriteLatency.Count, "the three updates, not the snapshot")
	require.Equal(t, map[string]uint64{"invalid_topic": 1}, st.Rejected)
	require.NoError(t, s.h.Close())
	st = s.h.Stats()
	require.Equal(t, 0, st.Connections)
	require.Equal(t, int64(0), st.Subscriptions)
	require.Equal(t, map[string]uint64{"1001": 1}, st.Closes)
}
