package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/sse"
	"github.com/fanout-go/fanout/transport/ws"
)

// Implementations and transports of the benchmark tables.
const (
	implFanout   = "fanout"
	implBaseline = "baseline"
	transportWS  = "ws"
	transportSSE = "sse"
)

// server is one implementation of one transport on a loopback HTTP/1.1
// server.
type server struct {
	srv     *httptest.Server
	publish func(seq uint64, t int64) error // publishes message seq, sent at t
	open    func() int                      // connections the server holds
	serving func() int64                    // ServeHTTP calls running
	close   func()                          // closes everything, waiting
}

// url returns the address clients dial: ws://... for WebSocket, host:port
// for SSE.
func (s *server) url(transport string) string {
	if transport == transportWS {
		return "ws" + strings.TrimPrefix(s.srv.URL, "http")
	}
	return s.srv.Listener.Addr().String()
}

// counting counts the ServeHTTP calls of h that are running.
type counting struct {
	h http.Handler
	n atomic.Int64
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	defer c.n.Add(-1)
	c.h.ServeHTTP(w, r)
}

// maxConns is the handlers' MaxConnections: more connections than a
// process may open files, so that the open-file limit, not admission,
// bounds what a benchmark opens. The default (10 000) would answer 503 to
// the 16 667 connections each server of a 50 000-connection
// BenchmarkQuietConnections holds.
const maxConns = 1 << 20

// newServer starts impl's server for transport with the handlers'
// default options but MaxConnections (maxConns).
func newServer(impl, transport string) *server {
	if impl == implFanout {
		return newFanoutServer(transport)
	}
	return newBaselineServer(transport)
}

func newFanoutServer(transport string) *server {
	hub := fanout.NewHub(fanout.Options{})
	var h interface {
		http.Handler
		Close() error
		Len() int
	}
	if transport == transportWS {
		h = ws.NewHandler(hub, ws.Options{MaxConnections: maxConns})
	} else {
		h = sse.NewHandler(hub, sse.Options{MaxConnections: maxConns})
	}
	ch := &counting{h: h}
	s := &server{srv: httptest.NewServer(ch), open: h.Len, serving: ch.n.Load}
	var payload []byte
	s.publish = func(seq uint64, t int64) error {
		payload = appendPayload(payload[:0:0], t) // a message owns its payload
		pos, err := hub.Publish(benchTopic, payload)
		if err != nil {
			return err
		}
		if pos.Seq != seq {
			return fmt.Errorf("published seq %d, want %d", pos.Seq, seq)
		}
		return nil
	}
	s.close = func() {
		_ = h.Close() // first: it owns the hijacked connections
		s.srv.Close()
		_ = hub.Close()
	}
	return s
}

func newBaselineServer(transport string) *server {
	var b *broadcaster
	var h http.Handler
	var closeHandler func()
	if transport == transportWS {
		wh := newWSBaseline()
		b, h, closeHandler = wh.b, wh, wh.Close
	} else {
		sh := newSSEBaseline()
		b, h, closeHandler = sh.b, sh, sh.Close
	}
	ch := &counting{h: h}
	s := &server{
		srv:     httptest.NewServer(ch),
		open:    func() int { return int(b.open.Load()) },
		serving: ch.n.Load,
	}
	s.publish = func(seq uint64, t int64) error {
		return b.publish(&bmsg{b: appendUpdate(nil, seq, t)})
	}
	s.close = func() {
		closeHandler()
		s.srv.Close()
	}
	return s
}
