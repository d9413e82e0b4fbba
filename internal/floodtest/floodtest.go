// Package floodtest runs the topic flood that the transports' tests
// (transport/ws, transport/sse, transport/poll) each drive through their
// own wire: clients naming invented topics, as a hostile client would,
// while the application publishes topics of its own. It is imported by
// those tests only.
package floodtest

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
)

// Published is how many topics the application publishes during a flood,
// and the hub's MaxTopics (see NewHub): a flood that counted against it
// would make the application's publishes fail.
const Published = 200

// NewHub returns a hub whose MaxTopics is Published, closed when t ends.
func NewHub(t *testing.T) *fanout.Hub {
	hub := fanout.NewHub(fanout.Options{MaxTopics: Published})
	t.Cleanup(func() { require.NoError(t, hub.Close()) })
	return hub
}

// Run calls flood(c, r) for r in [0, rounds) on each of clients
// goroutines while publishing Published new topics on hub; flood names
// invented topics through the transport under test and returns once its
// client is gone. Run checks that every publish succeeded, that the
// invented topics go (within a few seconds: a server may notice a client's
// end only at its next read or write), and that the heap returns near its
// size before the flood.
func Run(t *testing.T, hub *fanout.Hub, clients, rounds int, flood func(c, r int)) {
	base := HeapInUse()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for r := range rounds {
				flood(c, r)
			}
		})
	}
	wg.Go(func() {
		for i := range Published {
			_, err := hub.PublishState(fmt.Sprintf("game:%d", i), []byte(`{}`), []byte(`{}`))
			assert.NoError(t, err, "no client traffic makes a publish fail")
		}
	})
	wg.Wait()

	require.Eventually(t, func() bool { return hub.Stats().UnpublishedTopics == 0 }, 10*time.Second, time.Millisecond,
		"the invented topics go with their clients: %+v", hub.Stats())
	assert.Equal(t, Published, hub.Stats().Topics)
	after := HeapInUse()
	t.Logf("heap in use: %d KiB before, %d KiB after the flood", base>>10, after>>10)
	assert.Less(t, after, base+2<<20, "the flood's memory returned")
}

// HeapInUse returns the heap in use after two garbage collections.
func HeapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
