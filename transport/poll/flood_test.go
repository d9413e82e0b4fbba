package poll_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout/internal/floodtest"
	"github.com/fanout-go/fanout/transport/poll"
)

// TestTopicFloodCannotStopPublishing: polls that each name 100 invented
// topics (floodtest.Run says what it checks).
func TestTopicFloodCannotStopPublishing(t *testing.T) {
	const perPoll = 100
	hub := floodtest.NewHub(t)
	h := poll.NewHandler(hub, poll.Options{MaxTopics: perPoll})
	srv := httptest.NewServer(h)
	defer func() {
		srv.Close()
		require.NoError(t, h.Close())
	}()
	floodtest.Run(t, hub, 8, 40, func(c, r int) {
		q := url.Values{}
		for i := range perPoll {
			q.Add("topic", fmt.Sprintf("invented:%d:%d:%d", c, r, i))
		}
		assert.Equal(t, http.StatusOK, get(t, srv.URL+"?"+q.Encode()))
	})
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
