package sse_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fanout-go/fanout"
	"github.com/fanout-go/fanout/transport/sse"
)

// testTimeout bounds every read of a test client.
const testTimeout = 10 * time.Second

// server is a loopback server for an sse.Handler.
type server struct {
	hub *fanout.Hub
	h   *sse.Handler
	srv *httptest.Server
}

func newHub(t *testing.T, opts fanout.Options) *fanout.Hub {
	t.Helper()
	hub := fanout.NewHub(opts)
	t.Cleanup(func() { _ = hub.Close() })
	return hub
}

// newServer serves a new handler of hub over HTTP/1.1.
func newServer(t *testing.T, hub *fanout.Hub, opts sse.Options) *server {
	t.Helper()
	h := sse.NewHandler(hub, opts)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		_ = h.Close()
		srv.Close()
	})
	return &server{hub: hub, h: h, srv: srv}
}

// event is one SSE event as a client parses it.
type event struct {
	ID, Event, Data string
	HasID           bool
}

// msg is the protocol object of an event's data.
type msg struct {
	Type    string          `json:"type"`
	Topic   string          `json:"topic"`
	Epoch   string          `json:"epoch"`
	Seq     uint64          `json:"seq"`
	Gap     bool            `json:"gap"`
	Data    json.RawMessage `json:"data"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
}

func (e event) msg(t *testing.T) msg {
	t.Helper()
	var m msg
	require.NoError(t, json.Unmarshal([]byte(e.Data), &m), "data %q", e.Data)
	require.Equal(t, e.Event, m.Type, "event field and data type")
	return m
}

// reader parses an event stream the way a browser does.
type reader struct {
	br     *bufio.Reader
	lastID string // the browser's last event ID
	pings  int
	retry  string
}

func newReader(r io.Reader) *reader { return &reader{br: bufio.NewReader(r)} }

// next returns the next dispatched event.
func (r *reader) next() (event, error) {
	var e event
	var data []string
	for {
		line, err := r.br.ReadString('\n')
		if err != nil {
			return e, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			if data == nil {
				continue // nothing to dispatch (retry-only or comment block)
			}
			e.Data = strings.Join(data, "\n")
			if e.HasID {
				r.lastID = e.ID
			}
			return e, nil
		}
		if strings.HasPrefix(line, ":") {
			r.pings++
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			e.ID, e.HasID = value, true
		case "event":
			e.Event = value
		case "data":
			data = append(data, value)
		case "retry":
			r.retry = value
		}
	}
}

// nextMsg returns the next event's message.
func (r *reader) nextMsg(t *testing.T) msg {
	t.Helper()
	e, err := r.next()
	require.NoError(t, err)
	return e.msg(t)
}

// conn is a raw HTTP/1.1 client connection reading one stream, so that
// the test process holds no client goroutine per stream.
type conn struct {
	c      net.Conn
	status int
	header http.Header
	body   string // the body of a refused request
	*reader
}

// query builds ?topic=...&topic=... plus extra key/value pairs.
func query(topics []string, kv ...string) string {
	q := url.Values{"topic": topics}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return "/?" + q.Encode()
}

// dial opens a stream with path and extra request header lines.
func (s *server) dial(t *testing.T, path string, headers ...string) *conn {
	t.Helper()
	return s.dialSize(t, 4096, path, headers...)
}

// dialSmall opens a stream that must be accepted, with a small client
// buffer, to measure the server's memory.
func (s *server) dialSmall(t *testing.T, path string) *conn {
	t.Helper()
	c := s.dialSize(t, 16, path)
	require.Equal(t, http.StatusOK, c.status, c.body)
	return c
}

func (s *server) dialSize(t *testing.T, size int, path string, headers ...string) *conn {
	t.Helper()
	c, err := net.Dial("tcp", s.srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(testTimeout)))
	req := "GET " + path + " HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n"
	for _, h := range headers {
		req += h + "\r\n"
	}
	_, err = io.WriteString(c, req+"\r\n")
	require.NoError(t, err)
	cn := &conn{c: c, reader: &reader{br: bufio.NewReaderSize(c, size)}}
	resp, err := http.ReadResponse(cn.br, nil)
	require.NoError(t, err)
	cn.status, cn.header = resp.StatusCode, resp.Header
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		cn.body = string(b)
		_ = c.Close()
	}
	return cn
}

// open opens a stream that must be accepted.
func (s *server) open(t *testing.T, topics []string, kv ...string) *conn {
	t.Helper()
	c := s.dial(t, query(topics, kv...))
	require.Equal(t, http.StatusOK, c.status, c.body)
	return c
}

// resume opens a stream with Last-Event-ID.
func (s *server) resume(t *testing.T, topics []string, lastID string) *conn {
	t.Helper()
	c := s.dial(t, query(topics), "Last-Event-ID: "+lastID)
	require.Equal(t, http.StatusOK, c.status, c.body)
	return c
}

// readUntilEOF reads events until the server ends the stream.
func (c *conn) readUntilEOF(t *testing.T) []event {
	t.Helper()
	var events []event
	for {
		e, err := c.next()
		if err != nil {
			var ne net.Error
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "the stream did not end: %v", err)
			return events
		}
		events = append(events, e)
	}
}

func publish(t *testing.T, hub *fanout.Hub, topic string, n int) {
	t.Helper()
	for range n {
		_, err := hub.Publish(topic, []byte(`{"v":1}`))
		require.NoError(t, err)
	}
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func seqData(i int) []byte { return fmt.Appendf(nil, `{"i":%d}`, i) }

func newBenchServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }
