package poll_test

import (
	"testing"

	"github.com/fanout-go/fanout/transport/poll"
	"github.com/stretchr/testify/require"
)

// TestStats: the handler counts the topics it refuses and the latency of
// the updates it answers with; a poll's subscription ends with its answer.
func TestStats(t *testing.T) {
	s := newServer(t, poll.Options{})
	s.keep(t, "a")
	snap := s.poll(t, pos{topic: "a"}, pos{topic: "not valid!"})
	require.Len(t, snap, 2, "%+v", snap)
	for range 3 {
		if _, err := s.hub.Publish("a", []byte(`{"n":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	var at pos
	for _, m := range snap {
		if m.Type == "snapshot" {
			at = pos{topic: "a", epoch: m.Epoch, since: m.Seq}
		}
	}
	require.Len(t, s.poll(t, at), 3)
	st := s.h.Stats()
	require.Equal(t, "poll", st.Transport)
	require.Equal(t, 0, st.Connections)
	require.Equal(t, int64(0), st.Subscriptions)
	require.Equal(t, uint64(3), st.WriteLatency.Count)
	require.Equal(t, map[string]uint64{"invalid_topic": 1}, st.Rejected)
}
