package sse

import (
	"fmt"
	"net/http"
	"time"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/internal/protocol"
	"github.com/fanout-go/fanout/transport"
	"github.com/fanout-go/fanout/transport/internal/conns"
)

// request is an accepted stream request.
type request struct {
	topics []string // the topics Auth allows, distinct, in query order
	pre    []byte   // error events for the topics Auth denies
	cursor string   // Last-Event-ID, or else the cursor parameter
}

// parse reads and authorizes a stream request. A status other than 200
// refuses it with msg.
func (h *Handler) parse(r *http.Request) (req request, status int, msg string) {
	q := r.URL.Query()
	names := q["topic"]
	if len(names) == 0 {
		return req, http.StatusBadRequest, "fanout: name the topics to stream: ?topic=a&topic=b"
	}
	seen := make(map[string]struct{}, len(names))
	distinct := names[:0:0]
	for _, name := range names {
		if _, dup := seen[name]; !dup {
			seen[name] = struct{}{}
			distinct = append(distinct, name)
		}
		if len(distinct) > h.opts.MaxTopics {
			return req, http.StatusBadRequest, fmt.Sprintf("fanout: more than %d topics in one stream; open another stream or raise sse.Options.MaxTopics", h.opts.MaxTopics)
		}
	}
	if pe := protocol.AllowConnect(h.opts.Auth, r); pe != nil {
		return req, http.StatusForbidden, pe.Message
	}
	var denials protocol.Joiner
	for _, name := range distinct {
		if pe := protocol.AllowSubscribe(h.opts.Auth, r, name); pe != nil {
			req.pre = appendErrorEvent(req.pre, pe, name)
			h.stats.Rejected(pe.Code)
			denials.Add(name, pe.Message)
			continue
		}
		req.topics = append(req.topics, name)
	}
	if len(req.topics) == 0 {
		return req, http.StatusForbidden, "fanout: every topic is denied: " + denials.String()
	}
	req.cursor = r.Header.Get("Last-Event-ID")
	if req.cursor == "" {
		req.cursor = q.Get("cursor")
	}
	return req, http.StatusOK, ""
}

// subscribe subscribes s to its topics, resuming those its cursor vouches
// for, and queues an error event for each that fails. A status other than
// 200 means no topic could be subscribed.
func (s *stream) subscribe(r *http.Request, req request) (status int, msg string) {
	s.pre = append(s.pre, s.h.retry...)
	s.pre = append(s.pre, req.pre...)
	var failures protocol.Joiner
	failed := 0
	unavailable := false
	for i, name := range s.cur.topics {
		// A topic the cursor does not vouch for joins afresh: the hub
		// sends its snapshot first (null data when it keeps none), which
		// gives the client a position to resume from even on a topic
		// without state.
		var err error
		if s.cur.pos[i].Epoch == "" {
			err = s.sub.Subscribe(r.Context(), name)
		} else {
			err = s.sub.Resume(r.Context(), name, s.cur.pos[i])
		}
		if err == nil {
			continue
		}
		pe := protocol.FromError(err)
		s.pre = appendErrorEvent(s.pre, pe, name)
		s.h.stats.Rejected(pe.Code)
		failures.Add(name, pe.Message)
		failed++
		unavailable = unavailable || pe.Code == transport.CodeUnavailable
	}
	switch {
	case failed < len(s.cur.topics):
		return http.StatusOK, ""
	case unavailable:
		return http.StatusServiceUnavailable, "fanout: no topic can be served now; reconnect later: " + failures.String()
	}
	return http.StatusBadRequest, "fanout: no topic can be streamed: " + failures.String()
}

// newStream returns a stream for req, its cursor set from req.cursor.
func (h *Handler) newStream(req request, ticket conns.Ticket) *stream {
	s := &stream{h: h, cur: newCursor(req.topics), ticket: ticket, started: time.Now()}
	s.lag = conns.NewLag(h.opts.MaxLag, h.opts.MaxUnsentBytes)
	s.writer.Init(true, false) // the request's goroutine is the first writer
	s.cur.decode(req.cursor)
	s.sub = h.hub.NewSubscriber(fanout.SubscriberOptions{
		QueueSize:        h.opts.QueueSize,
		MaxSubscriptions: len(req.topics),
		Overflow:         h.opts.Overflow,
		OnReady:          s.trigger,
		Meter:            &h.stats.Meter,
	})
	return s
}
