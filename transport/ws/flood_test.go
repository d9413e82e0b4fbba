package ws_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/ws"
)

// TestTopicFloodCannotStopPublishing: connections that each subscribe to
// 100 invented topics, as a hostile client would, while the application
// publishes on topics of its own: every publish succeeds, and topics and
// heap return near their baseline once the connections close.
func TestTopicFloodCannotStopPublishing(t *testing.T) {
	const published, clients, polls, perPoll = 200, 4, 20, 100
	hub := fanout.NewHub(fanout.Options{MaxTopics: published})
	defer hub.Close()
	h := ws.NewHandler(hub, ws.Options{MaxTopics: perPoll})
	srv := httptest.NewServer(h)
	defer func() {
		srv.Close()
		require.NoError(t, h.Close())
	}()
	base := heapInUse()

	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for p := range polls {
				subscribeAndLeave(t, "ws"+strings.TrimPrefix(srv.URL, "http"), fmt.Sprintf("invented:%d:%d", c, p), perPoll)
			}
		})
	}
	wg.Go(func() {
		for i := range published {
			_, err := hub.PublishState(fmt.Sprintf("game:%d", i), []byte(`{}`), []byte(`{}`))
			assert.NoError(t, err, "no client traffic makes a publish fail")
		}
	})
	wg.Wait()

	// The server notices a close when its reading goroutine does.
	require.Eventually(t, func() bool { return hub.Stats().UnpublishedTopics == 0 }, 10*time.Second, time.Millisecond,
		"the invented topics go with their connections: %+v", hub.Stats())
	assert.Equal(t, published, hub.Stats().Topics)
	after := heapInUse()
	t.Logf("heap in use: %d KiB before, %d KiB after %d invented topics", base>>10, after>>10, clients*polls*perPoll)
	assert.Less(t, after, base+2<<20, "the flood's memory returned")
}

// subscribeAndLeave subscribes a new connection to n topics named
// prefix:i, waits for their replies and closes it.
func subscribeAndLeave(t *testing.T, u, prefix string, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u, nil)
	if !assert.NoError(t, err) {
		return
	}
	defer c.CloseNow()
	for i := range n {
		cmd := fmt.Sprintf(`{"action":"subscribe","topic":"%s:%d"}`, prefix, i)
		if !assert.NoError(t, c.Write(ctx, websocket.MessageText, []byte(cmd))) {
			return
		}
	}
	for replies := 0; replies < n; {
		_, b, err := c.Read(ctx)
		if !assert.NoError(t, err) {
			return
		}
		replies += strings.Count(string(b), `"type":"subscribed"`)
		assert.NotContains(t, string(b), `"type":"error"`)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
