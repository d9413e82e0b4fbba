package sse

import (
	"context"
	"net/http"
	"time"
)

// serveLoop serves s in the ordinary handler model, for HTTP/2 streams and
// writers that cannot be hijacked: the request's goroutine is the stream's
// writer until the stream ends. It holds the writer role throughout, so the
// subscriber's OnReady starts no other writer.
func (s *stream) serveLoop(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController) {
	defer s.finish()
	s.w, s.rc = w, rc
	wake := make(chan struct{}, 1)
	s.mu.Lock()
	s.wake = wake
	s.mu.Unlock()
	header := w.Header()
	header.Set("Content-Type", "text/event-stream")
	header.Set("Cache-Control", "no-cache")
	header.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if !s.flush() {
		return
	}
	tick := time.NewTicker(s.h.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-s.sub.Ready():
		case <-tick.C:
			if s.wrote.Swap(false) {
				continue
			}
			s.state.Or(stPing)
		case <-wake:
		case <-ctx.Done():
			return
		}
		if !s.flush() {
			return
		}
	}
}
