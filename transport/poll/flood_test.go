package poll_test

import (
	"context"
	"fmt"
	"io"
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
	"github.com/fanout-go/fanout/transport/poll"
)

// TestTopicFloodCannotStopPublishing: clients whose polls each name 100
// invented topics, as a hostile client would, while the application
// publishes on topics of its own: every publish succeeds, and topics and
// heap return near their baseline once the polls are answered.
func TestTopicFloodCannotStopPublishing(t *testing.T) {
	const published, clients, polls, perPoll = 200, 8, 40, 100
	hub := fanout.NewHub(fanout.Options{MaxTopics: published})
	defer hub.Close()
	h := poll.NewHandler(hub, poll.Options{MaxTopics: perPoll})
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
				status := get(t, srv.URL+"?"+q.Encode())
				assert.Equal(t, http.StatusOK, status)
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

	st := hub.Stats()
	assert.Equal(t, published, st.Topics, "the invented topics went with their polls")
	assert.Zero(t, st.UnpublishedTopics)
	after := heapInUse()
	t.Logf("heap in use: %d KiB before, %d KiB after %d invented topics", base>>10, after>>10, clients*polls*perPoll)
	assert.Less(t, after, base+2<<20, "the flood's memory returned")
}

func get(t *testing.T, u string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if !assert.NoError(t, err) {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if !assert.NoError(t, err) {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
