package sse_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/sse"
)

// TestTopicFloodCannotStopPublishing: clients opening streams that each
// name 100 invented topics, as a hostile client would, while the
// application publishes on topics of its own: every publish succeeds, and
// topics and heap return near their baseline once the streams end.
func TestTopicFloodCannotStopPublishing(t *testing.T) {
	const published, clients, polls, perPoll = 200, 4, 20, 100
	hub := fanout.NewHub(fanout.Options{MaxTopics: published})
	defer hub.Close()
	h := sse.NewHandler(hub, sse.Options{MaxTopics: perPoll, Heartbeat: 10 * time.Millisecond})
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
				q := url.Values{}
				for i := range perPoll {
					q.Add("topic", fmt.Sprintf("invented:%d:%d:%d", c, p, i))
				}
				openAndLeave(t, srv.URL+"?"+q.Encode())
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

	// A stream's end is noticed at its next write (a heartbeat).
	require.Eventually(t, func() bool { return hub.Stats().UnpublishedTopics == 0 }, 10*time.Second, time.Millisecond,
		"the invented topics go with their streams: %+v", hub.Stats())
	assert.Equal(t, published, hub.Stats().Topics)
	after := heapInUse()
	t.Logf("heap in use: %d KiB before, %d KiB after %d invented topics", base>>10, after>>10, clients*polls*perPoll)
	assert.Less(t, after, base+2<<20, "the flood's memory returned")
}

// openAndLeave opens a stream, reads its first event and closes it.
func openAndLeave(t *testing.T, u string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if !assert.NoError(t, err) {
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if !assert.NoError(t, err) {
		return
	}
	defer resp.Body.Close()
	if !assert.Equal(t, http.StatusOK, resp.StatusCode) {
		return
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	assert.NoError(t, err, "the stream's first line")
	assert.NotEmpty(t, line)
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
