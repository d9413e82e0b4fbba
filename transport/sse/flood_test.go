package sse_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout/internal/floodtest"
	"github.com/fanout-go/fanout/transport/sse"
)

// TestTopicFloodCannotStopPublishing: streams that each name 100 invented
// topics and end after their first line (floodtest.Run says what it
// checks). A short heartbeat makes the server notice the ends soon.
func TestTopicFloodCannotStopPublishing(t *testing.T) {
	const perStream = 100
	hub := floodtest.NewHub(t)
	h := sse.NewHandler(hub, sse.Options{MaxTopics: perStream, Heartbeat: 10 * time.Millisecond})
	srv := httptest.NewServer(h)
	defer func() {
		srv.Close()
		require.NoError(t, h.Close())
	}()
	floodtest.Run(t, hub, 4, 20, func(c, r int) {
		q := url.Values{}
		for i := range perStream {
			q.Add("topic", fmt.Sprintf("invented:%d:%d:%d", c, r, i))
		}
		openAndLeave(t, srv.URL+"?"+q.Encode())
	})
}

// openAndLeave opens a stream, reads its first line and closes it.
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
