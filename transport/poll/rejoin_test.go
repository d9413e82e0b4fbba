package poll_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout/transport/poll"
)

// TestRejoinStartsWithSnapshot polls a busy topic from its last position
// together with a topic without a position, again and again: the topic
// without one answers its snapshot every time, never a reset.
func TestRejoinStartsWithSnapshot(t *testing.T) {
	t.Parallel()
	rounds, burst := 2000, 8
	if testing.Short() {
		rounds = 200
	}
	s := newServer(t, poll.Options{})
	first, err := s.hub.Publish("busy", []byte(`0`))
	require.NoError(t, err)
	busy := pos{topic: "busy", epoch: first.Epoch, since: first.Seq}

	counts := map[string]int{}
	for range rounds {
		for range burst {
			_, err := s.hub.Publish("busy", []byte(`1`))
			require.NoError(t, err)
		}
		_, err := s.hub.Publish("r", []byte(`1`))
		require.NoError(t, err)
		for _, m := range s.poll(t, busy, pos{topic: "r"}) {
			switch m.Topic {
			case "r":
				counts[m.Type]++
			case "busy":
				busy.since = m.Seq
			}
		}
	}
	assert.Equal(t, map[string]int{"snapshot": rounds}, counts)
}
